"""LiveSession: the app's live side without Qt — rings, sources, store, pipeline, model.

Start-up order is chosen so the owner sees something at once: sources start immediately (the
GUI paints frames from the rings), while a start-up thread opens the database (integrity
check, migrations), starts the writer and the pipeline, then loads the model (seconds). Each
step that fails becomes a status line instead of an exception. In ``auto`` mode a machine
with neither camera nor microphone falls back to the bundled demo source.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from purrsight_app.capture import (
    AudioRing,
    CameraSource,
    FileSourceConfig,
    FrameRing,
    MicSource,
    Source,
    SourceState,
    SourceStatus,
)
from purrsight_app.clips.recorder import ClipRecorder
from purrsight_app.paths import AppPaths
from purrsight_app.pipeline.live import LivePipeline
from purrsight_app.pipeline.runtime_loader import LoadedRuntime, load_runtime
from purrsight_app.pipeline.sources import SourceSpec, SourceSpecError, build_sources, parse_source
from purrsight_app.settings import Settings
from purrsight_app.storage import (
    ClipRecord,
    Store,
    StoreError,
    StoreWriter,
    WriterStatus,
    active_model,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionOptions:
    paths: AppPaths
    settings: Settings = field(default_factory=Settings)
    source: str | None = None
    """Overrides ``settings.source`` (``--source``)."""
    bundle: str | None = None
    """Overrides ``settings.bundle`` (``--bundle``)."""
    load_model: bool = True
    """False: never try the runtime (tests inject fakes with ``set_models``)."""
    file_config: FileSourceConfig | None = None
    demo_dir: Path | None = None


@dataclass
class SessionCallbacks:
    """Called on worker threads; the UI marshals them to the GUI thread."""

    on_change: Callable[[], None] | None = None
    """Something in ``status_lines()`` or the source list changed."""
    on_ready: Callable[[], None] | None = None
    """Store and pipeline are up (timeline queries may start)."""
    on_clip: Callable[[ClipRecord], None] | None = None
    """A clip was recorded (its row is on the writer's queue)."""


class DiscardSink:
    """Stands in for the writer when the database cannot be opened (counts what it drops)."""

    def __init__(self) -> None:
        self.dropped = 0

    def put(self, item: object) -> None:
        self.dropped += 1


def _source_line(source: Source, state: SourceState) -> str | None:
    """Owner-facing words for a source problem (None when it is running fine)."""
    kind = "camera" if isinstance(source, CameraSource) else (
        "microphone" if isinstance(source, MicSource) else "source")
    status = state.status
    if status is SourceStatus.UNAVAILABLE:
        return f"no {kind}" + (f" ({state.message})" if kind == "source" else "")
    if status in (SourceStatus.LOST, SourceStatus.RECONNECTING):
        return f"{kind} lost — reconnecting"
    if status is SourceStatus.ENDED:
        return "source ended"
    if status is SourceStatus.ERROR:
        return f"{kind} error: {state.message}"
    return None


class LiveSession:
    """Owns the live side of the app (see module docstring)."""

    def __init__(self, options: SessionOptions, callbacks: SessionCallbacks | None = None):
        self.options = options
        self.callbacks = callbacks or SessionCallbacks()
        self.frames = FrameRing()
        self.audio = AudioRing(seconds=30)
        self.sources: list[Source] = []
        self.spec: SourceSpec | None = None
        self.store: Store | None = None
        self.writer: StoreWriter | None = None
        self.pipeline: LivePipeline | None = None
        self.runtime: LoadedRuntime | None = None
        self.clips: ClipRecorder | None = None
        self.ready = threading.Event()
        self._notes: dict[str, str] = {}  # topic -> status line
        self._lock = threading.RLock()
        self._switch_lock = threading.Lock()
        self._startup: threading.Thread | None = None
        self._fallback_started = False

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Start sources now; open the store, pipeline and model on a start-up thread."""
        spec_text = self.options.source or self.options.settings.source
        self.set_source(spec_text)
        self._startup = threading.Thread(target=self._start_up, name="purrsight-startup",
                                         daemon=True)
        self._startup.start()

    def stop(self) -> None:
        """Stop sources, close the open event, finish reports, flush and close the store."""
        if self._startup is not None:
            self._startup.join(30)
        with self._lock:
            sources = list(self.sources)
        for s in sources:
            s.stop()
        if self.pipeline is not None:
            self.pipeline.stop(report_timeout=10)
        if self.clips is not None:
            self.clips.close()
        if self.writer is not None:
            self.writer.close()

    def _start_up(self) -> None:
        self._open_store()
        sink = self.writer if self.writer is not None else DiscardSink()
        spec_label = self.spec.label() if self.spec else ""
        pipeline = LivePipeline(
            self.frames, self.audio, sink, config=self.options.settings.pipeline_config(),
            source_name=spec_label, on_error=lambda m: self._note("analysis", m),
        )
        if self.writer is not None:  # clips are rows: no store, no clips
            self.clips = ClipRecorder(
                self.frames, self.audio, self.writer, self.options.paths,
                config=self.options.settings.clip_config(), source_name=spec_label,
                on_saved=self._clip_saved, on_error=lambda m: self._note("clips", m))
            pipeline.clips = self.clips
            self.clips.start()
        with self._lock:  # models set before the pipeline existed (tests) are applied now
            self.pipeline = pipeline
            if self.runtime is not None:
                pipeline.swap_models(self.runtime.analyzer, self.runtime.reporter)
        pipeline.start()
        self.ready.set()
        self._changed(ready=True)
        if self.options.load_model:
            self._note("model", "loading model…")
            self.set_models(self._load_runtime())

    def _open_store(self) -> None:
        try:
            self.store = Store.open(self.options.paths.db_path)
        except (StoreError, OSError) as exc:
            self._note("store", f"history not saved: {exc}")
            return
        if self.store.notice:
            self._note("store", self.store.notice)
        self.writer = self.store.writer(on_status=self._writer_status)

    def _clip_saved(self, record: ClipRecord) -> None:
        cb = self.callbacks.on_clip
        if cb is not None:
            try:
                cb(record)
            except Exception:  # noqa: BLE001 - a UI bug must not kill the recorder
                log.exception("clip callback failed")

    def _load_runtime(self) -> LoadedRuntime:
        active = None
        if self.store is not None:
            try:
                conn = self.store.reader()
                row = active_model(conn)
                conn.close()
                active = row.path if row is not None else None
            except Exception as exc:  # noqa: BLE001 - a bad row must not stop start-up
                log.warning("cannot read the active model: %s", exc)
        bundle = self.options.bundle or self.options.settings.bundle
        return load_runtime(bundle, self.options.paths.models_dir, active=active)

    def set_models(self, loaded: LoadedRuntime) -> None:
        """Use these models (start-up, tests, or a hot swap after fine-tuning)."""
        with self._lock:
            self.runtime = loaded
            if self.pipeline is not None:
                self.pipeline.swap_models(loaded.analyzer, loaded.reporter)
        self._note("model", loaded.status_line)

    # --- sources ------------------------------------------------------------------------
    def set_source(self, text: str | None) -> SourceSpec | None:
        """Switch to another source; a bad spec becomes a status line (old source stays)."""
        try:
            spec = parse_source(text)
            new = build_sources(spec, self.frames, self.audio, on_status=self._source_status,
                                file_config=self.options.file_config,
                                demo_dir=self.options.demo_dir)
        except SourceSpecError as exc:
            self._note("source", str(exc))
            return None
        with self._switch_lock:  # serialises switches; never held by status callbacks
            self._replace_sources(spec, new)
        return spec

    def _replace_sources(self, spec: SourceSpec, new: list[Source]) -> None:
        with self._lock:
            old, self.sources, self.spec = self.sources, new, spec
        for s in old:  # outside _lock: stopping joins threads whose callbacks take it
            s.stop()
        self.frames.clear()
        self.audio.clear()
        with self._lock:
            for topic in [t for t in self._notes if t.startswith("source")]:
                self._notes.pop(topic)
        if self.pipeline is not None:
            self.pipeline.source_changed(spec.label())
        if self.clips is not None:
            self.clips.set_source(spec.label())
        for s in new:
            s.start()
        self._changed()

    def _source_status(self, source: Source, state: SourceState) -> None:
        line = _source_line(source, state)
        self._note(f"source:{source.name}", line or "")
        if self._should_fall_back():
            self._fallback_started = True
            threading.Thread(target=self._fall_back_to_demo, daemon=True).start()

    def _should_fall_back(self) -> bool:
        with self._lock:
            if self._fallback_started or self.spec is None or self.spec.kind != "auto":
                return False
            return bool(self.sources) and all(
                s.status is SourceStatus.UNAVAILABLE for s in self.sources)

    def _fall_back_to_demo(self) -> None:
        if self.set_source("demo") is not None:
            self._note("source-fallback", "no camera, no microphone — showing the demo")

    # --- status -------------------------------------------------------------------------
    def _writer_status(self, status: WriterStatus) -> None:
        self._note("writer", "" if status.ok else status.message)

    def _note(self, topic: str, line: str) -> None:
        with self._lock:
            if line:
                self._notes[topic] = line
            else:
                self._notes.pop(topic, None)
        self._changed()

    def _changed(self, ready: bool = False) -> None:
        cb = self.callbacks.on_ready if ready else self.callbacks.on_change
        if cb is not None:
            try:
                cb()
            except Exception:  # noqa: BLE001 - a UI bug must not kill a worker thread
                log.exception("session callback failed")

    def status_lines(self) -> list[str]:
        """Current problems and notices, worded for the owner (empty = all fine)."""
        with self._lock:
            return list(dict.fromkeys(self._notes.values()))
