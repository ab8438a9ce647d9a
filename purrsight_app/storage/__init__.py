"""Qt-free storage: SQLite schema + migrations, the single writer thread, timeline queries.

Typical use::

    store = Store.open(paths.db_path)          # store.notice -> show in the UI if not None
    writer = store.writer(on_status=...)       # put(record) never blocks
    conn = store.reader()                      # per thread
    view = day_view(conn, date.today())
"""

from purrsight_app.storage.catalog import (
    active_model,
    clips_to_label,
    get_clip,
    get_label,
    get_run,
    label_history,
    labeled_clips,
    list_clips,
    list_models,
    list_runs,
    observations_between,
    observations_of_event,
    reports_of_event,
)
from purrsight_app.storage.db import OpenResult, StoreError, connect, open_database
from purrsight_app.storage.export import ExportError, export_rows, export_selection
from purrsight_app.storage.records import (
    ClipRecord,
    DeleteClip,
    EventRecord,
    LabelRecord,
    ModelRecord,
    ObservationRecord,
    ReportRecord,
    RunRecord,
    SetActiveModel,
    new_id,
)
from purrsight_app.storage.retention import PruneResult, PruneTask, RetentionSettings, prune
from purrsight_app.storage.rows import (
    ClipRow,
    EventRow,
    LabelRow,
    ModelRow,
    ObservationRow,
    ReportRow,
    RunRow,
)
from purrsight_app.storage.search import search_events, search_reports
from purrsight_app.storage.store import Store
from purrsight_app.storage.timeline import (
    DaySummary,
    DayView,
    PeriodSummary,
    day_bounds,
    day_view,
    events_between,
    filter_events,
    filter_reports,
    month_summary,
    period_summary,
    week_summary,
)
from purrsight_app.storage.writer import StoreWriter, WriterConfig, WriterStatus, WriterTask

__all__ = [
    "ClipRecord", "ClipRow", "DaySummary", "DayView", "DeleteClip", "EventRecord", "EventRow",
    "ExportError", "LabelRecord", "LabelRow", "ModelRecord", "ModelRow", "ObservationRecord",
    "ObservationRow", "OpenResult", "PeriodSummary", "PruneResult", "PruneTask", "ReportRecord",
    "ReportRow", "RetentionSettings", "RunRecord", "RunRow", "SetActiveModel", "Store",
    "StoreError", "StoreWriter", "WriterConfig", "WriterStatus", "WriterTask", "active_model",
    "clips_to_label", "connect", "day_bounds", "day_view", "events_between", "export_rows",
    "export_selection", "filter_events", "filter_reports", "get_clip", "get_label", "get_run",
    "label_history", "labeled_clips", "list_clips", "list_models", "list_runs", "month_summary",
    "new_id", "observations_between", "observations_of_event", "open_database", "period_summary",
    "prune", "reports_of_event", "search_events", "search_reports", "week_summary",
]
