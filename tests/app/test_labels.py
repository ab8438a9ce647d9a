"""Labels without Qt: save/edit/undo with history, training export read back by the model
package's own JSONL reader, stable held-out split, import, summary warnings, captions."""

from __future__ import annotations

import json

import pytest
from labelled_data import add_clips, tiny_clip

from purrsight_app.labels import (
    LabelService,
    SplitConfig,
    assign_splits,
    caption,
    dataset_summary,
    export_labelled,
    import_jsonl,
    label_queue,
    summarise,
)
from purrsight_app.labels.transfer import export_folder, import_sources
from purrsight_app.paths import AppPaths
from purrsight_app.storage import get_label, label_history, labeled_clips, list_clips
from purrsight_model.data.jsonl import JsonlDataset
from purrsight_model.schema import LABEL_FIELDS, UNKNOWN


@pytest.fixture
def paths(tmp_path) -> AppPaths:
    return AppPaths(tmp_path / "data").ensure()


def test_save_edit_undo_keeps_history(app_store, app_writer, paths) -> None:
    (clip,) = add_clips(app_writer, paths.data_dir, 1, labelled=False)
    service = LabelService(app_writer)
    service.remember(clip.id, None)
    service.save(clip.id, {"affective_state": "anxious", "ears": "flattened"}, "hiding")
    service.save(clip.id, {"affective_state": "content"}, "")
    assert app_writer.flush(5)
    conn = app_store.reader()
    assert get_label(conn, clip.id).values["affective_state"] == "content"
    assert service.undo() == (clip.id, service.current(clip.id))
    assert app_writer.flush(5)
    label = get_label(conn, clip.id)
    assert label.values["ears"] == "flattened" and label.description == "hiding"
    service.undo()  # back to "no label": the row goes, the clip is unlabelled again
    assert app_writer.flush(5)
    assert get_label(conn, clip.id) is None and not list_clips(conn)[0].labeled
    history = label_history(conn, clip.id)
    assert [h.values.get("affective_state") for h in history] == ["anxious", "content",
                                                                 "anxious", None]
    assert service.undo() is None and not service.can_undo


def test_bad_values_are_refused_and_no_store_is_an_error(app_writer) -> None:
    service = LabelService(app_writer)
    with pytest.raises(ValueError, match="sleepy"):
        service.save("c1", {"affective_state": "sleepy"})
    with pytest.raises(ValueError, match="colour"):
        service.save("c1", {"colour": "black"})
    assert not service.can_undo
    with pytest.raises(RuntimeError, match="not open"):
        LabelService(None).save("c1", {"affective_state": "content"})


def test_export_is_read_by_the_model_package_without_skips(app_store, app_writer,
                                                          paths, tmp_path) -> None:
    add_clips(app_writer, paths.data_dir, 12)
    pairs = labeled_clips(app_store.reader())
    result = export_labelled(pairs, paths.data_dir, tmp_path / "out")
    assert result.rows == 12 and result.skipped == []
    align, instruct = JsonlDataset(result.align), JsonlDataset(result.instruct)
    assert align.skipped == [] and instruct.skipped == [] and len(align) == len(instruct) == 12
    rows = list(instruct)
    assert all(r.video is not None and r.video.is_file() for r in rows)
    assert all(r.report is not None and r.report.affective_state == r.labels["affective_state"]
               for r in rows)
    assert {r.split for r in rows} <= {"train", "val", "test"}
    assert sum(r.split == "test" for r in rows) == result.splits.get("test") >= 1
    assert rows[0].report.modalities_used == ("image", "audio")
    first = json.loads(result.align.read_text().splitlines()[0])
    assert "report" not in first and first["description"].startswith("clip number")
    assert "Clip number" in first["text"]


def test_export_skips_missing_media_and_empty_labels(app_store, app_writer, paths,
                                                     tmp_path) -> None:
    clips = add_clips(app_writer, paths.data_dir, 3)
    (paths.data_dir / clips[0].path).unlink()
    LabelService(app_writer).save(clips[1].id, {})  # every field unknown, no description
    assert app_writer.flush(5)
    result = export_labelled(labeled_clips(app_store.reader()), paths.data_dir, tmp_path / "o")
    assert result.rows == 1 and len(result.skipped) == 2
    assert any("not found" in s for s in result.skipped)
    assert any("unknown" in s for s in result.skipped)


def test_held_out_split_is_stable_and_never_empty() -> None:
    ids = [f"clip-{i}" for i in range(200)]
    splits = assign_splits(ids)
    assert assign_splits(ids[:50]) == {i: splits[i] for i in ids[:50]}  # adding clips: no churn
    share = sum(s == "test" for s in splits.values()) / len(ids)
    assert 0.12 < share < 0.28
    few = assign_splits(["a", "b", "c", "d"], SplitConfig(test_frac=0.0, val_frac=0.0))
    assert list(few.values()).count("test") == 1


def test_jsonl_round_trip_imports_labels(app_store, app_writer, paths, tmp_path) -> None:
    add_clips(app_writer, paths.data_dir, 4)
    exported = export_labelled(labeled_clips(app_store.reader()), paths.data_dir,
                               tmp_path / "ex")
    lines = exported.instruct.read_text().splitlines()
    lines.insert(1, "{not json")
    lines.append(json.dumps({"text": "x", "audio": "missing.wav", "labels": {}}))
    bad = tmp_path / "mixed.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    other = AppPaths(tmp_path / "other").ensure()
    from purrsight_app.storage import Store

    store = Store.open(other.db_path)
    writer = store.writer()
    result = import_jsonl(bad, other, writer)
    writer.flush(5)
    assert result.clips == 4 and len(result.skipped) == 2
    assert result.skipped[0].startswith("line 2:")
    imported = labeled_clips(store.reader())
    assert sorted(lab.description for _, lab in imported) == [f"clip number {i}"
                                                              for i in range(4)]
    again = import_jsonl(bad, other, writer, known={c.source for c, _ in imported})
    assert again.clips == 0
    writer.close()


def test_import_sources_and_export_folder(app_store, app_writer, paths, tmp_path) -> None:
    src = tmp_path / "media"
    src.mkdir()
    tiny_clip(src / "one.mp4")
    tiny_clip(src / "two.mp4", level=30)
    summary = import_sources([src], paths, app_writer, app_store.reader)
    assert summary.clips == 2 and "imported 2 clip(s)" in summary.text()
    queue = label_queue(app_store.reader(), "todo")
    assert len(queue) == 2 and all(item.label is None for item in queue)
    LabelService(app_writer).save(queue[0].clip.id, {"affective_state": "playful"})
    app_writer.flush(5)
    result = export_folder(tmp_path / "exp", paths, app_store.reader)
    assert result.rows == 1 and JsonlDataset(result.align).skipped == []


def test_summary_counts_and_warnings(app_store, app_writer, paths) -> None:
    add_clips(app_writer, paths.data_dir, 6)
    s = dataset_summary(app_store.reader())
    assert s.clips == 6 and s.labelled == 6
    assert sum(s.counts["affective_state"].values()) == 6
    assert any("only 6 labelled" in w for w in s.warnings)
    assert any("few examples" in w for w in s.warnings)
    lopsided = summarise(30, [{"affective_state": "content"}] * 28
                         + [{"affective_state": "anxious"}] * 2)
    assert any("imbalanced" in w for w in lopsided.warnings)
    single = summarise(3, [{"affective_state": "content"}] * 3)
    assert any("every labelled state is 'content'" in w for w in single.warnings)
    assert "28" in " ".join(lopsided.lines())


def test_caption_says_what_was_labelled() -> None:
    text = caption({"affective_state": "anxious", "vocalization": "hiss", "ears": "flattened",
                    "arousal": "high"}, "under the bed")
    assert "anxious" in text or "nervous" in text or "uneasy" in text
    assert "hiss" in text and "ears flattened" in text and "highly aroused" in text
    assert text.endswith("Under the bed.")
    assert caption({f: UNKNOWN for f in LABEL_FIELDS}) == "A cat."
