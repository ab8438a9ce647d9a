"""ClipPlayer: frames, a spectrogram/waveform strip with a play cursor, and play/pause.

Decoding (``clips.preview.load_preview``) runs on Qt's thread pool; the GUI thread only
picks the frame for the current position and paints it. Sound plays through sounddevice
when the device has an output; otherwise the strip is the audio (the label says so).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from purrsight_app.clips.playback import AudioOut
from purrsight_app.clips.preview import SR, Preview, load_preview
from purrsight_app.ui.jobs import JobRunner
from purrsight_app.ui.theme import ACCENT, BACKGROUND, MUTED, TOUCH_PX

TICK_MS = 40


def rgb_image(rgb: np.ndarray) -> QImage:
    """A QImage owning a copy of ``rgb`` [H, W, 3] uint8."""
    h, w, _ = rgb.shape
    data = np.ascontiguousarray(rgb)
    return QImage(data.data, w, h, data.strides[0], QImage.Format.Format_RGB888).copy()


def clock_text(seconds: float) -> str:
    s = int(max(0.0, seconds))
    return f"{s // 60}:{s % 60:02d}"


class _ImageView(QWidget):
    """Paints one image scaled to fit (aspect kept), or a message."""

    clicked = Signal(float)  # x as a fraction of the width

    def __init__(self, min_size: QSize, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._min = min_size
        self.image: QImage | None = None
        self.message = ""
        self.cursor: float | None = None  # fraction of the width
        self.keep_aspect = True
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return self._min

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(BACKGROUND))
        target = QRectF(self.rect())
        if self.image is not None:
            if self.keep_aspect:
                size = self.image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
                target = QRectF((self.width() - size.width()) / 2,  # bottom: next to the strip
                                self.height() - size.height(), size.width(), size.height())
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(target, self.image)
        if self.message:
            p.setPen(QColor(MUTED))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       self.message)
        if self.cursor is not None:
            x = target.left() + self.cursor * target.width()
            p.setPen(QPen(QColor(ACCENT), 2))
            p.drawLine(int(x), 0, int(x), self.height())
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        self.clicked.emit(event.position().x() / max(1, self.width()))


class ClipPlayer(QWidget):
    """See module docstring. ``loaded`` fires when a clip's preview is ready."""

    loaded = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.preview: Preview | None = None
        self.position = 0.0
        self.playing = False
        self.audio_out = AudioOut()
        self.sound = False  # audio is really playing
        self._t0 = 0.0
        self._p0 = 0.0
        self.jobs = JobRunner(self)
        self.view = _ImageView(QSize(180, 110), self)
        self.view.message = "No clip"
        self.strip = _ImageView(QSize(180, 48), self)
        self.strip.keep_aspect = False
        self.strip.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.strip.setFixedHeight(72)
        self.strip.clicked.connect(self.seek_fraction)
        self.play_button = QPushButton("▶ Play", self)
        self.play_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.play_button.setMinimumHeight(TOUCH_PX)
        self.play_button.clicked.connect(self.toggle)
        self.time_label = QLabel("", self)
        self.time_label.setStyleSheet(f"color: {MUTED};")
        self.time_label.setWordWrap(True)  # the "no sound output" note must not widen the panel
        self.time_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.play_button)
        row.addWidget(self.time_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.strip)
        layout.addLayout(row)
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    # --- loading ------------------------------------------------------------------------
    def load(self, path: Path | None) -> None:
        """Show ``path`` (decoded in the background); None clears the player."""
        self.pause()
        self.preview, self.position = None, 0.0
        self.view.image, self.strip.image, self.strip.cursor = None, None, None
        self.view.cursor = None
        self.view.message = "Loading…" if path is not None else "No clip"
        self.time_label.setText("")
        self.view.update()
        self.strip.update()
        if path is None:
            self.jobs.submit(lambda: None, lambda _r: None)  # forget a pending load
            return
        self.jobs.submit(lambda: load_preview(path), self._loaded, self._failed)

    def _loaded(self, preview: Preview) -> None:
        self.preview = preview
        self.view.message = ""
        self.strip.image = rgb_image(preview.strip) if preview.strip is not None else None
        self.strip.cursor = 0.0
        # An audio clip has no picture: its spectrogram fills the view (with the cursor).
        self.view.keep_aspect = bool(preview.frames)
        if not preview.frames:
            self.view.image = self.strip.image
            self.view.message = "" if self.view.image is not None else "Audio clip"
        self._show(0.0)
        self.loaded.emit()

    def _failed(self, message: str) -> None:
        self.view.message = f"Cannot play this clip:\n{message}"
        self.view.update()

    # --- transport ----------------------------------------------------------------------
    def toggle(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        p = self.preview
        if p is None:
            return
        if self.position >= p.duration - 0.05:
            self.position = 0.0
        self.playing = True
        self._t0, self._p0 = time.monotonic(), self.position
        self.sound = p.audio is not None and self.audio_out.play(p.audio, SR, self.position)
        self.play_button.setText("⏸ Pause")
        self.timer.start()
        self._show(self.position)

    def pause(self) -> None:
        if self.sound:
            self.audio_out.stop()
        self.playing, self.sound = False, False
        self.timer.stop()
        self.play_button.setText("▶ Play")
        if self.preview is not None:
            self._show(self.position)

    def seek_fraction(self, fraction: float) -> None:
        if self.preview is None:
            return
        was_playing = self.playing
        self.pause()
        self.position = min(max(fraction, 0.0), 1.0) * self.preview.duration
        if was_playing:
            self.play()
        else:
            self._show(self.position)

    def _tick(self) -> None:
        p = self.preview
        if p is None:
            return
        self.position = self._p0 + time.monotonic() - self._t0
        if self.position >= p.duration:
            self.position = p.duration
            self.pause()
            return
        self._show(self.position)

    def _show(self, t: float) -> None:
        p = self.preview
        assert p is not None
        frame = p.frame_at(t)
        if frame is not None:
            self.view.image = rgb_image(frame)
        self.strip.cursor = t / p.duration if p.duration > 0 else 0.0
        self.view.cursor = None if p.frames else self.strip.cursor
        note = ""
        if p.audio is not None and self.playing and not self.sound:
            note = f" · {self.audio_out.reason or 'no sound output'}"
        self.time_label.setText(f"{clock_text(t)} / {clock_text(p.duration)}{note}")
        self.view.update()
        self.strip.update()
