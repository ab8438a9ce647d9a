"""Storage benchmark: StoreWriter insert rate and day-view latency over N synthetic observations.

    python benchmarks/storage.py                     # 1,000,000 observations in a temp dir
    python benchmarks/storage.py --n 200000 --db /tmp/bench.db --keep

Observations are 1 s apart (what the pipeline stores), with a 256-d embedding and 20 head
probabilities like the live app; ~1 event per 10 minutes with a report each. Prints the insert
rate, put() latency (the analysis thread's cost), the day-view p50/p95 and the ratio of the p50
to the 200 ms target, plus the file size and the integrity-check time at open.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from purrsight_app.storage import (  # noqa: E402
    EventRecord,
    ObservationRecord,
    ReportRecord,
    Store,
    WriterConfig,
    day_view,
)
from purrsight_app.storage.db import check_integrity  # noqa: E402
from purrsight_model.schema import AFFECTIVE_STATE, AROUSAL, VOCALIZATION, Report  # noqa: E402

TARGET_MS = 200.0


def make_records(n: int, start: float, dim: int) -> list[object]:
    """Observations 1 s apart, plus an event and a report every 600 s."""
    rng = np.random.default_rng(0)
    embs = [rng.standard_normal(dim).astype(np.float32) for _ in range(64)]  # [dim] each
    probs = [rng.random(20).astype(np.float32) for _ in range(64)]  # [20] each
    rnd = random.Random(0)
    out: list[object] = []
    for i in range(n):
        ts = start + i
        event = f"ev{i // 600}"
        out.append(ObservationRecord(
            ts=ts, event_id=event, affective_state=rnd.choice(AFFECTIVE_STATE),
            affective_conf=rnd.random(), vocalization=rnd.choice(VOCALIZATION),
            vocalization_conf=rnd.random(), arousal=rnd.choice(AROUSAL), arousal_conf=0.5,
            cat_visible=rnd.random(), cat_heard=rnd.random(), audio_level=0.01,
            head_probs=probs[i % 64], embedding=embs[i % 64],
        ))
        if i % 600 == 599:
            out.append(EventRecord(event, ts - 599, ts, "bench", rnd.choice(AFFECTIVE_STATE),
                                   rnd.choice(VOCALIZATION), rnd.randint(1, 5), embs[i % 64]))
            out.append(ReportRecord(Report(risk=str(rnd.randint(1, 5)),
                                           summary="The cat rested and purred."),
                                    ts=ts, event_id=event))
    return out


def insert(store: Store, records: list[object]) -> tuple[float, list[float]]:
    """Put everything through one StoreWriter; return (seconds to durable, put latencies)."""
    writer = store.writer(WriterConfig(batch_size=2000))
    lat: list[float] = []
    t0 = time.perf_counter()
    for k, rec in enumerate(records):
        if k % 1000 == 0:
            a = time.perf_counter()
            writer.put(rec)
            lat.append(time.perf_counter() - a)
        else:
            writer.put(rec)
    ok = writer.flush(timeout=3600)
    elapsed = time.perf_counter() - t0
    status = writer.close()
    assert ok and status.ok, status
    return elapsed, lat


def time_day_views(store: Store, first: float, n_days: int, reps: int) -> list[float]:
    conn = store.reader()
    days = sorted({date.fromtimestamp(first + 86_400 * d + 3600) for d in range(n_days)})
    times = []
    for _ in range(reps):
        for day in days:
            t = time.perf_counter()
            view = day_view(conn, day)
            times.append((time.perf_counter() - t) * 1000)
            assert view.observation_count > 0
    return times


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="observations to insert")
    ap.add_argument("--dim", type=int, default=256, help="embedding dimension")
    ap.add_argument("--db", type=Path, default=None, help="database file (default: temp)")
    ap.add_argument("--reps", type=int, default=5, help="day-view repetitions per day")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = ap.parse_args(argv)

    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory()
        args.db = Path(tmp.name) / "bench.db"
    start = time.time() - args.n - 3600  # history ends an hour ago
    store = Store.open(args.db)
    t = time.perf_counter()
    records = make_records(args.n, start, args.dim)
    print(f"built {len(records):,} records in {time.perf_counter() - t:.1f} s")

    elapsed, lat = insert(store, records)
    del records
    lat_us = sorted(x * 1e6 for x in lat)
    print(f"insert: {args.n:,} observations durable in {elapsed:.1f} s -> "
          f"{args.n / elapsed:,.0f} obs/s through StoreWriter")
    print(f"put(): p50 {lat_us[len(lat_us) // 2]:.1f} us, p99 {lat_us[int(len(lat_us) * .99)]:.1f} us")

    n_days = max(1, int(args.n // 86_400))
    times = time_day_views(store, start, n_days, args.reps)
    p50 = statistics.median(times)
    p95 = sorted(times)[int(0.95 * (len(times) - 1))]
    print(f"day_view over {args.n:,} observations ({n_days} full days, {len(times)} queries): "
          f"p50 {p50:.2f} ms, p95 {p95:.2f} ms, p50/target = {p50 / TARGET_MS:.3f} "
          f"(target {TARGET_MS:.0f} ms)")

    size = sum(p.stat().st_size for p in args.db.parent.glob(args.db.name + "*"))
    print(f"file size: {size / 1e6:.0f} MB ({size / args.n:.0f} B/observation incl. indexes)")
    for mode in ("integrity", "quick"):
        t = time.perf_counter()
        problem = check_integrity(args.db, mode)  # type: ignore[arg-type]
        print(f"{mode}_check at open: {time.perf_counter() - t:.2f} s ({problem or 'ok'})")
    if tmp is not None and not args.keep:
        tmp.cleanup()


if __name__ == "__main__":
    main()
