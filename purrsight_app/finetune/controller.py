"""FinetuneController: one fine-tune from export to accepted model, without Qt.

Steps: ``prepare`` exports the labelled clips into ``runs/<run-id>/data/`` (JSONL), ``estimate``
asks the model side for an honest ETA, ``start`` launches ``purrsight-model finetune`` as a
child process (``jobs.Job``) and records the run in the store; ``cancel`` asks it to stop
cleanly (the partial run stays on disk, the row says "cancelled"). Afterwards the owner
``accept``s (bundle installed under ``models/``, registered, then hot-swapped by
``ModelSwitcher``) or ``discard``s (bundle deleted, logs and metrics kept). ``pending`` finds
finished runs an earlier session never offered (``jobs.finished_runs``).

Callbacks come on the job's reader thread; the panel forwards them to the GUI thread.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from purrsight_app.finetune.availability import training_python
from purrsight_app.finetune.estimate import Estimate, run_estimate
from purrsight_app.finetune.plan import FinetunePlan, estimate_args, finetune_args
from purrsight_app.finetune.registry import (
    base_record,
    install_bundle,
    model_id_for,
    new_model_record,
)
from purrsight_app.finetune.results import RunResult, result_from_event
from purrsight_app.finetune.runlog import LOG_FILE, LogTail, append_progress
from purrsight_app.jobs import Job, JobState, finished_runs
from purrsight_app.labels.export import ExportResult, export_labelled
from purrsight_app.labels.splits import SplitConfig
from purrsight_app.paths import AppPaths
from purrsight_app.storage import (
    ClipRow,
    LabelRow,
    RunRecord,
    get_run,
    list_models,
    list_runs,
    new_id,
)
from purrsight_model import Progress

log = logging.getLogger(__name__)

KIND = "finetune"
MIN_ROWS = 8
"""The model side refuses fewer labelled clips (``check_enough``); say so before starting."""
ESTIMATE_DIR = ".estimate"
"""Scratch export for the pre-run estimate (no ``job.json``: never taken for a run)."""


class FinetuneError(RuntimeError):
    """A fine-tune that cannot start or be accepted (the message is for the owner)."""


@dataclass(frozen=True)
class Prepared:
    run_id: str
    run_dir: Path
    export: ExportResult


@dataclass
class JobCallbacks:
    on_event: Callable[[Progress], None] | None = None
    on_exit: Callable[[JobState, RunResult | None], None] | None = None
    on_log: Callable[[list[str]], None] | None = None


class FinetuneController:
    """See module docstring. ``writer()`` returns the store writer (None until open) and
    ``reader()`` a fresh read connection for the calling thread."""

    def __init__(self, paths: AppPaths, writer: Callable[[], object | None],
                 reader: Callable[[], sqlite3.Connection | None], *,
                 module: str = "purrsight_model.cli", env: Mapping[str, str] | None = None,
                 split_config: SplitConfig | None = None) -> None:
        self.paths = paths
        self._writer, self._reader = writer, reader
        self.module, self.env = module, dict(env or {})
        self.split_config = split_config
        self.job: Job | None = None
        self.run: RunRecord | None = None
        self._tail: LogTail | None = None
        self._lock = threading.Lock()

    # --- before the run ---------------------------------------------------------------
    def prepare(self, pairs: Sequence[tuple[ClipRow, LabelRow]]) -> Prepared:
        """Export the labelled clips into a new run folder (blocking, worker thread)."""
        run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + new_id()[:6]
        run_dir = self.paths.runs_dir / run_id
        result = export_labelled(pairs, self.paths.data_dir, run_dir / "data",
                                 self.split_config)
        if result.rows < MIN_ROWS:
            shutil.rmtree(run_dir, ignore_errors=True)
            why = f" ({len(result.skipped)} skipped: {result.skipped[0]})" if result.skipped else ""
            raise FinetuneError(f"{result.rows} usable labelled clips; label at least "
                                f"{MIN_ROWS} to fine-tune{why}")
        return Prepared(run_id, run_dir, result)

    def prepare_estimate(self, pairs: Sequence[tuple[ClipRow, LabelRow]]) -> ExportResult:
        """Export into a scratch folder for ``estimate`` (no run is created)."""
        return export_labelled(pairs, self.paths.data_dir,
                               self.paths.runs_dir / ESTIMATE_DIR / "data", self.split_config)

    def estimate(self, plan: FinetunePlan, align: Path) -> Estimate:
        """Blocking ETA (worker thread); raises ``EstimateError``."""
        return run_estimate(estimate_args(plan, align), module=self.module, env=self.env)

    # --- the run ------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job is not None and self.job.running

    def start(self, plan: FinetunePlan, prepared: Prepared,
              callbacks: JobCallbacks | None = None) -> Job:
        """Launch the child process; raises ``FinetuneError`` if one is already running."""
        if self.running:
            raise FinetuneError("a fine-tune is already running")
        cbs = callbacks or JobCallbacks()
        export = prepared.export
        args = finetune_args(plan, export.align, export.instruct, prepared.run_dir)
        self.run = RunRecord(
            id=prepared.run_id, kind=KIND, status="running",
            config={**plan.to_config(), "rows": export.rows, "splits": export.splits,
                    "skipped": len(export.skipped)},
            started=time.time(), path=str(prepared.run_dir))
        self._put(self.run)
        job = Job(KIND, args, prepared.run_dir, env=self.env, module=self.module,
                  python=training_python(), on_event=lambda e: self._event(prepared.run_dir, e, cbs),
                  on_exit=lambda s: self._exit(prepared.run_dir, s, cbs))
        self.job = job
        job.start()
        if cbs.on_log is not None:
            self._tail = LogTail(prepared.run_dir / LOG_FILE, cbs.on_log)
            self._tail.start()
        return job

    def cancel(self) -> None:
        """Clean stop (SIGTERM): the child writes its partial state and exits."""
        if self.job is not None:
            self.job.cancel()

    def _event(self, run_dir: Path, event: Progress, cbs: JobCallbacks) -> None:
        append_progress(run_dir, event)
        if cbs.on_event is not None:
            cbs.on_event(event)

    def _exit(self, run_dir: Path, state: JobState, cbs: JobCallbacks) -> None:
        if self._tail is not None:
            self._tail.stop()
        result = result_from_event(state.last, run_dir) if state.last else None
        metrics = result.metrics() if result is not None else {}
        if result is not None:
            metrics["message"] = result.message
        if self.run is not None:
            self.run = replace(self.run, status=state.status, finished=state.finished,
                               metrics=metrics)
            self._put(self.run)
        if cbs.on_exit is not None:
            cbs.on_exit(state, result)

    # --- after the run ------------------------------------------------------------------
    def pending(self) -> list[RunResult]:
        """Finished runs not yet accepted or discarded (newest first), e.g. after a restart.
        Also settles rows left "running" by an app that closed mid-run."""
        out = []
        for folder, state in finished_runs(self.paths.runs_dir):
            if state.kind != KIND or not state.last:
                continue
            result = result_from_event(state.last, folder)
            if result.usable:
                out.append(result)
        self._settle_orphans()
        return out

    def _settle_orphans(self) -> None:
        conn = self._reader()
        if conn is None:
            return
        try:
            rows = [r for r in list_runs(conn) if r.kind == KIND and r.status == "running"]
        finally:
            conn.close()
        current = self.run.id if self.running and self.run is not None else None
        for row in rows:
            if row.id == current:
                continue
            state = JobState.load(Path(row.path)) if row.path else None
            if state is not None and state.status == "running":
                continue  # finished_runs saw its process alive (another app instance)
            self._put(RunRecord(row.id, KIND, state.status if state else "failed",
                                row.config, row.metrics, row.started,
                                (state.finished if state else None) or time.time(), row.path))

    def accept(self, result: RunResult, current: Path | None) -> tuple[str, Path]:
        """Install and register the run's bundle (inactive until swapped in); register the
        current model for roll-back if needed. Returns (model id, installed path)."""
        if not result.usable or result.bundle is None:
            raise FinetuneError("this run has no model to use")
        run_id = result.run_dir.name
        conn = self._reader()
        known = list_models(conn) if conn is not None else []
        base = base_record(current, known)
        model_id = model_id_for(run_id)
        path = install_bundle(result.bundle, self.paths.models_dir, model_id)
        if base is not None:
            self._put(base)
        self._put(new_model_record(model_id, path, result.metrics(), run_id))
        self._close_run(result, "accepted", conn, model=model_id)
        return model_id, path

    def discard(self, result: RunResult) -> None:
        """Delete the run's bundle (it can be large); keep its logs and metrics."""
        if result.bundle is not None and result.bundle.is_dir():
            shutil.rmtree(result.bundle, ignore_errors=True)
        self._close_run(result, "discarded", self._reader())

    def _close_run(self, result: RunResult, status: str, conn: sqlite3.Connection | None,
                   **extra: str) -> None:
        state = JobState.load(result.run_dir)
        if state is not None:
            state.offered = True
            state.save(result.run_dir)
        row = get_run(conn, result.run_dir.name) if conn is not None else None
        record = RunRecord(
            id=result.run_dir.name, kind=KIND, status=status,
            config=row.config if row else {}, metrics={**result.metrics(), **extra},
            started=row.started if row else (state.started if state else None),
            finished=row.finished if row else (state.finished if state else None),
            path=str(result.run_dir))
        if self.run is not None and self.run.id == record.id:
            self.run = record
        self._put(record)
        if conn is not None:
            conn.close()

    def _put(self, item: object) -> None:
        writer = self._writer()
        if writer is None:
            log.warning("store not open: %s not recorded", type(item).__name__)
            return
        writer.put(item)  # type: ignore[attr-defined]
