"""The fine-tuning panel's three pages (widgets only; the panel wires the behaviour).

Train: dataset summary, choices, honest ETA, start/cancel, progress, loss curve, log.
Result: old vs new model on the owner's held-out clips, "Use this model" / "Discard".
(Models: ``models.py``.)
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from purrsight_app.ui.theme import ACCENT, MUTED, TOUCH_PX, WARN
from purrsight_app.ui.timeline.chart_view import ChartView


def big_button(text: str, parent: QWidget, checkable: bool = False) -> QPushButton:
    b = QPushButton(text, parent)
    b.setMinimumHeight(TOUCH_PX)
    b.setCheckable(checkable)
    # Touch targets: no keyboard focus, so a button disabled mid-run never hands focus to a
    # widget inside the scrolled column (which would scroll it away from the summary).
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return b


def note(parent: QWidget, color: str = MUTED) -> QLabel:
    label = QLabel("", parent)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {color};")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class TrainPage(QWidget):
    """Choices and progress of a fine-tune."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("", self)
        self.summary.setWordWrap(True)
        self.warnings = note(self, WARN)
        self.phase1 = big_button("Phase 1 only", self, checkable=True)
        self.phase12 = big_button("Phase 1 + 2", self, checkable=True)
        self.phases = QButtonGroup(self)
        for b in (self.phase1, self.phase12):
            self.phases.addButton(b)
        self.phase12.setChecked(True)
        self.phase_help = note(self)
        self.base = note(self)
        self.mix = QCheckBox("Mix in shipped cat data", self)
        self.mix.setMinimumHeight(TOUCH_PX)
        self.mix.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.mix_choose = big_button("Choose…", self)
        self.mix_path = note(self)
        self.estimate = note(self)
        self.start = big_button("Start training", self)
        self.cancel = big_button("Cancel", self)
        self.cancel.setEnabled(False)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMinimumHeight(18)
        self.eta = note(self)
        self.curve = ChartView(self)
        self.curve.message = "The loss curve appears when training starts."
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setPlaceholderText("Training log")
        self._layout()

    def _layout(self) -> None:
        controls = QWidget(self)
        v = QVBoxLayout(controls)
        v.setContentsMargins(0, 0, 6, 0)
        v.setSpacing(6)
        v.addWidget(self.summary)
        v.addWidget(self.warnings)
        v.addLayout(row(self.phase1, self.phase12))
        v.addWidget(self.phase_help)
        v.addWidget(self.base)
        v.addWidget(self.mix)
        path_row = row(self.mix_choose)
        path_row.addWidget(self.mix_path, 1)
        v.addLayout(path_row)
        v.addWidget(self.estimate)
        v.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(controls)
        scroll.setMinimumWidth(280)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(self.curve)
        right.addWidget(self.log)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        right.setSizes([300, 200])
        body = QSplitter(Qt.Orientation.Horizontal, self)
        body.addWidget(scroll)
        body.addWidget(right)
        body.setStretchFactor(0, 2)
        body.setStretchFactor(1, 3)
        body.setSizes([300, 420])
        body.setChildrenCollapsible(False)
        status = QVBoxLayout()
        status.setSpacing(2)
        status.addWidget(self.progress)
        status.addWidget(self.eta)
        bar = row(self.start, self.cancel)
        bar.addLayout(status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(body, 1)
        layout.addLayout(bar)


class ResultPage(QWidget):
    """Old vs new model on the held-out clips; accept or discard."""

    COLUMNS = ("Field", "Old accuracy", "New accuracy", "Old F1", "New F1", "Clips")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("No finished training yet.", self)
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-size: 17px; font-weight: bold;")
        self.verdict = note(self)
        self.table = QTableWidget(0, len(self.COLUMNS), self)
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.explain = note(self)
        self.explain.setText(
            "Old = the model in use now, new = the one just trained. Both were tested on your "
            "held-out clips, which training never saw. Accuracy = share of clips where the "
            "model's answer matched your label; F1 averages over classes, so rare moods count "
            "as much as common ones.")
        self.use = big_button("Use this model", self)
        self.use.setStyleSheet(f"QPushButton:enabled {{ background: #0d47a1; "
                               f"border-color: {ACCENT}; font-weight: bold; }}")
        self.discard = big_button("Discard", self)
        self.status = note(self)
        for b in (self.use, self.discard):
            b.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.verdict)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.explain)
        bar = row(self.use, self.discard)
        bar.addWidget(self.status, 1)
        layout.addLayout(bar)


def row(*widgets: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        row.addWidget(w)
    return row
