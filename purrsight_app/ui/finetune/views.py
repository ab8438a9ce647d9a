"""How results and models read on screen (small pure helpers for the pages)."""

from __future__ import annotations

import time

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QTableWidgetItem

from purrsight_app.finetune import RunResult, comparison, format_duration, verdict
from purrsight_app.storage import ModelRow
from purrsight_app.ui.labeling.fields import TITLES
from purrsight_app.ui.theme import MUTED
from purrsight_model import Progress

BETTER, WORSE = "#66bb6a", "#ef5350"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


def _f1(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def _cell(text: str, old: float | None = None, new: float | None = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if old is not None and new is not None and abs(new - old) > 0.005:
        item.setForeground(QColor(BETTER if new > old else WORSE))
    return item


def fill_comparison(page, result: RunResult) -> None:
    """Verdict sentence + one table row per field (green = the new model is better)."""
    secs = sum(result.seconds.values())
    took = f" Training took {format_duration(secs)}." if secs else ""
    page.verdict.setText(verdict(result) + took)
    rows = comparison(result)
    table = page.table
    table.setRowCount(len(rows))
    for i, r in enumerate(rows):
        table.setItem(i, 0, QTableWidgetItem(TITLES.get(r.field, r.field)))
        table.setItem(i, 1, _cell(_pct(r.old_accuracy)))
        table.setItem(i, 2, _cell(_pct(r.new_accuracy), r.old_accuracy, r.new_accuracy))
        table.setItem(i, 3, _cell(_f1(r.old_f1)))
        table.setItem(i, 4, _cell(_f1(r.new_f1), r.old_f1, r.new_f1))
        n = QTableWidgetItem(str(r.n))
        n.setForeground(QColor(MUTED))
        table.setItem(i, 5, n)


def model_line(row: ModelRow) -> str:
    """"● in use · ft-… · 1 May 14:32 · mood 71 % (was 58 %)"."""
    when = time.strftime("%d %b %Y %H:%M", time.localtime(row.created or 0))
    new = (row.metrics.get("new") or {}).get("affective_state", {}) if row.metrics else {}
    old = (row.metrics.get("old") or {}).get("affective_state", {}) if row.metrics else {}
    acc = ""
    if "accuracy" in new:
        acc = f" · mood {new['accuracy']:.0%}"
        if "accuracy" in old:
            acc += f" (was {old['accuracy']:.0%})"
    elif row.metrics.get("note"):
        acc = f" · {row.metrics['note']}"
    mark = "● in use · " if row.active else ""
    return f"{mark}{row.id} · {when}{acc}"


def log_line(event: Progress) -> str:
    """"[align] 5/60 loss 7.1960 · val mood 75% new best"."""
    loss = f" loss {event.loss:.4f}" if event.loss is not None else ""
    acc = event.metrics.get("affective_state_acc") if event.metrics else None
    val = f" · val mood {acc:.0%}" if isinstance(acc, int | float) else ""
    return f"[{event.phase}] {event.step}/{event.total}{loss}{val} {event.message}".rstrip()
