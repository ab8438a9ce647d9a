"""Qt-free live pipeline: analysis loop, event tracker, report scheduler, storage downsampling.

The model is reached only through ``AnalyzerLike`` / ``ReporterLike`` (structural protocols);
``runtime_loader.load_runtime`` finds a bundle and loads ``purrsight_model.runtime``'s classes
by name, reporting a reason instead of raising when it cannot.
"""

from purrsight_app.pipeline.analysis_loop import Analysed, AnalysisLoop, LoopConfig, LoopStats
from purrsight_app.pipeline.downsample import ObservationDownsampler, head_layout
from purrsight_app.pipeline.event_book import EventBook
from purrsight_app.pipeline.events import (
    EventEnded,
    EventStarted,
    EventTracker,
    EventUpdated,
    TrackerConfig,
)
from purrsight_app.pipeline.live import LivePipeline, PipelineConfig, PipelineStats
from purrsight_app.pipeline.overlay_state import OverlayConfig, OverlayView, overlay_view
from purrsight_app.pipeline.protocols import (
    AnalyzerLike,
    AudioRingLike,
    ClipListener,
    FrameRingLike,
    ObservationLike,
    RecordSink,
    ReporterLike,
)
from purrsight_app.pipeline.reports import ReportConfig, ReportScheduler, ReportStats
from purrsight_app.pipeline.runtime_loader import LoadedRuntime, find_bundle, load_runtime

__all__ = [
    "Analysed", "AnalysisLoop", "AnalyzerLike", "AudioRingLike", "ClipListener", "EventBook",
    "EventEnded", "EventStarted", "EventTracker", "EventUpdated", "FrameRingLike", "LivePipeline",
    "LoadedRuntime", "LoopConfig", "LoopStats", "ObservationDownsampler", "ObservationLike",
    "OverlayConfig", "OverlayView", "PipelineConfig", "PipelineStats", "RecordSink",
    "ReportConfig", "ReportScheduler", "ReportStats", "ReporterLike", "TrackerConfig",
    "find_bundle", "head_layout", "load_runtime", "overlay_view",
]
