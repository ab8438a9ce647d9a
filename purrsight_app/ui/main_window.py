"""MainWindow: a navigation column of big buttons and a stack of panels.

Each panel is its own module and registers with ``add_panel``; later panels (labeling,
fine-tuning) slot in the same way. Only working panels are added — no placeholders.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from purrsight_app.ui.theme import ACCENT, NAV_WIDTH, STYLE_SHEET, TOUCH_PX


class MainWindow(QMainWindow):
    """Navigation + stacked panels + a status bar line."""

    def __init__(self, title: str = "PurrSight", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setStyleSheet(STYLE_SHEET)
        self.stack = QStackedWidget(self)
        self.nav = QWidget(self)
        self.nav.setFixedWidth(NAV_WIDTH)
        self._nav_layout = QVBoxLayout(self.nav)
        self._nav_layout.setContentsMargins(6, 6, 6, 6)
        self._nav_layout.setSpacing(6)
        brand = QLabel("PurrSight", self.nav)
        brand.setAlignment(Qt.AlignmentFlag.AlignCenter)
        brand.setStyleSheet(f"color: {ACCENT}; font-weight: bold; font-size: 16px;")
        self._nav_layout.addWidget(brand)
        self._nav_layout.addStretch(1)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self.panels: dict[str, QWidget] = {}
        self.nav_buttons: dict[str, QPushButton] = {}
        central = QWidget(self)
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.nav)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.on_close = None
        QShortcut(QKeySequence("Ctrl+Q"), self, activated=self.close)

    def add_panel(self, key: str, title: str, widget: QWidget) -> None:
        """Register a panel under a navigation button (in call order)."""
        button = QPushButton(title, self.nav)
        button.setObjectName("nav")
        button.setCheckable(True)
        button.setMinimumHeight(TOUCH_PX + 16)
        button.clicked.connect(lambda: self.show_panel(key))
        self._group.addButton(button)
        self._nav_layout.insertWidget(self._nav_layout.count() - 1, button)
        self.stack.addWidget(widget)
        self.panels[key], self.nav_buttons[key] = widget, button
        index = len(self.panels)
        QShortcut(QKeySequence(f"Alt+{index}"), self, activated=lambda: self.show_panel(key))
        if len(self.panels) == 1:
            self.show_panel(key)

    def show_panel(self, key: str) -> None:
        self.stack.setCurrentWidget(self.panels[key])
        self.nav_buttons[key].setChecked(True)

    def current_panel(self) -> str:
        widget = self.stack.currentWidget()
        return next(k for k, w in self.panels.items() if w is widget)

    def set_kiosk(self, on: bool) -> None:
        """Full screen without window chrome (the Pi touchscreen)."""
        self.setWindowFlag(Qt.WindowType.FramelessWindowHint, on)
        if on:
            self.showFullScreen()
        else:
            self.showNormal()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if self.on_close is not None:
            self.on_close()
        super().closeEvent(event)
