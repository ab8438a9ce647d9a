"""Converters on a tiny fake shared-data tree: mappings, captions, splits, duplicates, CLI."""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from purrsight_model.data import cli_convert, converters
from purrsight_model.data.converters import ConvertError, convert, write_conversion
from purrsight_model.data.jsonl import JsonlDataset
from purrsight_model.data.labelmap import call_type_from_name, schema_labels
from tests.model.test_data_fixtures import tone, write_audio, write_image

CATS = {"A01": 6, "B02": 4, "C03": 5, "D04": 3, "E05": 4, "F06": 5, "G07": 2}
SOUND_FILES = {
    "Resting": [f"LastEntry_cat10{i:02d}Purr.mp3" for i in range(8)] + ["cat05.mp3", "cat06.mp3"],
    "Angry": [f"Cat_Angry{i}.mp3" for i in range(1000, 1010)],
    "Warning": [f"Edit90{i:02d}Grl.mp3" for i in range(6)] + ["Cat_hiss0112.mp3", "car1.mp3"],
}


def _manifest(set_dir: Path, rows: list[tuple[str, str, str]]) -> None:
    with (set_dir / "manifest.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "group", "sha256"])
        for rel, label, group in rows:
            sha = hashlib.sha256((set_dir / rel).read_bytes()).hexdigest()
            w.writerow([rel, label, group, sha])


@pytest.fixture(scope="module")
def data_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """catmeows (7 cats), catsound10 (3 classes + duplicates), catfaces3 (3 classes)."""
    root = tmp_path_factory.mktemp("shared_data")
    meows, rows = root / "catmeows", []
    contexts = ("brushing", "waiting_for_food", "isolation")
    n = 0
    for cat, count in CATS.items():
        for k in range(count):
            ctx = contexts[(k + len(cat) + ord(cat[0])) % 3]
            rel = f"{ctx}/{ctx[0].upper()}_{cat}_{k}.wav"
            (meows / ctx).mkdir(parents=True, exist_ok=True)
            write_audio(meows / rel, tone(300 + 10 * n, 8000, 0.2), 8000)
            rows.append((rel, ctx, cat))
            n += 1
    _manifest(meows, rows)
    sounds, rows = root / "catsound10", []
    for label, names in SOUND_FILES.items():
        (sounds / label).mkdir(parents=True)
        for name in names:
            write_audio(sounds / label / name.replace(".mp3", ".wav"),
                        tone(200 + 7 * n, 8000, 0.1), 8000)
            rows.append((f"{label}/{name.replace('.mp3', '.wav')}", label, ""))
            n += 1
    # A same-label copy (one survives) and a conflicting copy (both dropped).
    shutil.copy(sounds / "Angry/Cat_Angry1001.wav", sounds / "Angry/Cat_Angry1001 (2).wav")
    shutil.copy(sounds / "Angry/Cat_Angry1003.wav", sounds / "Warning/Cat_Angry1003.wav")
    rows += [("Angry/Cat_Angry1001 (2).wav", "Angry", ""),
             ("Warning/Cat_Angry1003.wav", "Warning", ""),
             ("Warning/gone.wav", "Warning", "")]
    (sounds / "Warning/gone.wav").write_bytes(b"x")
    _manifest(sounds, rows)
    (sounds / "Warning/gone.wav").unlink()  # listed but missing
    faces, rows = root / "catfaces3", []
    for j, label in enumerate(("angry", "happy", "sad")):
        (faces / label).mkdir(parents=True)
        for i in range(5):
            write_image(faces / label / f"{label}cat_{i}.png", _solid(j * 60 + i))
            rows.append((f"{label}/{label}cat_{i}.png", label, ""))
    _manifest(faces, rows)
    return root


def _solid(v: int):
    import numpy as np

    return np.full((8, 8, 3), v, np.uint8)


def _by_id(rows) -> dict[str, dict]:
    return {r["id"]: r for r in rows}


def test_counts_duplicates_and_missing(data_tree: Path):
    conv = convert(data_tree)
    s = conv.summary()
    assert s["sets"]["catmeows"]["rows"] == sum(CATS.values())
    assert s["sets"]["catfaces3"]["rows"] == 15
    ids = set(_by_id(conv.align["catsound10"]))
    assert "catsound10/Angry/Cat_Angry1001.wav" in ids
    assert "catsound10/Angry/Cat_Angry1001 (2).wav" not in ids
    assert s["duplicate_copies_dropped"] == ["catsound10/Angry/Cat_Angry1001 (2).wav"]
    assert sorted(s["conflicting_duplicates_dropped"]) == [
        "catsound10/Angry/Cat_Angry1003.wav", "catsound10/Warning/Cat_Angry1003.wav"]
    assert not ids & set(s["conflicting_duplicates_dropped"])
    assert s["missing_files_dropped"] == ["catsound10/Warning/gone.wav"]
    assert s["sets"]["catsound10"]["rows"] == 28 - 1  # 28 files, minus the conflicting one


def test_label_mapping_and_tasks(data_tree: Path):
    rows = _by_id(convert(data_tree).align["catsound10"])
    purr = rows["catsound10/Resting/LastEntry_cat1000Purr.wav"]
    assert purr["labels"] == {"vocalization": "purr", "affective_state": "content",
                              "arousal": "low"}
    assert purr["tasks"] == {"catsound10": "Resting"}
    assert "vocalization" not in rows["catsound10/Resting/cat05.wav"]["labels"]
    angry = rows["catsound10/Angry/Cat_Angry1000.wav"]["labels"]
    assert angry == {"affective_state": "aggressive", "ethogram_group": "agonistic",
                     "arousal": "high"}
    growl = rows["catsound10/Warning/Edit9000Grl.wav"]["labels"]
    assert growl == {"vocalization": "growl", "ethogram_group": "agonistic"}
    assert rows["catsound10/Warning/Cat_hiss0112.wav"]["labels"]["vocalization"] == "hiss"
    meow = convert(data_tree).align["catmeows"][0]
    assert meow["labels"] == {"vocalization": "meow"} and "catmeows_context" in meow["tasks"]
    assert meow["group"] in CATS and Path(meow["audio"]).is_file()
    faces = _by_id(convert(data_tree).align["catfaces3"])
    assert faces["catfaces3/sad/sadcat_0.png"]["labels"] == {}
    assert faces["catfaces3/happy/happycat_0.png"]["labels"] == {"affective_state": "content"}
    assert "image" in faces["catfaces3/sad/sadcat_0.png"]


@pytest.mark.parametrize(("name", "call"), [
    ("LastEntry_cat1027Purr.mp3", "purr"), ("Cat_Hass1054.mp3", "hiss"),
    ("Last_addCat259His.mp3", "hiss"), ("Edit9025Grl.mp3", "growl"),
    ("Catgrow01.mp3", "growl"), ("Cat_trilling0111.mp3", "trill"), ("x_chirp.mp3", "chirp"),
    ("Cat meow (4).mp3", "meow"), ("cat05.mp3", "unknown"), ("catchatter01.mp3", "unknown"),
    ("this_purr_hiss.mp3", "unknown"),  # two call types disagree
])
def test_call_type_from_name(name: str, call: str):
    assert call_type_from_name(name) == call


def test_schema_labels_rejects_unknown_set():
    with pytest.raises(KeyError):
        schema_labels("dogbarks", "woof", "a.wav")


def test_catmeows_split_by_cat(data_tree: Path):
    rows = convert(data_tree).align["catmeows"]
    splits_of = defaultdict(set)
    for r in rows:
        splits_of[r["group"]].add(r["split"])
    assert all(len(s) == 1 for s in splits_of.values())  # no cat in two splits
    assert {next(iter(s)) for s in splits_of.values()} == {"train", "val", "test"}
    again = convert(data_tree).align["catmeows"]
    assert [r["split"] for r in rows] == [r["split"] for r in again]
    per_split = defaultdict(int)
    for r in rows:
        per_split[r["split"]] += 1
    assert per_split["train"] > per_split["val"] and per_split["train"] > per_split["test"]


def test_contiguous_name_ranges(data_tree: Path):
    rows = [r for r in convert(data_tree).align["catsound10"] if r["tasks"]["catsound10"] == "Angry"]
    names = sorted((Path(r["audio"]).name.casefold(), r["split"]) for r in rows)
    order = [s for _, s in names]
    rank = {"train": 0, "val": 1, "test": 2}
    assert order == sorted(order, key=rank.get)  # train block, then val, then test
    assert order[-1] == "test" and order[0] == "train" and "val" in order


def test_deterministic_and_seeded_captions(data_tree: Path, tmp_path: Path):
    a = write_conversion(convert(data_tree), tmp_path / "a")
    b = write_conversion(convert(data_tree), tmp_path / "b")
    for key in a:
        assert a[key].read_bytes() == b[key].read_bytes(), key
    other = convert(data_tree, caption_seed=1).align["catsound10"]
    base = convert(data_tree).align["catsound10"]
    assert [r["text"] for r in base] != [r["text"] for r in other]
    assert [r["split"] for r in base] == [r["split"] for r in other]
    angry = {r["text"] for r in base if r["tasks"]["catsound10"] == "Angry"}
    assert len(angry) >= 3  # several phrasings per class, not one template


def test_written_files_load_and_reports_valid(data_tree: Path, tmp_path: Path):
    paths = write_conversion(convert(data_tree), tmp_path)
    align, instruct = JsonlDataset(paths["align"]), JsonlDataset(paths["instruct"])
    assert len(align) == len(instruct) == 27 + sum(CATS.values()) + 15
    assert not align.skipped and not instruct.skipped
    assert all(r.report is None for r in align)
    for row in instruct:
        rep = row.report
        assert rep is not None and 0 < rep.confidence <= 0.6 and rep.summary and rep.advice
        assert rep.modalities_used == (("image",) if row.image else ("audio",))
        for field, value in row.labels.items():
            if field != "description":
                assert getattr(rep, field) == value
    purr = next(r for r in instruct if r.labels["vocalization"] == "purr")
    assert "purring" in purr.report.summary and "content" in purr.report.summary
    assert len(JsonlDataset(paths["catfaces3_align"])) == 15


def test_blank_or_absent_hashes_are_computed(data_tree: Path, tmp_path: Path):
    """A user's folder may leave sha256 (and group) blank or drop the columns (the files are
    hashed, so duplicates are still found and distinct files never merged), save the CSV from
    a spreadsheet (BOM) and spell a class in another case."""
    root = tmp_path / "data"
    shutil.copytree(data_tree, root)
    for name in ("catsound10", "catfaces3"):
        manifest = root / name / "manifest.csv"
        lines = list(csv.DictReader(manifest.open(newline="")))
        with manifest.open("w", newline="", encoding="utf-8-sig") as f:
            w = csv.writer(f)
            if name == "catsound10":  # blank hash column
                w.writerow(["path", "label", "group", "sha256"])
                w.writerows([r["path"], r["label"], "", ""] for r in lines)
            else:  # path and label only
                w.writerow(["path", "label"])
                w.writerows([r["path"], f" {r['label'].upper()}"] for r in lines)
    assert convert(root).summary() == convert(data_tree).summary()


def test_unreadable_file_is_dropped_like_a_missing_one(data_tree: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "data"
    shutil.copytree(data_tree, root)
    manifest = root / "catfaces3" / "manifest.csv"
    text = manifest.read_text().replace(hashlib.sha256(
        (root / "catfaces3/sad/sadcat_0.png").read_bytes()).hexdigest(), "")
    manifest.write_text(text)
    real = converters.file_sha256

    def locked(path):
        if Path(path).name == "sadcat_0.png":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(converters, "file_sha256", locked)
    s = convert(root).summary()
    assert "catfaces3/sad/sadcat_0.png" in s["missing_files_dropped"]
    assert s["sets"]["catfaces3"]["rows"] == 14


def test_unknown_label_and_empty_folder(tmp_path: Path):
    with pytest.raises(ConvertError, match="no known dataset"):
        convert(tmp_path)
    (tmp_path / "catfaces3").mkdir()
    write_image(tmp_path / "catfaces3" / "x.png")
    _manifest(tmp_path / "catfaces3", [("x.png", "grumpy", "")])
    with pytest.raises(ConvertError, match="grumpy"):
        convert(tmp_path)


def test_cli_convert(data_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    parser = argparse.ArgumentParser()
    cli_convert.add_parser(parser.add_subparsers())
    args = parser.parse_args(["convert", "--data", str(data_tree), "--out", str(tmp_path),
                              "--val-frac", "0.25", "--test-frac", "0.25"])
    assert args.func(args) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["sets"]["catfaces3"]["classes"]["sad"] == {"test": 1, "train": 3, "val": 1}
    assert (tmp_path / "catsound10_instruct.jsonl").is_file()
    assert "catmeows:" in capsys.readouterr().out
    bad = parser.parse_args(["convert", "--data", str(tmp_path / "none"), "--out", str(tmp_path)])
    assert bad.func(bad) == 2
