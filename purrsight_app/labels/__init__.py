"""Qt-free labels: save/edit/undo with history, training export/import, label-set summary.

``LabelService`` queues every save on the store writer (history kept, undo possible);
``export_labelled`` writes the alignment + instruction JSONL the fine-tune job reads, with a
stable held-out "test" split; ``import_jsonl`` reads such files back; ``dataset_summary``
counts classes and warns about thin or lopsided label sets.
"""

from purrsight_app.labels.captions import caption, report
from purrsight_app.labels.export import (
    ALIGN_FILE,
    INSTRUCT_FILE,
    ExportError,
    ExportResult,
    export_labelled,
    resolve_clip_path,
)
from purrsight_app.labels.jsonl_import import JsonlImportResult, import_jsonl
from purrsight_app.labels.queries import (
    QueueItem,
    clip_sources,
    dataset_summary,
    label_queue,
    refresh_item,
)
from purrsight_app.labels.service import ClearLabel, LabelService, LabelState, normalise
from purrsight_app.labels.splits import SplitConfig, assign_splits
from purrsight_app.labels.summary import LabelSummary, SummaryConfig, summarise

__all__ = [
    "ALIGN_FILE", "INSTRUCT_FILE", "ClearLabel", "ExportError", "ExportResult",
    "JsonlImportResult", "LabelService", "LabelState", "LabelSummary", "QueueItem",
    "SplitConfig", "SummaryConfig", "assign_splits", "caption", "clip_sources",
    "dataset_summary", "export_labelled", "import_jsonl", "label_queue", "normalise",
    "refresh_item", "report", "resolve_clip_path", "summarise",
]
