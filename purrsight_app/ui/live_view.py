"""LiveView: the newest frame at ~30 fps with the overlay, plus a source button.

A QTimer on the GUI thread polls the rings (no signal per frame, so a busy capture thread can
never flood the event loop). Per tick: if the frame ring has a new frame, scale it once to the
widget size (the only pixel work on the GUI thread), read the latest analysis result and the
audio level, and repaint. Model calls, decoding and SQL never happen here.
"""

from __future__ import annotations

import os
import time

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from purrsight_app.capture import rms_dbfs
from purrsight_app.pipeline.overlay_state import OverlayConfig, OverlayView, overlay_view
from purrsight_app.pipeline.session import LiveSession
from purrsight_app.ui.overlay_painter import paint_no_video, paint_overlay
from purrsight_app.ui.theme import BACKGROUND, MUTED, TOUCH_PX

PAINT_INTERVAL_MS = 33
LEVEL_SECONDS = 0.1
AUDIO_STALE_S = 1.0
_IMPORTED = time.monotonic()


def process_age_s() -> float:
    """Seconds since this process started (Linux: /proc, so a frozen app's unpacking and
    imports count too; elsewhere: since this module was imported)."""
    try:
        with open("/proc/self/stat", "rb") as fh:
            start_ticks = int(fh.read().rsplit(b")", 1)[1].split()[19])  # field 22: starttime
        with open("/proc/uptime", "rb") as fh:
            uptime = float(fh.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED


def to_qimage(rgb: np.ndarray) -> QImage:
    """Wrap an RGB uint8 [H, W, 3] array (no copy: keep ``rgb`` alive while it is used)."""
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888)


class VideoWidget(QWidget):
    """Paints a scaled frame and the overlay; owns no data, just what the view hands it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.image: QImage | None = None
        self.view: OverlayView | None = None
        self.level_db: float | None = None
        self.lines: list[str] = []
        self.placeholder = "No video"
        self.paints = 0
        self.first_frame_s: float | None = None
        """Process age when the first video frame was painted (start-up measurements)."""

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(320, 200)

    def set_frame(self, rgb: np.ndarray) -> None:
        """Scale the frame to the widget once (copying it out of the ring)."""
        img = to_qimage(rgb)
        self.image = img.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                Qt.TransformationMode.SmoothTransformation)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect())
        p.fillRect(rect, QColor(BACKGROUND))
        if self.image is not None:
            x = (rect.width() - self.image.width()) / 2
            y = (rect.height() - self.image.height()) / 2
            p.drawImage(int(x), int(y), self.image)
            if self.first_frame_s is None:
                self.first_frame_s = round(process_age_s(), 3)
        else:
            paint_no_video(p, rect, self.placeholder)
        paint_overlay(p, rect, self.view, self.level_db, self.lines)
        p.end()
        self.paints += 1


class LiveView(QWidget):
    """Source button + status summary above the video (see module docstring)."""

    pick_source = Signal()

    def __init__(self, session: LiveSession, parent: QWidget | None = None,
                 overlay: OverlayConfig | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.overlay_config = overlay or OverlayConfig(
            stale_s=session.options.settings.overlay_stale_s)
        self.video = VideoWidget(self)
        self.source_button = QPushButton("Source", self)
        self.source_button.setMinimumHeight(TOUCH_PX)
        self.source_button.clicked.connect(self.pick_source.emit)
        self.record_button = QPushButton("● Record", self)
        self.record_button.setMinimumHeight(TOUCH_PX)
        self.record_button.setCheckable(True)
        self.record_button.setEnabled(False)  # until the store (and the recorder) is up
        self.record_button.setToolTip("Record a clip now (with the last seconds before it)")
        self.record_button.clicked.connect(self.toggle_record)
        self.rate_label = QLabel("", self)
        self.rate_label.setStyleSheet(f"color: {MUTED};")
        self.rate_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        top = QHBoxLayout()
        top.setContentsMargins(6, 6, 6, 0)
        top.addWidget(self.source_button, 0)
        top.addWidget(self.record_button, 0)
        top.addWidget(self.rate_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.video, 1)
        self._last_seq = -1
        self._frames_shown = 0
        self._rate_t0 = time.monotonic()
        self._rate_n = (0, 0)
        self.timer = QTimer(self)
        self.timer.setInterval(PAINT_INTERVAL_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    @property
    def frames_shown(self) -> int:
        """New frames painted since start (the benchmark's 'painted fps' numerator)."""
        return self._frames_shown

    def tick(self) -> None:
        """One GUI-timer step: newest frame, latest result, level, status; repaint."""
        if not self.video.isVisible():  # another panel is shown: no scaling, no painting
            return
        now = time.time()
        fresh_frame = self._take_frame()
        pipe = self.session.pipeline
        self.video.view = overlay_view(pipe.latest if pipe else None, now, self.overlay_config)
        self.video.level_db = self._level(now)
        self.video.placeholder = "No video — listening" if self.video.level_db is not None \
            else "No video"
        self.video.lines = self.session.status_lines()
        spec = self.session.spec
        self.source_button.setText(f"Source: {spec.label()}" if spec else "Source")
        self._update_rates()
        self._update_record()
        if fresh_frame:
            self._frames_shown += 1
        self.video.update()

    def toggle_record(self) -> None:
        """Manual clip: start (with pre-roll) or stop; recording runs on the recorder thread."""
        clips = self.session.clips
        if clips is None:
            return
        if self.record_button.isChecked():
            clips.manual_start()
        else:
            clips.manual_stop()
        self._update_record()

    def _update_record(self) -> None:
        clips = self.session.clips
        b = self.record_button
        b.setEnabled(clips is not None)
        on = b.isChecked()
        text = "■ Stop" if on else ("● Recording" if clips is not None and clips.recording
                                    else "● Record")
        if b.text() != text:
            b.setText(text)
            b.setStyleSheet("" if text == "● Record" else "QPushButton { color: #ef5350; }")

    def _take_frame(self) -> bool:
        frames = self.session.frames
        if frames.seq == self._last_seq:
            if frames.latest_ts() is None:
                self.video.image = None
            return False
        frame = frames.latest(copy=False)
        if frame is None:
            self.video.image = None
            return False
        self._last_seq = frame.seq
        self.video.set_frame(frame.image)
        return True

    def _level(self, now: float) -> float | None:
        audio = self.session.audio
        if audio.end_ts <= 0 or now - audio.end_ts > AUDIO_STALE_S:
            return None
        return rms_dbfs(audio.read_last(LEVEL_SECONDS))

    def _update_rates(self) -> None:
        elapsed = time.monotonic() - self._rate_t0
        if elapsed < 2.0:
            return
        pipe = self.session.pipeline
        analysed = pipe.stats.loop.analysed if pipe else 0
        fps = (self._frames_shown - self._rate_n[0]) / elapsed
        wps = (analysed - self._rate_n[1]) / elapsed
        if pipe is None or pipe.loop.analyzer is None:
            self.rate_label.setText(f"{fps:.0f} fps · analysis off")
        else:
            self.rate_label.setText(f"{fps:.0f} fps · {wps:.1f} analyses/s")
        self._rate_t0, self._rate_n = time.monotonic(), (self._frames_shown, analysed)
