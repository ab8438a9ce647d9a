"""FrameRing and AudioRing: contents, timing, no torn reads under concurrency, no allocation."""

from __future__ import annotations

import threading
import time
import tracemalloc

import numpy as np
import pytest

from purrsight_app.capture import AudioRing, FrameRing, rms, rms_dbfs


def frame(value: int, shape=(48, 64, 3)) -> np.ndarray:
    return np.full(shape, value % 256, dtype=np.uint8)


# --- FrameRing -------------------------------------------------------------------------
def test_frame_ring_latest_since_and_wrap():
    ring = FrameRing(capacity=4)
    assert ring.latest() is None and ring.since(0) == [] and ring.seq == 0
    for i in range(1, 7):
        ring.push(frame(i), ts=float(i))
    latest = ring.latest()
    assert latest is not None and latest.seq == 6 and latest.ts == 6.0
    assert latest.image[0, 0, 0] == 6
    assert len(ring) == 4
    assert [f.ts for f in ring.since(0)] == [3.0, 4.0, 5.0, 6.0]  # only the newest 4 kept
    assert [f.ts for f in ring.since(4.0)] == [5.0, 6.0]  # strictly newer than t
    assert [f.seq for f in ring.since(4.0)] == [5, 6]
    assert ring.latest_ts() == 6.0
    ring.clear()
    assert ring.latest() is None and ring.seq == 6


def test_frame_ring_copies_in_and_out():
    ring = FrameRing(capacity=3)
    src = frame(1)
    ring.push(src, ts=1.0)
    src[:] = 99  # the camera reuses its buffer
    out = ring.latest()
    assert out.image[0, 0, 0] == 1
    out.image[:] = 7  # the reader scribbles on its copy
    assert ring.latest().image[0, 0, 0] == 1
    view = ring.latest(copy=False).image  # zero-copy for an immediate repaint
    assert np.shares_memory(view, ring._slots[0])


def test_frame_ring_handles_size_changes():
    ring = FrameRing(capacity=3)
    ring.push(frame(1, (10, 10, 3)), ts=1.0)
    ring.push(frame(2, (20, 30, 3)), ts=2.0)
    shapes = [f.image.shape for f in ring.since(0)]
    assert shapes == [(10, 10, 3), (20, 30, 3)]


def test_frame_ring_push_reuses_slots_without_allocating():
    ring = FrameRing(capacity=4)
    img = frame(0, (480, 640, 3))  # 921 kB
    for i in range(4):
        ring.push(img, ts=float(i))  # first lap allocates the slots
    slot_ids = [id(s) for s in ring._slots]
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for i in range(40):
        ring.push(img, ts=float(i))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak - base < 64_000  # far below one frame: nothing is allocated per push
    assert [id(s) for s in ring._slots] == slot_ids


def test_frame_ring_concurrent_writer_and_readers_never_see_torn_frames():
    ring = FrameRing(capacity=8)
    n = 3000
    errors: list[str] = []
    reads: list[int] = []
    done = threading.Event()

    def writer():
        for i in range(1, n + 1):
            ring.push(frame(i, (60, 80, 3)), ts=float(i))
        done.set()

    def reader():
        last_seq = 0
        while not done.is_set():
            f = ring.latest()
            if f is not None:
                if f.seq < last_seq:
                    errors.append("seq went backwards")
                last_seq = f.seq
                if not (f.image == f.seq % 256).all() or f.ts != float(f.seq):
                    errors.append(f"torn frame at seq {f.seq}")
            frames = ring.since(0)
            if [x.ts for x in frames] != sorted(x.ts for x in frames):
                errors.append("since() out of order")
            for x in frames:
                if not (x.image == int(x.ts) % 256).all():
                    errors.append("torn frame in since()")
            reads.append(1)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader)
                                                   for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors[:5]
    assert ring.seq == n and len(reads) > 20  # the readers really overlapped the writer


# --- AudioRing -------------------------------------------------------------------------
def ramp(start: int, n: int) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.float32)


def test_audio_ring_read_last_across_wraps():
    ring = AudioRing(seconds=0.1, sample_rate=1000)  # 100 samples
    rng = np.random.default_rng(0)
    pos = 0
    for _ in range(50):
        n = int(rng.integers(1, 70))
        ring.write(ramp(pos, n), ts_end=pos + n)
        pos += n
    np.testing.assert_array_equal(ring.read_last(0.03), ramp(pos - 30, 30))
    np.testing.assert_array_equal(ring.read_last(5.0), ramp(pos - 100, 100))  # capped
    assert ring.total_samples == pos and ring.available == 100


def test_audio_ring_read_last_into_pads_and_does_not_allocate():
    ring = AudioRing(seconds=1.0, sample_rate=1000)
    ring.write(ramp(1, 10), ts_end=1.0)
    out = np.full(16, -1.0, dtype=np.float32)
    assert ring.read_last_into(out) == 10
    np.testing.assert_array_equal(out, np.r_[np.zeros(6), ramp(1, 10)].astype(np.float32))


def test_audio_ring_block_longer_than_capacity_and_2d_input():
    ring = AudioRing(seconds=0.01, sample_rate=1000)  # 10 samples
    ring.write(ramp(0, 25)[:, None], ts_end=25.0)  # [n, 1] like a PortAudio callback
    np.testing.assert_array_equal(ring.read_last(1.0), ramp(15, 10))
    ring.write(ramp(25, 3), ts_end=28.0)
    np.testing.assert_array_equal(ring.read_last(1.0), ramp(18, 10))
    stereo = np.stack([ramp(0, 4), ramp(0, 4) + 2], axis=1)  # [4, 2]
    ring.write(stereo, ts_end=30.0)
    np.testing.assert_array_equal(ring.read_last(0.004), ramp(1, 4))  # channel mean


def test_audio_ring_read_since_uses_block_timestamps():
    ring = AudioRing(seconds=10, sample_rate=1000)
    ring.write(np.zeros(1000, np.float32), ts_end=101.0)  # samples cover 100.0 .. 101.0
    ring.write(np.ones(500, np.float32), ts_end=101.5)
    samples, t0 = ring.read_since(100.75)
    assert samples.shape[0] == 750 and t0 == pytest.approx(100.75)
    assert samples[:250].sum() == 0 and samples[250:].sum() == 500
    assert ring.read_since(200.0)[0].size == 0
    assert ring.read_since(0.0)[0].size == 1500  # everything held


def test_levels():
    t = np.arange(16000) / 16000
    sine = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    assert rms(sine) == pytest.approx(1 / np.sqrt(2), rel=1e-3)
    assert rms_dbfs(sine) == pytest.approx(-3.01, abs=0.02)
    assert rms_dbfs(np.zeros(10, np.float32)) == -100.0 and rms(np.zeros(0)) == 0.0
    ring = AudioRing(seconds=2)
    ring.write(0.5 * sine)
    assert ring.level(0.5) == pytest.approx(0.5 / np.sqrt(2), rel=1e-2)


def test_audio_ring_write_allocates_nothing():
    ring = AudioRing(seconds=5)
    block = np.ones((16000, 1), dtype=np.float32)  # 64 kB, like a PortAudio [n, 1] buffer
    ring.write(block)
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for _ in range(50):
        ring.write(block, ts_end=1.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak - base < 8_000


def test_audio_ring_concurrent_writer_and_readers_see_contiguous_audio():
    ring = AudioRing(seconds=0.5, sample_rate=16000)
    errors: list[str] = []
    reads: list[int] = []
    done = threading.Event()
    start = threading.Barrier(4)  # readers must be running before the writer starts

    def writer():
        start.wait(10)
        pos = 0
        for i in range(4000):
            ring.write(ramp(pos, 160), ts_end=float(pos + 160))
            pos += 160
            if i % 100 == 0:
                time.sleep(0.001)  # let readers in even on a loaded machine
        done.set()

    def reader():
        buf = np.empty(1600, np.float32)
        start.wait(10)
        while not done.is_set():
            n = ring.read_last_into(buf)
            tail = buf[buf.shape[0] - n:]
            if n > 1 and not (np.diff(tail) == 1).all():
                errors.append("torn read")
            x, _ = ring.read_since(ring.end_ts - 500)
            if x.size > 1 and not (np.diff(x) == 1).all():
                errors.append("torn read_since")
            reads.append(n)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader)
                                                   for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors[:5]
    assert ring.total_samples == 640_000 and sum(r > 0 for r in reads) > 20
