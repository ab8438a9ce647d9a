"""The single writer: batching, flush, downsampling, failures kept and retried, durability."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from purrsight_app.storage import (
    EventRecord,
    LabelRecord,
    ObservationRecord,
    Store,
    StoreWriter,
    WriterConfig,
    WriterStatus,
    connect,
    open_database,
)
from purrsight_app.storage import ops as ops_module

ROOT = Path(__file__).resolve().parents[2]
KEEP_ALL = WriterConfig(min_observation_interval_s=0, retry_interval_s=0.05)


def obs(ts: float, **kw) -> ObservationRecord:
    return ObservationRecord(ts=ts, affective_state="content", vocalization="purr", **kw)


def count(path: Path, table: str = "observations") -> int:
    conn = connect(path, query_only=True)
    try:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return Store.open(tmp_path / "p.db").path


def test_batches_many_records_per_transaction(db: Path):
    commits = []

    def traced(path: Path) -> sqlite3.Connection:
        conn = connect(path)
        conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
        return conn

    writer = StoreWriter(db, WriterConfig(min_observation_interval_s=0, batch_size=100,
                                          max_latency_s=5.0), connect_fn=traced)
    for i in range(1000):
        writer.put(obs(1000.0 + i))
    assert writer.flush(10)
    assert count(db) == 1000
    assert 10 <= len(commits) <= 20  # ~1000 / 100, never one per record
    writer.close()


def test_flush_makes_everything_visible_to_readers(db: Path):
    writer = StoreWriter(db, WriterConfig(min_observation_interval_s=0, max_latency_s=60.0))
    for i in range(10):
        writer.put(obs(float(i)))
    reader = connect(db, query_only=True)
    assert writer.flush(5)  # without flush the 60 s latency would hold the batch back
    assert reader.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 10
    assert writer.status.written == 10 and writer.status.pending == 0
    writer.close()


def test_max_latency_commits_without_flush(db: Path):
    writer = StoreWriter(db, WriterConfig(max_latency_s=0.05))
    writer.put(obs(5.0))
    deadline = time.monotonic() + 3
    while count(db) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert count(db) == 1
    writer.close()


def test_observations_downsampled_to_one_per_second_but_event_change_kept(db: Path):
    writer = StoreWriter(db)  # default: one per second
    for i in range(40):  # 10 s at 4 Hz
        writer.put(obs(100.0 + i * 0.25))
    writer.put(obs(109.9, event_id="ev1"))  # same second as the previous, but a new event
    writer.flush(5)
    status = writer.close()
    assert count(db) == 11
    assert status.skipped == 30 and status.written == 11


def test_future_resolves_on_commit(db: Path):
    with StoreWriter(db, KEEP_ALL) as writer:
        fut = writer.submit(EventRecord(id="e1", start=1.0, end=2.0))
        assert fut.result(5) is True
    assert count(db, "events") == 1


def test_bad_record_is_rejected_alone(db: Path):
    seen: list[WriterStatus] = []
    writer = StoreWriter(db, KEEP_ALL, on_status=seen.append)
    writer.put(obs(1.0))
    bad = writer.submit(LabelRecord(clip_id="c1", values={"ears": "pointy"}))
    writer.put(obs(2.0))
    assert writer.flush(5)
    with pytest.raises(ValueError, match="pointy"):
        bad.result(1)
    assert count(db) == 2 and count(db, "labels") == 0
    assert writer.status.rejected == 1 and writer.status.ok
    assert any(s.rejected == 1 for s in seen)
    writer.close()


def test_rejects_unknown_types_and_use_after_close(db: Path):
    writer = StoreWriter(db)
    with pytest.raises(TypeError):
        writer.put({"ts": 1.0})
    writer.close()
    with pytest.raises(RuntimeError):
        writer.put(obs(1.0))


def test_disk_full_keeps_pending_reports_and_recovers(db: Path):
    """A tiny max_page_count makes SQLite fail with SQLITE_FULL, exactly like a full disk."""
    conns: list[sqlite3.Connection] = []

    def small(path: Path) -> sqlite3.Connection:
        conn = connect(path, check_same_thread=False)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count={pages + 2}")
        conns.append(conn)
        return conn

    seen: list[WriterStatus] = []
    writer = StoreWriter(db, KEEP_ALL, on_status=seen.append, connect_fn=small)
    emb = np.random.default_rng(0).standard_normal(512)
    for i in range(400):
        writer.put(obs(float(i), embedding=emb))
    assert not writer.flush(0.5)  # cannot complete while the "disk" is full
    status = writer.status
    assert not status.ok and status.error_kind == "disk_full"
    assert status.pending > 0 and "disk is full" in status.message.lower()
    assert any(s.error_kind == "disk_full" for s in seen)
    written_before = count(db)
    assert written_before < 400

    # Free space: later connections get no limit; the writer reconnects after a failure.
    def roomy(path: Path) -> sqlite3.Connection:
        return connect(path)

    writer._connect_fn = roomy
    assert writer.flush(10)
    assert count(db) == 400
    assert writer.status.ok and writer.status.pending == 0
    assert seen[-1].ok  # recovery was reported too
    writer.close()


def test_injected_full_error_then_success(db: Path, monkeypatch: pytest.MonkeyPatch):
    real = ops_module.HANDLERS[ObservationRecord]
    failures = {"left": 3}

    def flaky(conn, items):
        if failures["left"]:
            failures["left"] -= 1
            raise sqlite3.OperationalError("database or disk is full")
        return real(conn, items)

    monkeypatch.setitem(ops_module.HANDLERS, ObservationRecord, flaky)
    writer = StoreWriter(db, KEEP_ALL)
    for i in range(50):
        writer.put(obs(float(i)))
    assert writer.flush(10)
    assert count(db) == 50 and writer.status.ok
    writer.close()


def test_locked_database_is_retried(db: Path):
    def impatient(path: Path) -> sqlite3.Connection:
        conn = connect(path)
        conn.execute("PRAGMA busy_timeout=20")
        return conn

    blocker = connect(db)
    blocker.execute("BEGIN IMMEDIATE")
    writer = StoreWriter(db, KEEP_ALL, connect_fn=impatient)
    writer.put(obs(1.0))
    assert not writer.flush(0.3)
    assert writer.status.error_kind == "locked"
    blocker.execute("COMMIT")
    assert writer.flush(5)
    assert count(db) == 1
    writer.close()


def test_pending_cap_drops_only_oldest_observations(db: Path, monkeypatch: pytest.MonkeyPatch):
    def always_full(conn, items):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setitem(ops_module.HANDLERS, ObservationRecord, always_full)
    cfg = WriterConfig(min_observation_interval_s=0, retry_interval_s=60,
                       max_pending_observations=100)
    writer = StoreWriter(db, cfg)
    writer.put(obs(0.0))
    writer.flush(0.3)  # first failure puts the writer into retry mode
    writer.put(EventRecord(id="keep-me", start=0.0))
    for i in range(1, 300):
        writer.put(obs(float(i)))
    writer.flush(0.3)
    status = writer.status
    assert status.dropped >= 190 and status.pending <= 120
    kept = [e[0] for e in writer._pending]
    assert any(isinstance(k, EventRecord) for k in kept)  # never dropped
    obs_ts = [k.ts for k in kept if isinstance(k, ObservationRecord)]
    assert obs_ts == sorted(obs_ts) and obs_ts[-1] == 299.0  # the newest survive
    final = writer.close(timeout=5)
    assert final.closed and final.pending > 0  # reported, not raised


def test_concurrent_producers_lose_nothing(db: Path):
    writer = StoreWriter(db, KEEP_ALL)

    def produce(k: int) -> None:
        for i in range(500):
            writer.put(obs(k * 10_000 + i))

    threads = [threading.Thread(target=produce, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert writer.flush(10)
    assert count(db) == 2000
    writer.close()


KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from purrsight_app.storage import ObservationRecord, Store, WriterConfig
    store = Store.open(sys.argv[1])
    w = store.writer(WriterConfig(min_observation_interval_s=0, batch_size=64,
                                  max_latency_s=0.001))
    i = 0
    while True:
        for _ in range(100):
            w.put(ObservationRecord(ts=float(i), affective_state="content"))
            i += 1
        if i % 1000 == 0 and i <= 3000:
            w.flush()
            print(i, flush=True)
        if i >= 6000:
            os.kill(os.getpid(), signal.SIGKILL)
""")


def test_killed_process_keeps_every_committed_row(tmp_path: Path):
    db = tmp_path / "k.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(db)], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == -9, proc.stderr
    committed = int(proc.stdout.split()[-1])
    assert committed == 3000
    result = open_database(db)
    assert result.corrupt_moved_to is None  # integrity_check passed
    conn = connect(db)
    n = conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
    assert n >= committed
    ts = [r[0] for r in conn.execute("SELECT ts FROM observations ORDER BY ts")]
    assert ts == [float(i) for i in range(n)]  # a prefix: no holes, no torn batch
    agg = conn.execute("SELECT SUM(n) FROM obs_agg WHERE field='affective_state'").fetchone()
    assert agg[0] == n  # aggregate committed atomically with the rows


def test_task_submitted_while_disk_full_jumps_the_queue(db: Path, monkeypatch: pytest.MonkeyPatch):
    real = ops_module.HANDLERS[ObservationRecord]
    disk = {"full": True}

    def handler(conn, items):
        if disk["full"]:
            raise sqlite3.OperationalError("database or disk is full")
        return real(conn, items)

    class FreeSpace:  # stands in for PruneTask
        def run(self, conn):
            disk["full"] = False
            return "freed"

    monkeypatch.setitem(ops_module.HANDLERS, ObservationRecord, handler)
    writer = StoreWriter(db, WriterConfig(min_observation_interval_s=0, retry_interval_s=60))
    for i in range(20):
        writer.put(obs(float(i)))
    assert not writer.flush(0.3) and writer.status.error_kind == "disk_full"
    t0 = time.monotonic()
    assert writer.submit(FreeSpace()).result(5) == "freed"  # did not wait behind the batch
    assert writer.flush(5)
    assert time.monotonic() - t0 < 5  # retried right away, not after the 60 s interval
    assert count(db) == 20 and writer.status.ok
    writer.close()


def test_readers_work_while_the_writer_writes(db: Path):
    from datetime import date, datetime

    from purrsight_app.storage import day_view

    noon = datetime(2024, 3, 5, 12).timestamp()
    writer = StoreWriter(db, WriterConfig(min_observation_interval_s=0, max_latency_s=0.001))
    reader = connect(db, query_only=True)
    seen = []
    for i in range(30):
        for k in range(50):
            writer.put(obs(noon + i * 50 + k))
        seen.append(day_view(reader, date(2024, 3, 5)).observation_count)  # never "locked"
        time.sleep(0.005)
    assert writer.flush(5)
    assert seen == sorted(seen) and seen[-1] > 0
    assert day_view(reader, date(2024, 3, 5)).observation_count == 1500
    writer.close()
