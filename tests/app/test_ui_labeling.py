"""The labeling panel driven offscreen with the keyboard: labels land in SQLite with their
history, undo works, the export is readable by the model package; layout at both sizes."""

from __future__ import annotations

import pytest
from labelled_data import add_clips
from PySide6.QtCore import Qt
from test_ui_layout import assert_fits_and_no_overlap

from purrsight_app.storage import get_label, label_history
from purrsight_app.ui.theme import TOUCH_PX
from purrsight_model.data.jsonl import JsonlDataset

K = Qt.Key


def open_panel(app, qtbot, n: int):
    qtbot.waitUntil(app.session.ready.is_set, timeout=15000)
    clips = add_clips(app.session.writer, app.paths.data_dir, n, labelled=False)
    app.window.show_panel("labeling")
    panel = app.labeling
    qtbot.waitUntil(lambda: panel.queue.count() == n, timeout=15000)
    qtbot.waitUntil(lambda: panel.player.preview is not None, timeout=15000)
    return panel, clips


def test_keyboard_labeling_history_undo_and_export(make_app, qtbot, tmp_path) -> None:
    app = make_app(source="mic")
    panel, _ = open_panel(app, qtbot, 3)
    order = [item.clip.id for item in panel.data.items]  # most uncertain first
    assert [i.clip.uncertainty for i in panel.data.items] == sorted(
        i.clip.uncertainty for i in panel.data.items)
    qtbot.keyClick(panel, K.Key_2)  # mood 2 = anxious
    assert panel.fields.value("affective_state") == "anxious" and panel.dirty
    qtbot.keyClick(panel, K.Key_Space)
    assert panel.player.playing
    qtbot.wait(150)
    qtbot.keyClick(panel, K.Key_Space)
    assert not panel.player.playing and panel.player.position > 0.05
    qtbot.mouseClick(panel.fields.buttons["ears"]["flattened"], Qt.MouseButton.LeftButton)
    qtbot.keyClicks(panel.fields.description, "hiding under the bed")
    qtbot.keyClick(panel.fields.description, K.Key_Return)  # save & next from the text box
    assert panel.index == 1 and panel.fields.value("affective_state") == "unknown"
    qtbot.keyClick(panel, K.Key_S)  # skip the second clip
    assert panel.index == 2
    qtbot.keyClick(panel, K.Key_1)  # content
    qtbot.keyClick(panel, K.Key_Return)
    assert panel.index == 2 and "last clip" in panel.status.text()
    qtbot.keyClick(panel, K.Key_Backspace)
    qtbot.keyClick(panel, K.Key_Backspace)
    assert panel.index == 0 and panel.fields.value("affective_state") == "anxious"
    assert panel.fields.description.text() == "hiding under the bed"
    qtbot.keyClick(panel, K.Key_3)  # an unsaved change...
    qtbot.keyClick(panel, K.Key_Z, Qt.KeyboardModifier.ControlModifier)  # ...undone first
    assert panel.fields.value("affective_state") == "anxious" and not panel.dirty
    qtbot.keyClick(panel, K.Key_Z, Qt.KeyboardModifier.ControlModifier)  # then the last save
    assert panel.index == 2 and panel.fields.value("affective_state") == "unknown"
    assert app.session.writer.flush(5)
    conn = app.session.store.reader()
    first = get_label(conn, order[0])
    assert first.values["affective_state"] == "anxious"
    assert first.values["ears"] == "flattened" and first.description == "hiding under the bed"
    assert get_label(conn, order[1]) is None and get_label(conn, order[2]) is None
    assert [h.values.get("affective_state") for h in label_history(conn, order[2])] == [
        "content", None]
    assert "1 ✓" not in panel.queue.item(2).text() and "✓ anxious" in panel.queue.item(0).text()
    panel.export_to(tmp_path / "export")
    qtbot.waitUntil(lambda: "exported" in panel.status.text(), timeout=15000)
    ds = JsonlDataset(tmp_path / "export" / "align.jsonl")
    assert ds.skipped == [] and len(ds) == 1 and ds[0].labels["affective_state"] == "anxious"
    assert "hiding under the bed" in ds[0].text.lower()


def test_labelled_mode_edits_and_new_clips_refresh(make_app, qtbot) -> None:
    app = make_app(source="mic")
    panel, clips = open_panel(app, qtbot, 2)
    qtbot.keyClick(panel, K.Key_4)
    qtbot.keyClick(panel, K.Key_Return)
    panel.set_mode("done")
    qtbot.waitUntil(lambda: panel.queue.count() == 1, timeout=15000)
    assert panel.fields.value("affective_state") == "playful"
    qtbot.keyClick(panel, K.Key_6)
    qtbot.keyClick(panel, K.Key_Return)  # an edit: second history row
    assert app.session.writer.flush(5)
    conn = app.session.store.reader()
    edited = panel.data.items[0].clip.id
    assert [h.values["affective_state"] for h in label_history(conn, edited)] == [
        "playful", "neutral"]
    panel.set_mode("todo")
    qtbot.waitUntil(lambda: panel.queue.count() == 1, timeout=15000)
    add_clips(app.session.writer, app.paths.data_dir, 1, labelled=False)
    panel.clip_recorded()
    qtbot.waitUntil(lambda: panel.queue.count() == 2, timeout=15000)


@pytest.mark.parametrize("size", [(800, 480), (1280, 720)])
def test_labeling_layout_fits_and_is_tappable(make_app, qtbot, size) -> None:
    app = make_app(source="mic", size=size)
    qtbot.waitExposed(app.window)
    panel, _ = open_panel(app, qtbot, 2)
    qtbot.wait(100)
    buttons = [panel.todo_button, panel.done_button, panel.import_button, panel.export_button,
               panel.prev_button, panel.skip_button, panel.undo_button, panel.save_button,
               panel.player.play_button]
    assert_fits_and_no_overlap([*buttons, panel.queue, panel.player.view, panel.scroll],
                               app.window)
    moods = list(panel.fields.buttons["affective_state"].values())
    for b in [*buttons, *moods]:
        assert b.height() >= TOUCH_PX - 4, f"{b.text()} is too small to tap"
    assert all(b.isVisible() for b in moods)
    assert panel.player.view.width() >= 150 and panel.player.view.height() >= 100
    scroll_area = panel.scroll.viewport().rect()
    first_row = moods[0].mapTo(panel.scroll.viewport(), moods[0].rect().topLeft())
    assert scroll_area.contains(first_row), "the mood row must be visible without scrolling"


def test_dropping_media_and_jsonl_imports_them(make_app, qtbot, tmp_path) -> None:
    from labelled_data import tiny_clip
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    app = make_app(source="mic")
    qtbot.waitUntil(app.session.ready.is_set, timeout=15000)
    app.window.show_panel("labeling")
    panel = app.labeling
    folder = tmp_path / "dropped"
    folder.mkdir()
    tiny_clip(folder / "a.mp4")
    labelled = tmp_path / "other.mp4"
    tiny_clip(labelled, level=40)
    jsonl = tmp_path / "labels.jsonl"
    jsonl.write_text('{"text": "x", "video": "other.mp4", '
                     '"labels": {"affective_state": "anxious"}, "description": "at the vet"}\n')
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder)), QUrl.fromLocalFile(str(jsonl))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    panel.dropEvent(event)
    qtbot.waitUntil(lambda: "imported 2 clip(s), 1 with labels" in panel.status.text(),
                    timeout=30000)
    qtbot.waitUntil(lambda: panel.queue.count() == 1, timeout=15000)  # the unlabelled one
    panel.set_mode("done")
    qtbot.waitUntil(lambda: panel.queue.count() == 1, timeout=15000)
    assert panel.fields.value("affective_state") == "anxious"
    assert panel.fields.description.text() == "at the vet"
