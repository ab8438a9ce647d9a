"""Downsampling and event records: what the pipeline hands to the store."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fakes import make_observation

from purrsight_app.pipeline.downsample import ObservationDownsampler, db_to_linear, head_layout
from purrsight_app.pipeline.event_book import EventBook


def test_downsampler_emits_one_averaged_record_per_second() -> None:
    ds = ObservationDownsampler(1.0)
    records = []
    for i in range(50):  # 10 windows/s for 5 s
        state = "playful" if i % 10 < 7 else "anxious"
        r = ds.add(100.0 + i / 10, make_observation(state=state, conf=0.9), None)
        if r is not None:
            records.append(r)
    tail = ds.flush()
    assert tail is not None
    records.append(tail)
    assert len(records) == 5
    assert [math.floor(r.ts) for r in records] == [100, 101, 102, 103, 104]
    assert all(r.affective_state == "playful" for r in records)  # majority mass wins
    k = len(head_layout())
    assert records[0].head_probs.shape == (k,)
    assert np.linalg.norm(records[0].embedding) == pytest.approx(1.0, abs=1e-5)


def test_event_change_starts_a_new_bucket() -> None:
    ds = ObservationDownsampler(1.0)
    assert ds.add(10.0, make_observation(), None) is None
    r = ds.add(10.5, make_observation(), "ev")
    assert r is not None and r.event_id is None
    assert ds.flush().event_id == "ev"


def test_missing_modality_scores_are_stored_as_zero() -> None:
    ds = ObservationDownsampler()
    ds.add(1.0, make_observation(cat_visible=math.nan, cat_heard=0.8, level_db=-20), None)
    rec = ds.flush()
    assert rec.cat_visible == 0.0 and rec.cat_heard == pytest.approx(0.8)
    assert rec.audio_level == pytest.approx(db_to_linear(-20))


def test_event_book_dominant_state_embedding_and_risk() -> None:
    book = EventBook("cam")
    book.open("e", 5.0)
    for state in ["content", "content", "anxious"]:
        book.add("e", make_observation(state=state))
    rec = book.close("e", 9.0)
    assert (rec.dominant_state, rec.end, rec.source) == ("content", 9.0, "cam")
    assert rec.embedding is not None and rec.embedding.shape == (512,)
    assert book.note_risk("e", 3).max_risk == 3
    assert book.note_risk("e", 2) is None  # never lowers the max
    book.forget("e")
    assert book.snapshot("e") is None
