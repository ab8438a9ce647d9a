"""Lazy JSONL dataset: offsets, validation of malformed lines, paths, memory, index cache."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from purrsight_model.data.jsonl import JsonlDataset, RowError, parse_row, write_jsonl
from purrsight_model.schema import UNKNOWN, Report

GOOD_REPORT = Report(vocalization="purr", affective_state="content", summary="Purring.",
                     confidence=0.4, modalities_used=("audio",)).to_dict()

LINES = [
    json.dumps({"text": "Müsli the cat purrs 🐱", "audio": "clips/a.wav",
                "labels": {"vocalization": "purr"}, "group": "cat1", "split": "train",
                "tasks": {"catsound10": "Resting"}}, ensure_ascii=False),  # 1
    "{not json",  # 2
    json.dumps([1, 2, 3]),  # 3
    json.dumps({"audio": "x.wav"}),  # 4 missing text
    "",  # 5 blank: ignored, not an error
    json.dumps({"text": "bad ear", "labels": {"ears": "floppy"}}),  # 6
    json.dumps({"text": "bad field", "labels": {"whiskers": "long"}}),  # 7
    json.dumps({"text": "an image", "image": "/abs/pic.png", "group": 7}),  # 8
    json.dumps({"text": "bad report", "report": {**GOOD_REPORT, "risk": "9"}}),  # 9
    json.dumps({"text": "report not object", "report": "purr"}),  # 10
    json.dumps({"text": "instruct", "video": "../v.mp4", "report": GOOD_REPORT}),  # 11
    json.dumps({"text": "bad split", "split": "holdout"}),  # 12
    json.dumps({"text": "  "}),  # 13 empty text
]


@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "rows.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def test_valid_rows_and_skipped_lines(jsonl: Path):
    ds = JsonlDataset(jsonl)
    assert len(ds) == 3
    assert ds.line_numbers.tolist() == [1, 8, 11]
    assert [n for n, _ in ds.skipped] == [2, 3, 4, 6, 7, 9, 10, 12, 13]
    reasons = dict(ds.skipped)
    assert "not a JSON object" in reasons[3]
    assert "text" in reasons[4]
    assert "ears" in reasons[6] and "whiskers" in reasons[7]
    assert "invalid report" in reasons[9] and "risk" in reasons[9]
    assert "split" in reasons[12]


def test_offsets_are_byte_offsets(jsonl: Path):
    ds = JsonlDataset(jsonl)
    data = jsonl.read_bytes()
    for off, line_no in zip(ds.offsets, ds.line_numbers, strict=True):
        assert data[off:].split(b"\n", 1)[0] == LINES[line_no - 1].encode("utf-8")


def test_row_fields_and_paths(jsonl: Path):
    ds = JsonlDataset(jsonl)
    first, image_row, instruct = ds[0], ds[1], ds[-1]
    assert first.text == "Müsli the cat purrs 🐱"  # non-ASCII before later offsets
    assert first.audio == (jsonl.parent / "clips" / "a.wav").resolve()
    assert first.labels["vocalization"] == "purr" and first.labels["ears"] == UNKNOWN
    assert first.tasks == {"catsound10": "Resting"} and first.split == "train"
    assert first.media == {"audio": first.audio}
    assert image_row.image == Path("/abs/pic.png") and image_row.group == "7"
    assert instruct.video == jsonl.parent.parent / "v.mp4"
    assert instruct.report is not None and instruct.report.vocalization == "purr"
    assert instruct.line_no == 11
    with pytest.raises(IndexError):
        ds[3]


def test_iteration_matches_random_access(jsonl: Path):
    ds = JsonlDataset(jsonl)
    assert list(ds) == [ds[i] for i in range(len(ds))]


def test_index_does_not_hold_row_text(tmp_path: Path):
    path = tmp_path / "big.jsonl"
    write_jsonl(path, ({"text": f"{i} " + "meow " * 4000, "audio": f"{i}.wav"}
                       for i in range(60)))
    ds = JsonlDataset(path)
    _ = ds[10], list(ds)
    assert len(ds) == 60 and ds[59].text.startswith("59 ")
    size = path.stat().st_size  # about 1.2 MB
    assert len(pickle.dumps(ds)) < size / 50
    assert pickle.loads(pickle.dumps(ds))[3].text.startswith("3 ")


def test_index_cache_reused_and_invalidated(jsonl: Path, monkeypatch: pytest.MonkeyPatch):
    first = JsonlDataset(jsonl, index_cache=True)
    assert (jsonl.parent / "rows.jsonl.idx.npz").is_file()

    def boom(self):
        raise AssertionError("index rebuilt although cached")

    monkeypatch.setattr(JsonlDataset, "_build_index", boom)
    again = JsonlDataset(jsonl, index_cache=True)
    assert again.offsets.tolist() == first.offsets.tolist()
    assert again.skipped == first.skipped
    monkeypatch.undo()
    with jsonl.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"text": "new row"}) + "\n")
    assert len(JsonlDataset(jsonl, index_cache=True)) == 4


def test_missing_file(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        JsonlDataset(tmp_path / "nope.jsonl")


def test_parse_row_rejects_bad_media_path(tmp_path: Path):
    with pytest.raises(RowError, match="audio"):
        parse_row({"text": "x", "audio": 3}, tmp_path)
    with pytest.raises(RowError, match="tasks"):
        parse_row({"text": "x", "tasks": ["a"]}, tmp_path)


def test_write_jsonl_roundtrip(tmp_path: Path):
    recs = [{"text": "a", "labels": {"arousal": "low"}}, {"text": "b"}]
    assert write_jsonl(tmp_path / "o" / "x.jsonl", recs) == 2
    ds = JsonlDataset(tmp_path / "o" / "x.jsonl")
    assert [r.text for r in ds] == ["a", "b"] and ds[0].labels["arousal"] == "low"
    assert np.array_equal(ds.line_numbers, [1, 2])
    assert not list((tmp_path / "o").glob("*.tmp"))
