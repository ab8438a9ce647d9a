"""Main window layout at the two target screen sizes: everything fits, is tappable, and
nothing overlaps."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QWidget

from purrsight_app.ui.theme import TOUCH_PX

SIZES = [(800, 480), (1280, 720)]


def global_rect(w: QWidget) -> QRect:
    top_left = w.mapTo(w.window(), w.rect().topLeft())
    return QRect(top_left, w.size())


def assert_fits_and_no_overlap(widgets: list[QWidget], window: QWidget) -> None:
    area = window.rect()
    rects = []
    for w in widgets:
        assert w.isVisible(), f"{w} hidden"
        r = global_rect(w)
        assert area.contains(r), f"{w.objectName() or w} {r} is clipped by the window {area}"
        assert r.width() >= w.minimumSizeHint().width() - 1, f"{w} squeezed below its hint"
        rects.append((w, r))
    for i, (a, ra) in enumerate(rects):
        for b, rb in rects[i + 1:]:
            assert not ra.intersects(rb), f"{a} overlaps {b}"


@pytest.mark.parametrize("size", SIZES)
def test_main_window_lays_out_at_target_sizes(make_app, qtbot, size) -> None:
    app = make_app(source="mic", size=size)
    win = app.window
    qtbot.waitExposed(win)
    assert (win.width(), win.height()) == size
    hint = win.minimumSizeHint()
    assert hint.width() <= 800 and hint.height() <= 480, f"minimum size {hint} > 800x480"
    nav = list(app.window.nav_buttons.values())
    assert [b.text() for b in nav] == ["Live", "Timeline", "Label", "Teach"]
    live = app.live
    assert_fits_and_no_overlap([*nav, live.source_button, live.rate_label, live.video], win)
    for b in [*nav, live.source_button]:
        assert b.height() >= 44
    win.show_panel("timeline")
    qtbot.wait(50)
    pb, fb = app.timeline.period_bar, app.timeline.filter_bar
    key = [pb.prev, pb.title, pb.next, *pb.mode_buttons.values(), pb.refresh, pb.export,
           fb.state, fb.vocalization, fb.risk, fb.search, fb.find_text, fb.find_meaning,
           app.timeline.chart, app.timeline.list, app.timeline.details]
    assert_fits_and_no_overlap([*nav, *key], win)
    for w in key[:14]:
        assert w.height() >= TOUCH_PX - 4, f"{w} is too small to tap"
    assert app.timeline.chart.width() >= 240 and app.timeline.chart.height() >= 160


def test_kiosk_is_full_screen_without_chrome(qtbot) -> None:
    from PySide6.QtCore import Qt

    from purrsight_app.app import AppOptions, build_app

    app = build_app(AppOptions(source="mic", kiosk=True, load_model=False))
    qtbot.addWidget(app.window)
    app.start()
    try:
        qtbot.waitUntil(app.window.isVisible, timeout=9000)
        assert app.window.isFullScreen()
        assert app.window.windowFlags() & Qt.WindowType.FramelessWindowHint
    finally:
        app.shutdown()
