"""Clips recorded by the running app from a file source: pre-roll before the event, the
event's id, video + audio in the file, the row in SQLite; manual record from the Live view."""

from __future__ import annotations

import time

import pytest
from conftest import write_clip
from fakes import FakeAnalyzer

from purrsight_app.clips import probe
from purrsight_app.pipeline.runtime_loader import LoadedRuntime
from purrsight_app.settings import Settings
from purrsight_app.storage import list_clips

PRE_ROLL = 1.5  # wall seconds (the file plays at 2x: 3 s of media)
POST_ROLL = 0.5


def test_event_clip_from_file_source_has_pre_roll(make_app, qtbot, tmp_path) -> None:
    video = write_clip(tmp_path / "late_cat.mp4", seconds=8.0, cat_spans=((4.0, 6.0),))
    settings = Settings(event_min_duration_s=0.2, event_gap_s=0.5, clip_pre_roll_s=PRE_ROLL,
                        clip_post_roll_s=POST_ROLL)
    app = make_app(source=str(video), settings=settings, speed=2.0)
    app.session.set_models(LoadedRuntime(FakeAnalyzer(), None))
    qtbot.waitUntil(lambda: app.session.clips is not None and app.session.clips.stats.saved,
                    timeout=45000)
    assert app.session.writer.flush(5)
    conn = app.session.store.reader()
    (clip,) = list_clips(conn)
    event = conn.execute('SELECT id, start, "end" FROM events').fetchone()
    assert clip.event_id == event["id"]
    assert event["start"] - clip.ts == pytest.approx(PRE_ROLL, abs=0.25)
    assert clip.duration == pytest.approx(event["end"] + POST_ROLL - clip.ts, abs=0.3)
    info = probe(app.paths.data_dir / clip.path)
    assert info.has_video and info.has_audio
    assert info.duration == pytest.approx(clip.duration, abs=0.3)
    assert (app.paths.data_dir / clip.thumbnail_path).is_file()
    assert clip.prediction["affective_state"] == "content" and clip.uncertainty is not None
    assert not clip.labeled
    assert app.summary()["clips_recorded"] == 1


def test_record_button_makes_a_manual_clip(make_app, qtbot, tmp_path) -> None:
    video = write_clip(tmp_path / "calm.mp4", seconds=8.0, cat_spans=())
    app = make_app(source=str(video), speed=1.0,
                   settings=Settings(clip_pre_roll_s=1.0, event_min_duration_s=0.2))
    live = app.live
    qtbot.waitUntil(lambda: live.record_button.isEnabled() and live.frames_shown > 10,
                    timeout=24000)
    qtbot.wait(1500)  # more than the pre-roll has played
    started = time.time()
    qtbot.mouseClick(live.record_button, qtbot_button())
    qtbot.waitUntil(lambda: live.record_button.text() == "■ Stop", timeout=6000)
    qtbot.wait(1200)
    stopped = time.time()
    qtbot.mouseClick(live.record_button, qtbot_button())
    qtbot.waitUntil(lambda: app.session.clips.stats.saved == 1, timeout=15000)
    qtbot.waitUntil(lambda: live.record_button.text() == "● Record", timeout=3000)
    assert app.session.writer.flush(5)
    (clip,) = list_clips(app.session.store.reader())
    assert clip.event_id is None
    assert clip.duration == pytest.approx(1.0 + stopped - started, abs=0.3)


def qtbot_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
