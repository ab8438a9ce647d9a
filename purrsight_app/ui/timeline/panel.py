"""TimelinePanel: day/week/month charts, filtered event list, details, search and export.

Every query, text embedding (semantic search) and chart render runs on Qt's thread pool: a
query job opens its own read connection, a render job draws the matplotlib figure with Agg
into pixels (``render.py``). The GUI thread only shows the returned data and images, so the
live view keeps painting while the timeline works.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from purrsight_app.pipeline.protocols import AnalyzerLike
from purrsight_app.storage import ReportRow, export_rows, filter_reports
from purrsight_app.ui.jobs import JobRunner
from purrsight_app.ui.theme import MUTED
from purrsight_app.ui.timeline.chart_view import ChartView
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
from purrsight_app.ui.timeline.render import ChartImage, render_chart, save_chart

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
        self.export_jobs, self.render_jobs = JobRunner(self), JobRunner(self)
        self.last_render_ms = 0.0
        self._sized = False
        self._build()
        self._connect()

    # --- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        self.period_bar, self.filter_bar = PeriodBar(self), FilterBar(self)
        self.chart = ChartView(self)
        self.list = QListWidget(self)
        self.list.setWordWrap(True)  # long lines wrap instead of scrolling sideways
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.details = QTextBrowser(self)
        self.details.setOpenLinks(False)
        self.details.anchorClicked.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
        self.status = QLabel("", self)
        self.status.setStyleSheet(f"color: {MUTED};")
        side = QSplitter(Qt.Orientation.Vertical, self)
        side.addWidget(self.list)
        side.addWidget(self.details)
        self.body = QSplitter(Qt.Orientation.Horizontal, self)
        self.body.addWidget(self.chart)
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
        self.chart.event_clicked.connect(self.select_event)
        self.chart.size_settled.connect(self.redraw)

    def _with(self, **changes: Any) -> TimelineQuery:
        states, vocs, risk = self.filter_bar.values()
        base = {"mode": self.query.mode, "day": self.query.day, "states": states,
                "vocalizations": vocs, "min_risk": risk}
        return TimelineQuery(**{**base, **changes})

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if not self._sized:  # splitters start from size hints: give the chart 60 %
            self._sized = True
            width = self.body.width()
            self.body.setSizes([int(width * 0.6), width - int(width * 0.6)])
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
        self._update_status()

    def _update_status(self) -> None:
        r = self.result
        if r is None:
            return
        n = len(r.events)
        self.status.setText(f"{n} event{'s' * (n != 1)} · query {r.elapsed_ms:.0f} ms · "
                            f"chart {self.last_render_ms:.0f} ms")

    def redraw(self) -> None:
        """Render the chart for the current result and size on a worker thread."""
        r = self.result
        if r is None:
            return
        width, height = self.chart.wanted_size()
        small = self.window().height() < SMALL_HEIGHT
        selected = self.selected
        self.render_jobs.submit(lambda: render_chart(r, selected, width, height, small),
                                self._show_chart, self._show_error)

    def _show_chart(self, chart: ChartImage) -> None:
        self.chart.set_chart(chart)
        self.last_render_ms = chart.elapsed_ms
        self._update_status()

    # --- list & details -----------------------------------------------------------------
    def _fill_events(self, result: TimelineResult) -> None:
        if self.selected is not None and all(e.id != self.selected for e in result.events):
            self.selected = None  # the shown event left the period or the filter
            self.details.clear()
        self.list.blockSignals(True)
        self.list.clear()
        for e in reversed(result.events):  # newest first in the list
            item = QListWidgetItem(event_line(e))
            item.setData(Qt.ItemDataRole.UserRole, e.id)
            self.list.addItem(item)
        if not result.events:
            empty = QListWidgetItem("No events in this period")
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(empty)
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
            result, selected = self.result, self.selected
            if result is not None:
                self.export_jobs.submit(lambda: save_chart(result, selected, path),
                                        lambda p: self.status.setText(f"Saved {p.name}"),
                                        self._show_error)
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
