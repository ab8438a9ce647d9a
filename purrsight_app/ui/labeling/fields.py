"""LabelFields: one row of one-tap buttons per schema field, plus the free-text description.

No button pressed means ``unknown`` (tapping the pressed button again clears it), so the
rows stay short enough to tap on a small screen. Buttons never take keyboard focus: the
panel's shortcuts (Space, digits, Enter, S, Backspace) must reach the panel, not a button.
Mood buttons carry their number-key shortcut in the text.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from purrsight_app.labels import LabelState
from purrsight_app.ui.labeling.flow import FlowLayout
from purrsight_app.ui.theme import MUTED, STATE_COLORS, TOUCH_PX
from purrsight_model.schema import (
    AFFECTIVE_STATE,
    CATEGORICAL_FIELDS,
    LABEL_FIELDS,
    MAX_TEXT_CHARS,
    UNKNOWN,
)

#: Field order on screen (the owner's main question first) and owner-facing titles.
FIELD_ORDER = ("affective_state", "vocalization", "arousal", "ears", "tail", "posture",
               "ethogram_group", "risk")
TITLES = {"affective_state": "Mood", "vocalization": "Sound", "arousal": "Arousal",
          "ears": "Ears", "tail": "Tail", "posture": "Posture", "ethogram_group": "Activity",
          "risk": "Risk"}
VALUE_TEXT = {"lateral_recumbent": "on its side", "social_affiliative": "social",
              "agonistic": "conflict", "maintenance": "self-care"}
assert set(FIELD_ORDER) == set(LABEL_FIELDS), "every label field needs a row"


def value_text(field: str, value: str) -> str:
    text = VALUE_TEXT.get(value, value.replace("_", " "))
    if field == "affective_state" and value in AFFECTIVE_STATE:
        return f"{AFFECTIVE_STATE.index(value) + 1} {text}"
    return text


class LabelFields(QWidget):
    """The label buttons; ``changed`` fires on every tap or description edit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buttons: dict[str, dict[str, QPushButton]] = {}
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)
        for row, name in enumerate(FIELD_ORDER):
            title = QLabel(TITLES[name], self)
            title.setStyleSheet(f"color: {MUTED};")
            title.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            title.setContentsMargins(0, 12, 0, 0)
            grid.addWidget(title, row, 0)
            grid.addWidget(self._field_row(name), row, 1)
        grid.setColumnStretch(1, 1)
        self.description = QLineEdit(self)
        self.description.setPlaceholderText("Describe what the cat does (optional)")
        self.description.setMaxLength(MAX_TEXT_CHARS)
        self.description.setMinimumHeight(TOUCH_PX)
        self.description.textEdited.connect(lambda _t: self.changed.emit())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(8)
        layout.addLayout(grid)
        layout.addWidget(self.description)
        layout.addStretch(1)

    def _field_row(self, name: str) -> QWidget:
        box = QWidget(self)
        flow = FlowLayout(box, spacing=6)
        self.buttons[name] = {}
        for value in CATEGORICAL_FIELDS[name]:
            b = QPushButton(value_text(name, value), box)
            b.setCheckable(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setMinimumHeight(TOUCH_PX)
            b.setMinimumWidth(TOUCH_PX)
            b.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
            if name == "affective_state":
                b.setStyleSheet(f"QPushButton {{ border-left: 5px solid {STATE_COLORS[value]}; }}")
            b.clicked.connect(lambda checked, n=name, v=value: self._tapped(n, v, checked))
            flow.addWidget(b)
            self.buttons[name][value] = b
        return box

    def _tapped(self, name: str, value: str, checked: bool) -> None:
        for v, b in self.buttons[name].items():
            if v != value:
                b.setChecked(False)
        self.changed.emit()

    # --- values -------------------------------------------------------------------------
    def value(self, name: str) -> str:
        return next((v for v, b in self.buttons[name].items() if b.isChecked()), UNKNOWN)

    def values(self) -> dict[str, str]:
        return {name: self.value(name) for name in LABEL_FIELDS}

    def state(self) -> LabelState:
        return LabelState(self.values(), self.description.text().strip())

    def set_value(self, name: str, value: str) -> None:
        """Select ``value`` (``unknown`` clears the row); does not emit ``changed``."""
        for v, b in self.buttons[name].items():
            b.setChecked(v == value)

    def toggle(self, name: str, value: str) -> None:
        """What a tap does: select, or clear when already selected."""
        self.set_value(name, UNKNOWN if self.value(name) == value else value)
        self.changed.emit()

    def set_state(self, state: LabelState | None) -> None:
        for name in LABEL_FIELDS:
            self.set_value(name, state.values.get(name, UNKNOWN) if state else UNKNOWN)
        self.description.setText(state.description if state else "")
