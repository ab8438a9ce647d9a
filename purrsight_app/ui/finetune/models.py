"""ModelsPage: every registered model (newest first), the one in use marked; roll back to any.

Rolling back is the same hot swap as accepting a new model (``ModelSwitcher.switch`` on a
worker thread): the store's active model changes only once the bundle has loaded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QListWidget, QVBoxLayout, QWidget

from purrsight_app.finetune import ModelSwitcher
from purrsight_app.storage import ModelRow, list_models
from purrsight_app.ui.finetune.pages import big_button, note, row
from purrsight_app.ui.finetune.views import model_line
from purrsight_app.ui.jobs import JobRunner

NO_MODELS = "No fine-tuned models yet."


class ModelsPage(QWidget):
    """See module docstring; ``switched(model_id)`` after a successful roll-back."""

    switched = Signal(str)

    def __init__(self, reader: Callable[[], sqlite3.Connection | None],
                 writer: Callable[[], object | None], switcher: Callable[[], ModelSwitcher],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._reader, self._writer, self._switcher = reader, writer, switcher
        self.rows: list[ModelRow] = []
        self.jobs, self.switch_jobs = JobRunner(self), JobRunner(self)
        self.list = QListWidget(self)
        self.list.setWordWrap(True)
        self.use = big_button("Use selected model", self)
        self.refresh_button = big_button("Refresh", self)
        self.status = note(self)
        intro = note(self)
        intro.setText("Every model you accepted is kept. Pick one and tap “Use selected "
                      "model” to go back to it; the live view switches without a restart.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        bar = row(self.use, self.refresh_button)
        bar.addWidget(self.status, 1)
        layout.addLayout(bar)
        self.use.clicked.connect(self.roll_back)
        self.refresh_button.clicked.connect(self.refresh)

    def refresh(self) -> None:
        writer = self._writer()

        def work() -> list[ModelRow]:
            if writer is not None:  # a model registered a moment ago must be listed
                writer.flush(2)  # type: ignore[attr-defined]
            conn = self._reader()
            if conn is None:
                return []
            try:
                return list_models(conn)
            finally:
                conn.close()
        self.jobs.submit(work, self._loaded, self.status.setText)

    def _loaded(self, rows: list[ModelRow]) -> None:
        self.rows = rows
        self.list.clear()
        for r in rows:
            self.list.addItem(model_line(r))
        self.use.setEnabled(bool(rows))
        if not rows:
            self.status.setText(NO_MODELS)
        elif self.status.text() == NO_MODELS:
            self.status.setText("")

    def roll_back(self) -> None:
        i = self.list.currentRow()
        if not 0 <= i < len(self.rows) or not self.rows[i].path:
            self.status.setText("Pick a model first.")
            return
        chosen = self.rows[i]
        switcher = self._switcher()
        self.status.setText(f"Switching to {chosen.id}…")
        self.switch_jobs.submit(lambda: switcher.switch(chosen.id, Path(chosen.path or "")),
                                lambda _r: self._done(chosen.id),
                                lambda m: self.status.setText(f"Not switched: {m}"))

    def _done(self, model_id: str) -> None:
        self.status.setText(f"Now using {model_id}.")
        self.refresh()
        self.switched.emit(model_id)
