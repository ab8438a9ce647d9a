"""Colors, sizes and the style sheet shared by every panel (one look, touch-sized)."""

from __future__ import annotations

from purrsight_model.schema import AFFECTIVE_STATE, UNKNOWN

TOUCH_PX = 48
"""Minimum height of anything tappable (>= 44 px touch guideline)."""
NAV_WIDTH = 112
"""Width of the panel navigation column."""

#: One color per affective state, shared by overlay, event strip and heatmap legend.
STATE_COLORS: dict[str, str] = {
    "content": "#4caf50",
    "playful": "#29b6f6",
    "neutral": "#9e9e9e",
    "anxious": "#ffb300",
    "aggressive": "#e53935",
    "distressed": "#8e24aa",
    UNKNOWN: "#607d8b",
}
assert set(AFFECTIVE_STATE) <= set(STATE_COLORS), "every schema state needs a color"

BACKGROUND = "#15191d"
PANEL = "#1f252b"
TEXT = "#eceff1"
MUTED = "#90a4ae"
ACCENT = "#4fc3f7"
WARN = "#ffb74d"

STYLE_SHEET = f"""
QWidget {{ background: {BACKGROUND}; color: {TEXT}; font-size: 15px; }}
QPushButton, QToolButton, QComboBox, QLineEdit, QDateEdit {{
    min-height: {TOUCH_PX - 8}px; padding: 4px 10px; border-radius: 6px;
    background: {PANEL}; border: 1px solid #37474f;
}}
QPushButton:checked, QToolButton:checked {{ background: #0d47a1; border-color: {ACCENT}; }}
QPushButton:pressed {{ background: #263238; }}
QPushButton:disabled {{ color: #546e7a; }}
QPushButton#nav {{ min-height: {TOUCH_PX + 16}px; font-size: 16px; text-align: center; }}
QListWidget, QTextBrowser {{ background: {PANEL}; border: 1px solid #37474f; }}
QListWidget::item {{ min-height: {TOUCH_PX - 8}px; }}
QStatusBar {{ color: {MUTED}; }}
QLabel#status {{ color: {WARN}; }}
"""
