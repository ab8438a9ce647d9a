"""ChartView: shows a chart rendered off-thread and turns clicks into event ids.

While a new render for a changed size is on its way, the previous image is drawn scaled, so
resizing never blocks. ``wanted_size`` is what the next render should produce.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from purrsight_app.ui.theme import BACKGROUND, MUTED
from purrsight_app.ui.timeline.render import ChartImage

RESIZE_DEBOUNCE_MS = 250


class ChartView(QWidget):
    """Paints a ``ChartImage``; emits ``event_clicked(id)`` and ``size_settled()``."""

    event_clicked = Signal(str)
    size_settled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.chart: ChartImage | None = None
        self._qimage: QImage | None = None
        self.message = "Loading…"
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(RESIZE_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.size_settled.emit)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(240, 160)

    def wanted_size(self) -> tuple[int, int]:
        return max(self.width(), 50), max(self.height(), 50)

    def set_chart(self, chart: ChartImage) -> None:
        self.chart = chart
        h, w, _ = chart.rgba.shape
        self._qimage = QImage(chart.rgba.data, w, h, chart.rgba.strides[0],
                              QImage.Format.Format_RGBA8888)
        self.update()

    def _target(self) -> QRectF:
        return QRectF(0, 0, self.width(), self.height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(BACKGROUND))
        if self._qimage is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(self._target(), self._qimage)
        else:
            p.setPen(QColor(MUTED))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)
        p.end()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._debounce.start()

    def event_at(self, pos: QPointF) -> str | None:
        """Map a widget position through the current scaling to the chart's hit boxes."""
        if self.chart is None:
            return None
        h, w, _ = self.chart.rgba.shape
        return self.chart.hit(pos.x() * w / max(self.width(), 1),
                              pos.y() * h / max(self.height(), 1))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        eid = self.event_at(event.position())
        if eid is not None:
            self.event_clicked.emit(eid)
        super().mousePressEvent(event)
