"""TimelinePanel: day/week/month charts, filtered event list, details, search and export.

Every query (and text embedding for semantic search) runs on Qt's thread pool with its own
read connection; the GUI thread only draws the returned plain data. Drawing the matplotlib
figure stays on the GUI thread (Qt canvases must), which is fine: a day page is a few
hundred artists at most and is timed in the panel's status line.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from purrsight_app.pipeline.protocols import AnalyzerLike
from purrsight_app.storage import ReportRow, export_rows, filter_reports
from purrsight_app.ui.jobs import JobRunner
from purrsight_app.ui.theme import MUTED
from purrsight_app.ui.timeline.charts import draw_day, draw_period
from purrsight_app.ui.timeline.controls import FilterBar, PeriodBar
from purrsight_app.ui.timeline.details import detail_html
from purrsight_app.ui.timeline.queries import (
    Hit,
    TimelineQuery,
    TimelineResult,
    event_detail,
    event_line,
    run_query,
    semantic_search,
    text_search,
)

log = logging.getLogger(__name__)

ReaderFactory = Callable[[], sqlite3.Connection | None]
SMALL_HEIGHT = 560
"""Below this window height the charts use small fonts."""


class TimelinePanel(QWidget):
    """See module docstring. ``reader`` opens a connection (None until the store is up)."""

    def __init__(self, reader: ReaderFactory, analyzer: Callable[[], AnalyzerLike | None],
                 data_dir: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._reader, self._analyzer, self._data_dir = reader, analyzer, data_dir
        self.query = TimelineQuery()
        self.result: TimelineResult | None = None
        self.selected: str | None = None
        self.hits: list[Hit] | None = None
        self.jobs, self.detail_jobs = JobRunner(self), JobRunner(self)
        self.export_jobs = JobRunner(self)
        self.last_draw_ms = 0.0
        self._build()
        self._connect()

    # --- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        self.period_bar, self.filter_bar = PeriodBar(self), FilterBar(self)
        self.figure = Figure(figsize=(5, 3), dpi=100)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setParent(self)
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.canvas.setMinimumSize(QSize(240, 160))
        self.list = QListWidget(self)
        self.details = QTextBrowser(self)
        self.details.setOpenLinks(False)
        self.details.anchorClicked.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
        self.status = QLabel("", self)
        self.status.setStyleSheet(f"color: {MUTED};")
        side = QSplitter(Qt.Orientation.Vertical, self)
        side.addWidget(self.list)
        side.addWidget(self.details)
        self.body = QSplitter(Qt.Orientation.Horizontal, self)
        self.body.addWidget(self.canvas)
        self.body.addWidget(side)
        self.body.setStretchFactor(0, 3)
        self.body.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 4)
        layout.setSpacing(4)
        layout.addWidget(self.period_bar)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.body, 1)
        layout.addWidget(self.status)
        menu = self.period_bar.export_menu
        for text, fn in (("Events as CSV…", lambda: self._ask_export("events", "csv")),
                         ("Events as JSON…", lambda: self._ask_export("events", "json")),
                         ("Reports as CSV…", lambda: self._ask_export("reports", "csv")),
                         ("Reports as JSON…", lambda: self._ask_export("reports", "json")),
                         ("Chart as PNG…", lambda: self._ask_export("chart", "png"))):
            menu.addAction(text, fn)

    def _connect(self) -> None:
        pb, fb = self.period_bar, self.filter_bar
        pb.prev.clicked.connect(lambda: self._go(self.query.shifted(-1)))
        pb.next.clicked.connect(lambda: self._go(self.query.shifted(1)))
        pb.title.clicked.connect(lambda: self._go(self._with(day=date.today())))
        pb.modes.buttonClicked.connect(lambda _b: self._go(self._with(mode=pb.mode())))
        pb.refresh.clicked.connect(self.refresh)
        for combo in (fb.state, fb.vocalization, fb.risk):
            combo.currentIndexChanged.connect(lambda _i: self._go(self._with()))
        fb.find_text.clicked.connect(self.search_text)
        fb.search.returnPressed.connect(self.search_text)
        fb.find_meaning.clicked.connect(self.search_meaning)
        fb.search.textChanged.connect(lambda t: None if t else self._clear_search())
        self.list.currentItemChanged.connect(self._item_selected)
        self.canvas.mpl_connect("pick_event", self._picked)

    def _with(self, **changes: Any) -> TimelineQuery:
        states, vocs, risk = self.filter_bar.values()
        base = {"mode": self.query.mode, "day": self.query.day, "states": states,
                "vocalizations": vocs, "min_risk": risk}
        return TimelineQuery(**{**base, **changes})

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.refresh()

    # --- queries ------------------------------------------------------------------------
    def _go(self, query: TimelineQuery) -> None:
        self.query = query
        self.refresh()

    def _in_worker(self, fn: Callable[[sqlite3.Connection], Any]) -> Callable[[], Any]:
        """Wrap ``fn(conn)`` to open and close its own connection on the worker thread."""
        reader = self._reader

        def job() -> Any:
            conn = reader()
            if conn is None:
                raise RuntimeError("the database is still opening")
            try:
                return fn(conn)
            finally:
                conn.close()
        return job

    def refresh(self) -> None:
        """Re-run the current page's query (button, panel shown, filters changed)."""
        q = self.query
        self.period_bar.title.setText(q.title())
        self.status.setText("Loading…")
        self.jobs.submit(self._in_worker(lambda c: run_query(c, q)), self._show_result,
                         self._show_error)

    def _show_error(self, message: str) -> None:
        self.status.setText(message)

    def _show_result(self, result: TimelineResult) -> None:
        self.result = result
        if self.hits is None:
            self._fill_events(result)
        self.redraw()
        n = len(result.events)
        self.status.setText(f"{n} event{'s' * (n != 1)} · query {result.elapsed_ms:.0f} ms · "
                            f"draw {self.last_draw_ms:.0f} ms")

    def redraw(self) -> None:
        r = self.result
        if r is None:
            return
        t0 = time.perf_counter()
        small = self.window().height() < SMALL_HEIGHT
        if r.day is not None:
            draw_day(self.figure, r.day, r.events, self.selected, small)
        elif r.period is not None:
            draw_period(self.figure, r.period, r.query.title(), small)
        self.canvas.draw_idle()
        self.last_draw_ms = (time.perf_counter() - t0) * 1e3

    # --- list & details -----------------------------------------------------------------
    def _fill_events(self, result: TimelineResult) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for e in reversed(result.events):  # newest first in the list
            item = QListWidgetItem(event_line(e))
            item.setData(Qt.ItemDataRole.UserRole, e.id)
            self.list.addItem(item)
        if not result.events:
            self.list.addItem(QListWidgetItem("No events in this period"))
        self.list.blockSignals(False)

    def _fill_hits(self, hits: list[Hit]) -> None:
        self.hits = hits
        self.list.clear()
        for h in hits:
            item = QListWidgetItem(h.text)
            item.setData(Qt.ItemDataRole.UserRole, h.event_id)
            self.list.addItem(item)
        self.status.setText(f"{len(hits)} match{'es' * (len(hits) != 1)}")

    def _item_selected(self, item: QListWidgetItem | None, _prev: Any = None) -> None:
        event_id = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if event_id:
            self.select_event(event_id)

    def _picked(self, mpl_event: Any) -> None:
        gid = mpl_event.artist.get_gid()
        if gid:
            self.select_event(gid)

    def select_event(self, event_id: str) -> None:
        """Show an event's reports (and clip) in the details pane."""
        self.selected = event_id
        self.details.setHtml(f"<p style='color:{MUTED}'>Loading…</p>")
        self.detail_jobs.submit(self._in_worker(lambda c: event_detail(c, event_id)),
                                lambda d: self.details.setHtml(detail_html(d, self._data_dir)),
                                self._show_error)
        self.redraw()

    # --- search -------------------------------------------------------------------------
    def search_text(self) -> None:
        text = self.filter_bar.search.text().strip()
        if text:
            self.jobs.submit(self._in_worker(lambda c: text_search(c, text)), self._fill_hits,
                             self._show_error)

    def search_meaning(self) -> None:
        text = self.filter_bar.search.text().strip()
        analyzer = self._analyzer()
        if not text:
            return
        if analyzer is None:
            self.status.setText("Meaning search needs the model (model not available)")
            return

        def job(conn: sqlite3.Connection) -> list[Hit]:
            return semantic_search(conn, analyzer.embed_text(text))  # [512] on the worker
        self.jobs.submit(self._in_worker(job), self._fill_hits, self._show_error)

    def _clear_search(self) -> None:
        if self.hits is not None:
            self.hits = None
            if self.result is not None:
                self._fill_events(self.result)

    # --- export -------------------------------------------------------------------------
    def _ask_export(self, kind: str, fmt: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export", f"purrsight-{kind}.{fmt}",
                                              f"{fmt.upper()} (*.{fmt})")
        if path:
            self.export(kind, Path(path))

    def export(self, kind: str, path: Path) -> None:
        """Write the shown events/reports (CSV or JSON by suffix) or the chart (PNG)."""
        if kind == "chart":
            self.figure.savefig(path, facecolor=self.figure.get_facecolor())
            self.status.setText(f"Saved {path.name}")
            return
        q = self.query
        events = list(self.result.events) if self.result else []

        def job(conn: sqlite3.Connection) -> int:
            if kind == "events":
                export_rows(events, path)
                return len(events)
            start, end = q.bounds()
            rows = filter_reports(conn, start=start, end=end, states=q.states or None,
                                  vocalizations=q.vocalizations or None, min_risk=q.min_risk,
                                  limit=100_000)
            export_rows(rows, path, row_type=ReportRow)
            return len(rows)
        def done(n: int) -> None:
            self.status.setText(f"Exported {n} {kind} to {path.name}")
        self.export_jobs.submit(self._in_worker(job), done, self._show_error)
