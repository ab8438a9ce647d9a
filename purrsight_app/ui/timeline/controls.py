"""The timeline's two control rows: period navigation and filters + search."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QMenu,
    QPushButton,
    QWidget,
)

from purrsight_app.ui.theme import TOUCH_PX
from purrsight_model.schema import AFFECTIVE_STATE, RISK, VOCALIZATION


def _button(text: str, parent: QWidget, checkable: bool = False, tip: str = "") -> QPushButton:
    b = QPushButton(text, parent)
    b.setMinimumHeight(TOUCH_PX)
    b.setCheckable(checkable)
    if tip:
        b.setToolTip(tip)
    return b


def _combo(first: str, values: tuple[str, ...], parent: QWidget, labels=None) -> QComboBox:
    c = QComboBox(parent)
    c.setMinimumHeight(TOUCH_PX)
    c.addItem(first, None)
    for v, label in zip(values, labels or values, strict=True):
        c.addItem(label.replace("_", " "), v)
    c.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    c.setMinimumContentsLength(6)
    return c


class PeriodBar(QWidget):
    """◀ period ▶ · Day/Week/Month · Refresh · Export."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prev = _button("◀", self, tip="Previous")
        self.title = _button("Today", self, tip="Back to today")
        self.next = _button("▶", self, tip="Next")
        for b in (self.prev, self.next):
            b.setFixedWidth(TOUCH_PX)
        self.modes = QButtonGroup(self)
        self.mode_buttons: dict[str, QPushButton] = {}
        for key, text in (("day", "Day"), ("week", "Week"), ("month", "Month")):
            b = _button(text, self, checkable=True)
            self.modes.addButton(b)
            self.mode_buttons[key] = b
        self.mode_buttons["day"].setChecked(True)
        self.refresh = _button("Refresh", self)
        self.export = _button("Export", self)
        self.export_menu = QMenu(self.export)
        self.export.setMenu(self.export_menu)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(self.prev)
        row.addWidget(self.title, 1)
        row.addWidget(self.next)
        for b in self.mode_buttons.values():
            row.addWidget(b)
        row.addWidget(self.refresh)
        row.addWidget(self.export)

    def mode(self) -> str:
        return next(k for k, b in self.mode_buttons.items() if b.isChecked())


class FilterBar(QWidget):
    """State / vocalization / risk filters and the search box (words or meaning)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = _combo("All states", AFFECTIVE_STATE, self)
        self.vocalization = _combo("All sounds", VOCALIZATION, self)
        self.risk = _combo("Any risk", RISK[1:], self, labels=[f"risk ≥ {r}" for r in RISK[1:]])
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search reports…")
        self.search.setMinimumHeight(TOUCH_PX)
        self.search.setClearButtonEnabled(True)
        self.find_text = _button("Words", self, tip="Full-text search over report summaries")
        self.find_meaning = _button("Meaning", self,
                                    tip="Semantic search: events whose content matches the text")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        for w in (self.state, self.vocalization, self.risk):
            row.addWidget(w)
        row.addWidget(self.search, 1)
        row.addWidget(self.find_text)
        row.addWidget(self.find_meaning)

    def values(self) -> tuple[tuple[str, ...], tuple[str, ...], int | None]:
        """(states, vocalizations, min_risk) selected; empty tuples mean 'all'."""
        s, v, r = (c.currentData() for c in (self.state, self.vocalization, self.risk))
        return ((s,) if s else (), (v,) if v else (), int(r) if r else None)
