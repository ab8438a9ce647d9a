"""The single writer: one thread owns the only write connection and drains a queue.

``put`` appends to an unbounded ``SimpleQueue`` and returns at once, so the analysis thread can
never stall on the disk. The writer batches records into one transaction (``batch_size`` items
or ``max_latency_s``, whichever first). When a write fails because of the medium (disk full,
locked, read-only, I/O error) the batch is rolled back and kept, the failure is reported via
``status`` / ``on_status``, and the writer retries every ``retry_interval_s``. A record that
can never be written (e.g. a malformed label) is rejected alone; the rest of its batch commits.
A ``WriterTask`` (e.g. ``PruneTask``) submitted while writes are failing jumps the queue and
runs at once, and the writes are retried right after it: pruning is how a full disk recovers.
"""

from __future__ import annotations

import logging
import math
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

from purrsight_app.storage import ops
from purrsight_app.storage.db import connect
from purrsight_app.storage.errors import classify, describe, is_transient
from purrsight_app.storage.records import ObservationRecord
from purrsight_app.storage.writer_types import WriterConfig, WriterStatus, WriterTask

__all__ = ["StoreWriter", "WriterConfig", "WriterStatus", "WriterTask"]

log = logging.getLogger(__name__)


_Entry = tuple[object, "Future[Any] | None", int]  # (item, future, arrival index)


class _Flush:
    """Queue marker: wake the writer and signal ``done`` once all prior items are handled."""

    def __init__(self) -> None:
        self.done = threading.Event()


_STOP = object()


def _is_task(item: object) -> bool:
    return not ops.supported(item)


class StoreWriter:
    """Queue-fed single writer thread (see module docstring)."""

    def __init__(
        self,
        db_path: str | Path,
        config: WriterConfig | None = None,
        *,
        on_status: Callable[[WriterStatus], None] | None = None,
        connect_fn: Callable[[Path], sqlite3.Connection] | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.config = config or WriterConfig()
        self._on_status = on_status
        self._connect_fn = connect_fn or (lambda p: connect(p))
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._pending: list[_Entry] = []
        self._urgent: list[_Entry] = []  # tasks that arrived while writes were failing
        self._pending_obs = 0
        self._oldest = 0.0  # monotonic time the oldest pending item arrived
        self._waiters: list[tuple[_Flush, int]] = []
        self._received = 0
        self._last_bucket: tuple[float, str | None] | None = None
        self._failing_until = 0.0
        self._stopping = False  # writer side: STOP received
        self._closed = False  # caller side: close() called
        self._conn: sqlite3.Connection | None = None
        self._status = WriterStatus()
        self._status_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="purrsight-store-writer", daemon=True)
        self._thread.start()

    # --- caller side --------------------------------------------------------------------
    def put(self, item: object) -> None:
        """Queue a record (or ``WriterTask``) for writing; never blocks."""
        self._check(item)
        self._queue.put((item, None))

    def submit(self, item: object) -> Future[Any]:
        """Like ``put`` but returns a future resolved when the item is committed (or rejected)."""
        self._check(item)
        fut: Future[Any] = Future()
        self._queue.put((item, fut))
        return fut

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued before this call is committed; False on timeout."""
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout)

    def close(self, timeout: float = 10.0) -> WriterStatus:
        """Flush (one last attempt if failing), stop the thread, return the final status."""
        self._closed = True
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)
        return self.status

    @property
    def status(self) -> WriterStatus:
        with self._status_lock:
            return self._status

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self, item: object) -> None:
        if self._closed:
            raise RuntimeError("StoreWriter is closed")
        if not (ops.supported(item) or isinstance(item, WriterTask)):
            raise TypeError(f"StoreWriter cannot store a {type(item).__name__}")

    # --- writer thread ------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping:
            self._receive(self._wait_time())
            if self._urgent:
                self._run_urgent()
            if self._due():
                self._write_pending()
            self._resolve_waiters()
        self._drain()
        self._run_urgent()
        self._write_pending()  # one last attempt, even while failing
        self._resolve_waiters()
        self._finish()

    def _drain(self) -> None:
        while True:
            try:
                self._accept(self._queue.get_nowait())
            except queue.Empty:
                return

    def _wait_time(self) -> float | None:
        now = time.monotonic()
        if self._pending and self._failing_until > 0:
            return max(0.0, self._failing_until - now)
        if self._pending:
            return max(0.0, self._oldest + self.config.max_latency_s - now)
        return None

    def _receive(self, timeout: float | None) -> None:
        """Move queued items into ``_pending``: block for the first, then drain the rest."""
        try:
            entry = self._queue.get(timeout=timeout) if timeout != 0 else self._queue.get_nowait()
        except queue.Empty:
            return
        limit = 8 * self.config.batch_size
        for _ in range(limit):
            self._accept(entry)
            try:
                entry = self._queue.get_nowait()
            except queue.Empty:
                return
        self._accept(entry)

    def _accept(self, entry: Any) -> None:
        if entry is _STOP:
            self._stopping = True
            return
        if isinstance(entry, _Flush):
            self._waiters.append((entry, self._received))
            return
        item, fut = entry
        index = self._received
        self._received += 1
        if isinstance(item, ObservationRecord) and not self._keep(item):
            self._bump(skipped=1)
            if fut is not None:
                fut.set_result(False)
            return
        if self._failing_until > 0 and _is_task(item):
            self._urgent.append((item, fut, index))  # e.g. a prune that frees the full disk
            return
        if not self._pending:
            self._oldest = time.monotonic()
        self._pending.append((item, fut, index))
        if isinstance(item, ObservationRecord):
            self._pending_obs += 1
            if self._pending_obs > self.config.max_pending_observations:
                self._drop_oldest_observations()

    def _keep(self, obs: ObservationRecord) -> bool:
        """Downsample: first observation of each interval bucket (or of a new event) wins."""
        interval = self.config.min_observation_interval_s
        if interval <= 0:
            return True
        key = (math.floor(obs.ts / interval), obs.event_id)
        if key == self._last_bucket:
            return False
        self._last_bucket = key
        return True

    def _drop_oldest_observations(self) -> None:
        excess = self._pending_obs - self.config.max_pending_observations
        excess = max(excess, self.config.max_pending_observations // 10)
        kept: list[_Entry] = []
        dropped = 0
        for entry in self._pending:
            if dropped < excess and isinstance(entry[0], ObservationRecord):
                dropped += 1
                if entry[1] is not None:
                    entry[1].set_result(False)
                continue
            kept.append(entry)
        self._pending = kept
        self._pending_obs -= dropped
        self._bump(dropped=dropped)

    def _due(self) -> bool:
        if not self._pending:
            return False
        now = time.monotonic()
        if self._failing_until > now:
            return False
        return (
            self._stopping
            or self._failing_until > 0
            or bool(self._waiters)
            or len(self._pending) >= self.config.batch_size
            or now - self._oldest >= self.config.max_latency_s
        )

    def _write_pending(self) -> None:
        """Commit pending items batch by batch until done or a transient failure."""
        while self._pending:
            if _is_task(self._pending[0][0]):
                n_ok = self._run_task()
            else:
                n_ok = self._write_batch(self._next_batch())
            if n_ok is None:
                return
            self._pop(n_ok)
        self._oldest = time.monotonic()
        self._bump()  # refresh the pending count

    def _next_batch(self) -> list[_Entry]:
        batch: list[_Entry] = []
        for entry in self._pending[: self.config.batch_size]:
            if _is_task(entry[0]):
                break
            batch.append(entry)
        return batch

    def _write_batch(self, batch: list[_Entry]) -> int | None:
        """One transaction for the batch; None (items kept) on a transient failure."""
        try:
            conn = self._connection()
            after = self._transaction(conn, [entry[0] for entry in batch])
        except Exception as exc:  # noqa: BLE001 - classified below, never escapes the thread
            if is_transient(exc):
                self._fail(exc)
                return None
            return self._write_one_by_one(batch)
        self._succeed(batch, after)
        return len(batch)

    def _write_one_by_one(self, batch: list[_Entry]) -> int | None:
        """Isolate the bad record(s) of a batch that failed for a non-transient reason."""
        for i, (item, fut, index) in enumerate(batch):
            try:
                after = self._transaction(self._connection(), [item])
            except Exception as exc:  # noqa: BLE001
                if is_transient(exc):
                    self._pop(i)
                    self._fail(exc)
                    return None
                log.error("rejected %s: %s", type(item).__name__, exc)
                self._bump(rejected=1)
                if fut is not None:
                    fut.set_exception(exc)
                continue
            self._succeed([(item, fut, index)], after)
        return len(batch)

    def _transaction(self, conn: sqlite3.Connection, items: list[object]) -> list[ops.AfterCommit]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            after = ops.apply_items(conn, items)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return after

    def _execute_task(self, entry: _Entry) -> bool:
        """Run a task once; False on a transient failure (the writer is then failing).

        Tasks are not retried here: their owner re-issues them (e.g. the next prune tick).
        """
        item, fut, _ = entry
        try:
            result = item.run(self._connection())  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001
            log.error("store task %s failed: %s", type(item).__name__, exc)
            if fut is not None:
                fut.set_exception(exc)
            if is_transient(exc):
                self._fail(exc)
                return False
            return True
        if fut is not None:
            fut.set_result(result)
        return True

    def _run_task(self) -> int | None:
        if not self._execute_task(self._pending[0]):
            self._pop(1)
            return None
        return 1

    def _run_urgent(self) -> None:
        """Run tasks that jumped the queue while failing; retry the writes right after."""
        urgent, self._urgent = self._urgent, []
        for entry in urgent:
            if self._execute_task(entry) and self._failing_until > 0:
                self._failing_until = time.monotonic()

    def _succeed(self, batch: list[_Entry], after: list[ops.AfterCommit]) -> None:
        for action in after:
            try:
                action()
            except OSError as exc:
                log.warning("post-commit file clean-up failed: %s", exc)
        for _, fut, _ in batch:
            if fut is not None:
                fut.set_result(True)
        recovered = self._failing_until > 0
        self._failing_until = 0.0
        self._bump(written=len(batch), ok=True if recovered else None)

    def _fail(self, exc: BaseException) -> None:
        kind = classify(exc)
        log.warning("store write failed (%s): %s", kind, exc)
        self._drop_connection()
        self._failing_until = time.monotonic() + self.config.retry_interval_s
        pending = len(self._pending)
        self._bump(ok=False, kind=kind, message=describe(kind, pending, str(exc)))

    def _pop(self, n: int) -> None:
        popped = self._pending[:n]
        del self._pending[:n]
        self._pending_obs -= sum(isinstance(e[0], ObservationRecord) for e in popped)

    def _resolve_waiters(self) -> None:
        """A flush is done when no item that arrived before it is still pending."""
        first_pending = self._pending[0][2] if self._pending else self._received
        still = []
        for marker, upto in self._waiters:
            if first_pending >= upto:
                marker.done.set()
            else:
                still.append((marker, upto))
        self._waiters = still

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._connect_fn(self.db_path)
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None

    def _finish(self) -> None:
        self._drop_connection()
        self._bump(closed=True)

    def _bump(
        self,
        *,
        written: int = 0,
        skipped: int = 0,
        dropped: int = 0,
        rejected: int = 0,
        ok: bool | None = None,
        kind: str | None = None,
        message: str = "",
        closed: bool = False,
    ) -> None:
        """Update the shared status; notify the callback when health flips or on close."""
        with self._status_lock:
            old = self._status
            new = replace(
                old,
                written=old.written + written,
                skipped=old.skipped + skipped,
                dropped=old.dropped + dropped,
                rejected=old.rejected + rejected,
                pending=len(self._pending) + self._queue.qsize(),
                closed=old.closed or closed,
            )
            if ok is not None:
                new = replace(new, ok=ok, error_kind=None if ok else kind,
                              message="" if ok else message)
            self._status = new
        if self._on_status is not None and (ok is not None or closed or rejected):
            try:
                self._on_status(new)
            except Exception:  # noqa: BLE001 - a UI bug must not kill the writer
                log.exception("writer status callback failed")
