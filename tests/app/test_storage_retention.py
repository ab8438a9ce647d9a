"""Retention and the disk guard: oldest observations first, then unlabeled clips, never labels."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from purrsight_app.paths import resolve_paths
from purrsight_app.storage import (
    ClipRecord,
    LabelRecord,
    ObservationRecord,
    PruneTask,
    ReportRecord,
    RetentionSettings,
    Store,
    StoreWriter,
    WriterConfig,
    connect,
    day_view,
    prune,
)
from purrsight_model.schema import Report

NOW = 1_700_000_000.0
DAY = 86_400.0
MB = 1024 * 1024
KEEP_ALL = WriterConfig(min_observation_interval_s=0)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Store]:
    data = tmp_path / "data"
    paths = resolve_paths(data)
    store = Store.open(paths.db_path)
    items: list = []
    for age, n in ((40 * DAY, 10), (10 * DAY, 10), (600.0, 5)):
        items += [ObservationRecord(NOW - age + i, affective_state="content") for i in range(n)]
    for cid, age, labeled in (("labeled", 50 * DAY, True), ("old", 45 * DAY, False),
                              ("mid", 5 * DAY, False), ("new", 60.0, False)):
        rel = f"clips/{cid}.mp4"
        (data / rel).write_bytes(b"v" * 1000)
        (data / f"clips/{cid}.jpg").write_bytes(b"t" * 24)
        items.append(ClipRecord(rel, ts=NOW - age, id=cid, thumbnail_path=f"clips/{cid}.jpg"))
        if labeled:
            items.append(LabelRecord(cid, {"ears": "forward"}))
    items.append(ReportRecord(Report(summary="very old"), ts=NOW - 400 * DAY))
    with StoreWriter(store.path, KEEP_ALL) as w:
        for item in items:
            w.put(item)
        assert w.flush(10)
    return data, store


def _state(db: Path) -> tuple[int, list[str]]:
    conn = sqlite3.connect(db)
    n = conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
    clips = [r[0] for r in conn.execute("SELECT id FROM clips ORDER BY ts")]
    conn.close()
    return n, clips


def test_age_and_clip_budget(setup):
    data, store = setup
    settings = RetentionSettings(keep_observations_days=30, max_clips_gb=2100 / 1024**3,
                                 min_free_disk_mb=0)
    with StoreWriter(store.path) as w:
        result = w.submit(PruneTask(data, settings, now=NOW)).result(10)
    assert result.observations_deleted == 10 and not result.low_disk
    n, clips = _state(store.path)
    assert n == 15
    # 4 x 1024 B > 2100 B: the two oldest UNLABELED clips go; the older labeled one stays.
    assert clips == ["labeled", "new"] and result.clips_deleted == 2
    assert not (data / "clips/old.mp4").exists() and not (data / "clips/mid.jpg").exists()
    assert (data / "clips/labeled.mp4").exists() and (data / "clips/new.mp4").exists()
    conn = store.reader()
    assert conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 1
    # The pruned day still shows its counts (the per-minute aggregate is kept).
    old_day = date.fromtimestamp(NOW - 40 * DAY)
    assert day_view(conn, old_day).observation_count >= 1


def test_disk_guard_prunes_observations_before_clips_and_never_labels(setup):
    data, store = setup
    log: list[tuple[int, list[str]]] = []

    def always_full(path: Path) -> int:
        log.append(_state(store.path))
        return 10 * MB

    settings = RetentionSettings(keep_observations_days=365, max_clips_gb=100,
                                 min_free_disk_mb=500, min_keep_observations_hours=1)
    conn = connect(store.path)
    result = prune(conn, data, settings, now=NOW, free_bytes=always_full)
    n, clips = _state(store.path)
    assert n == 5  # everything older than an hour went; the last hour is kept
    assert clips == ["labeled"]  # only the labeled clip survives
    assert result.low_disk and "labeled clips" in (result.message or "")
    assert result.free_bytes == 10 * MB
    # Order: while any observation older than the floor existed, no clip was deleted.
    for obs_count, clip_ids in log:
        if obs_count > 5:
            assert len(clip_ids) == 4
    # Oldest observations went first: the 10-day-old ones outlived the 40-day-old ones.
    counts = [c for c, _ in log]
    assert 15 in counts


def test_disk_guard_stops_as_soon_as_space_is_back(setup):
    data, store = setup

    def frees_up(path: Path) -> int:
        n, _ = _state(store.path)
        return (2000 if n <= 15 else 10) * MB

    settings = RetentionSettings(keep_observations_days=365, max_clips_gb=100,
                                 min_free_disk_mb=500)
    result = prune(connect(store.path), data, settings, now=NOW, free_bytes=frees_up)
    n, clips = _state(store.path)
    assert n == 15 and len(clips) == 4 and not result.low_disk
    remaining = [r[0] for r in store.reader().execute("SELECT ts FROM observations")]
    assert min(remaining) >= NOW - 10 * DAY  # the 40-day-old ones were the ones removed


def test_prune_with_real_disk_usage_is_harmless(setup):
    data, store = setup
    result = prune(connect(store.path), data, RetentionSettings(min_free_disk_mb=1), now=NOW)
    assert result.free_bytes and result.free_bytes > MB and not result.low_disk


def test_pruning_gives_disk_space_back(tmp_path: Path):
    store = Store.open(tmp_path / "p.db")
    emb = np.ones(256, np.float32)
    with StoreWriter(store.path, KEEP_ALL) as w:
        for i in range(5000):
            w.put(ObservationRecord(NOW - 5000 + i, embedding=emb))
        assert w.flush(10)
    before = store.path.stat().st_size
    conn = connect(store.path)
    prune(conn, tmp_path, RetentionSettings(keep_observations_days=100 / DAY,
                                            min_free_disk_mb=0), now=NOW)
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert store.path.stat().st_size < before / 4  # pages returned, WAL checkpointed
