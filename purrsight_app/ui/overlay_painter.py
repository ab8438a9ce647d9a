"""Draw the live overlay with QPainter: state card, visible/heard pills, level meter, status.

Only painting lives here; what to say comes from ``pipeline.overlay_state.OverlayView``. Sizes
scale with the widget height so the overlay is readable on a 7" 800x480 screen and not
oversized at 1280x720.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter

from purrsight_app.pipeline.overlay_state import OverlayView
from purrsight_app.ui.theme import MUTED, STATE_COLORS, TEXT, WARN

METER_MIN_DB = -60.0


def _font(px: float, bold: bool = False) -> QFont:
    f = QFont()
    f.setPixelSize(max(10, int(px)))
    f.setBold(bold)
    return f


def _card(p: QPainter, rect: QRectF, alpha: int = 150) -> None:
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(0, 0, 0, alpha))
    p.drawRoundedRect(rect, 8, 8)


def _scale(rect: QRectF) -> float:
    return max(0.6, min(1.6, rect.height() / 480.0))


def paint_state_card(p: QPainter, rect: QRectF, view: OverlayView) -> None:
    """Top-left: colored dot + headline, then details; faded by ``view.alpha``."""
    s = _scale(rect)
    big, small = _font(26 * s, bold=True), _font(16 * s)
    fm_big, fm_small = QFontMetricsF(big), QFontMetricsF(small)
    pad = 10 * s
    dot = fm_big.height() * 0.55
    width = max([fm_big.horizontalAdvance(view.headline) + dot + pad]
                + [fm_small.horizontalAdvance(d) for d in view.details]) + 2 * pad
    height = fm_big.height() + len(view.details) * fm_small.height() + 2 * pad
    card = QRectF(rect.left() + pad, rect.top() + pad, min(width, rect.width() * 0.7), height)
    p.save()
    p.setOpacity(view.alpha)
    _card(p, card)
    color = QColor(STATE_COLORS.get(view.state, MUTED)) if view.cat_present else QColor(MUTED)
    p.setBrush(color)
    y_mid = card.top() + pad + fm_big.height() / 2
    p.drawEllipse(QRectF(card.left() + pad, y_mid - dot / 2, dot, dot))
    p.setPen(QColor(TEXT))
    p.setFont(big)
    p.drawText(QRectF(card.left() + pad + dot + pad / 2, card.top() + pad,
                      card.width() - dot - 2 * pad, fm_big.height()),
               Qt.AlignmentFlag.AlignVCenter, view.headline)
    p.setFont(small)
    y = card.top() + pad + fm_big.height()
    for line in view.details:
        p.drawText(QRectF(card.left() + pad, y, card.width() - 2 * pad, fm_small.height()),
                   Qt.AlignmentFlag.AlignVCenter, line)
        y += fm_small.height()
    p.restore()


def _pill(p: QPainter, rect: QRectF, text: str, lit: bool, font: QFont) -> None:
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(46, 125, 50, 220) if lit else QColor(0, 0, 0, 140))
    p.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
    p.setPen(QColor(TEXT) if lit else QColor(MUTED))
    p.setFont(font)
    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


def paint_indicators(p: QPainter, rect: QRectF, view: OverlayView, right_margin: float) -> None:
    """Top-right: "seen" and "heard" pills with their scores (dim when absent)."""
    s = _scale(rect)
    font = _font(15 * s, bold=True)
    fm = QFontMetricsF(font)
    h = fm.height() + 10 * s
    y = rect.top() + 10 * s
    p.save()
    p.setOpacity(view.alpha)
    for label, score, lit in (("seen", view.cat_visible, view.seen),
                              ("heard", view.cat_heard, view.heard)):
        text = f"{label} {score:.0%}" if score is not None else f"{label} –"
        w = fm.horizontalAdvance(text) + 24 * s
        pill = QRectF(rect.right() - right_margin - w, y, w, h)
        _pill(p, pill, text, lit, font)
        y += h + 6 * s
    p.restore()


def paint_level_meter(p: QPainter, rect: QRectF, level_db: float | None) -> float:
    """Right edge: vertical dBFS meter (-60..0), only while audio arrives. Returns the width
    it used (0 without audio)."""
    if level_db is None:
        return 0.0
    s = _scale(rect)
    w, pad = 14 * s, 10 * s
    height = min(rect.height() * 0.55, rect.height() - 2 * pad)
    bar = QRectF(rect.right() - pad - w, rect.bottom() - pad - height, w, height)
    p.save()
    _card(p, bar.adjusted(-3, -3, 3, 3), 120)
    frac = min(1.0, max(0.0, (level_db - METER_MIN_DB) / -METER_MIN_DB))
    color = QColor("#66bb6a") if frac < 0.75 else QColor("#ffca28") if frac < 0.9 \
        else QColor("#ef5350")
    p.setBrush(color)
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRect(QRectF(bar.left(), bar.bottom() - bar.height() * frac, w, bar.height() * frac))
    p.restore()
    return w + 2 * pad


def _status_box(rect: QRectF, lines: list[str]) -> tuple[QFont, QFontMetricsF, float, QRectF]:
    """Font, metrics, padding and the bottom box for ``lines``."""
    s = _scale(rect)
    font = _font(15 * s)
    fm = QFontMetricsF(font)
    pad = 8 * s
    box_h = len(lines) * fm.height() + pad
    box = QRectF(rect.left() + pad, rect.bottom() - pad - box_h, rect.width() - 2 * pad, box_h)
    return font, fm, pad, box


def status_height(rect: QRectF, lines: list[str]) -> float:
    """Height the status box takes at the bottom, margins included (0 without lines)."""
    if not lines:
        return 0.0
    _, _, pad, box = _status_box(rect, lines)
    return box.height() + 2 * pad


def paint_status_lines(p: QPainter, rect: QRectF, lines: list[str]) -> None:
    """Bottom: problems and notices ("no camera", "model not available: …")."""
    if not lines:
        return
    font, fm, pad, box = _status_box(rect, lines)
    p.save()
    _card(p, box, 170)
    p.setPen(QColor(WARN))
    p.setFont(font)
    y = box.top() + pad / 2
    for line in lines:
        elided = fm.elidedText(line, Qt.TextElideMode.ElideRight, box.width() - 2 * pad)
        p.drawText(QRectF(box.left() + pad, y, box.width() - 2 * pad, fm.height()),
                   Qt.AlignmentFlag.AlignVCenter, elided)
        y += fm.height()
    p.restore()


def paint_no_video(p: QPainter, rect: QRectF, text: str) -> None:
    """Centered calm message when there is no frame to show."""
    p.save()
    p.setPen(QColor(MUTED))
    p.setFont(_font(22 * _scale(rect)))
    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    p.restore()


def paint_overlay(
    p: QPainter, rect: QRectF, view: OverlayView | None, level_db: float | None,
    lines: list[str],
) -> None:
    """Everything on top of the video, in stacking order; the meter stays above the
    status box."""
    above_status = rect.adjusted(0, 0, 0, -status_height(rect, lines))
    used = paint_level_meter(p, above_status, level_db)
    if view is not None:
        paint_state_card(p, rect, view)
        paint_indicators(p, rect, view, used)
    paint_status_lines(p, rect, lines)
