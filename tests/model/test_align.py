"""Phase 1 on tiny synthetic features: loss masking, missing modalities, NaN guard, stop/resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from purrsight_model.align import checkpoint as ckpt
from purrsight_model.align.config import AlignConfig, HeadSpec
from purrsight_model.align.data import AlignArrays, make_batch
from purrsight_model.align.evidence import head_evidence, run_evidence
from purrsight_model.align.loss import contrastive_loss, info_nce, masked_pair_losses
from purrsight_model.align.model import AlignModel, FeatureDims
from purrsight_model.align.train import AlignData, step_loss, train_align
from purrsight_model.progress import StopFlag, TrainingError

DIMS = FeatureDims(image=12, audio=10, audio_scores=5, text=8)
CLASSES = ("content", "anxious", "aggressive")


def synthetic(n: int, seed: int, image_only: int = 0, audio_only: int = 0) -> AlignArrays:
    """Rows whose features carry their class in a few dims (so a head can learn it)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    shared = np.random.default_rng(99)  # the same class centres for every split
    centers = {k: shared.standard_normal((3, d)).astype(np.float32) * 3 for k, d in
               (("image", DIMS.image), ("audio", DIMS.audio), ("text", DIMS.text))}
    image = centers["image"][y][:, None, :] + rng.standard_normal((n, 3, DIMS.image)) * 0.5
    audio = centers["audio"][y][:, None, :] + rng.standard_normal((n, 4, DIMS.audio)) * 0.5
    text = centers["text"][y] + rng.standard_normal((n, DIMS.text)) * 0.3
    image_mask, audio_mask = np.ones((n, 3), bool), np.ones((n, 4), bool)
    audio_mask[:image_only] = False
    image_mask[image_only : image_only + audio_only] = False
    audio_mask[:, 3] = False  # padding
    return AlignArrays(
        image=image.astype(np.float32), image_mask=image_mask,
        audio=audio.astype(np.float32), audio_mask=audio_mask,
        audio_scores=rng.random((n, 4, DIMS.audio_scores)).astype(np.float32),
        text=text.astype(np.float32), text_mask=np.ones(n, bool),
        targets={"affective_state": y.astype(np.int64)},
        label_keys=[f"affective_state={CLASSES[i]}" for i in y], groups=[""] * n,
    )


def tiny_cfg(**kw) -> AlignConfig:
    base = dict(dim=16, hidden=32, batch_size=16, epochs=6, warmup_steps=2, patience=50,
                lr=5e-3, dropout=0.0, seed=3, threads=1)
    return AlignConfig(**{**base, **kw})


HEADS = (HeadSpec("affective_state", "labels", CLASSES),)


def test_info_nce_prefers_matched_pairs() -> None:
    a = torch.nn.functional.normalize(torch.randn(6, 8), dim=-1)
    matched = info_nce(a, a, torch.tensor(10.0))
    shuffled = info_nce(a, a.roll(1, 0), torch.tensor(10.0))
    assert matched < shuffled


def test_pairs_with_fewer_than_two_rows_are_left_out_not_zero() -> None:
    emb = {m: torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
           for m in ("audio", "image", "text")}
    present = {"audio": torch.tensor([1, 1, 1, 0], dtype=torch.bool),
               "image": torch.tensor([0, 0, 0, 1], dtype=torch.bool),
               "text": torch.ones(4, dtype=torch.bool)}
    pairs = masked_pair_losses(emb, present, torch.tensor(5.0))
    assert set(pairs) == {"audio-text"}  # image has 1 row: image-text and audio-image dropped
    total, parts = contrastive_loss(emb, present, torch.tensor(5.0))
    assert total is not None and float(total) == pytest.approx(parts["audio-text"])


def test_masked_rows_do_not_change_the_pair_loss() -> None:
    emb = {m: torch.nn.functional.normalize(torch.randn(5, 8), dim=-1) for m in ("audio", "text")}
    present = {"audio": torch.tensor([1, 1, 1, 0, 0], dtype=torch.bool),
               "text": torch.ones(5, dtype=torch.bool)}
    full = masked_pair_losses(emb, present, torch.tensor(5.0))["audio-text"]
    emb["audio"][3:] = torch.nan  # garbage in the masked rows must not leak in
    again = masked_pair_losses(emb, present, torch.tensor(5.0))["audio-text"]
    assert torch.isfinite(again) and torch.allclose(full, again)


def test_nan_loss_stops_with_an_error() -> None:
    cfg = tiny_cfg()
    model = AlignModel(cfg, DIMS, HEADS)
    arrays = synthetic(8, 0)
    arrays.text[:] = np.nan
    batch = make_batch(arrays, np.arange(8))
    weights = {"affective_state": torch.ones(3)}
    with pytest.raises(TrainingError, match="not finite"):
        step_loss(model, batch, cfg, weights)


def test_single_modality_rows_classify_and_train(tmp_path) -> None:
    data = AlignData(synthetic(96, 1, image_only=30, audio_only=30), synthetic(48, 2, 16, 16),
                     HEADS)
    events = list(train_align(tiny_cfg(), tmp_path, data=data))
    assert events[-1].done and "finished" in events[-1].message
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["heads"]["affective_state"]["accuracy"] > 0.8
    assert metrics["evidence"] == {"affective_state": ["image", "audio"]}
    assert metrics["retrieval"]["text->audio"]["label_R@1"] > 0.6
    assert (tmp_path / "plots" / "confusion_affective_state.png").stat().st_size > 1000
    model = ckpt.load_align_run(tmp_path)
    val = synthetic(48, 2, image_only=48)  # audio missing everywhere
    batch = make_batch(val, np.arange(48))
    img = model.embed_image(batch.image, batch.image_mask)
    aud = torch.zeros_like(img)
    with torch.no_grad():
        logits = model.classify(img, batch.has_image, aud, batch.has_audio)["affective_state"]
    acc = (logits.argmax(-1).numpy() == val.targets["affective_state"]).mean()
    assert acc > 0.8


def test_stop_keeps_partial_run_and_resume_continues(tmp_path) -> None:
    data = AlignData(synthetic(64, 4), synthetic(32, 5), HEADS)
    stop = StopFlag()
    seen = []
    for event in train_align(tiny_cfg(epochs=4), tmp_path, data=data, stop=stop):
        seen.append(event)
        if event.metrics.get("epoch") == 1:
            stop.set()
    assert seen[-1].done and "stopped" in seen[-1].message
    assert (tmp_path / "state.pt").exists() and (tmp_path / "model.pt").exists()
    assert not (tmp_path / "metrics.json").exists()
    resumed = list(train_align(tiny_cfg(epochs=4), tmp_path, data=data))
    assert "resumed at epoch 1" in resumed[0].message
    epochs = [e.metrics["epoch"] for e in resumed if "epoch" in e.metrics]
    assert epochs == [2, 3, 4]
    assert (tmp_path / "metrics.json").exists()


def test_training_is_reproducible(tmp_path) -> None:
    data = AlignData(synthetic(48, 6), synthetic(24, 7), HEADS)
    a = [e.loss for e in train_align(tiny_cfg(epochs=2), tmp_path / "a", data=data)]
    b = [e.loss for e in train_align(tiny_cfg(epochs=2), tmp_path / "b", data=data)]
    assert a == b


def test_too_little_data_is_a_clear_error(tmp_path) -> None:
    data = AlignData(synthetic(1, 0), synthetic(1, 1), HEADS)
    with pytest.raises(TrainingError, match="at least 2"):
        list(train_align(tiny_cfg(), tmp_path, data=data))


def test_head_evidence_lists_the_modalities_a_heads_labels_came_with() -> None:
    rows = synthetic(12, 0, image_only=4, audio_only=4)  # rows 0-3 image, 4-7 audio, 8-11 both
    y = np.full(12, -1, np.int64)
    y[4:8] = 1  # labelled on audio-only rows
    rows.targets["arousal"] = y
    rows.targets["never"] = np.full(12, -1, np.int64)
    assert head_evidence(rows) == {"affective_state": ["image", "audio"], "arousal": ["audio"]}
    y[9] = 0  # one labelled row with both
    assert head_evidence(rows)["arousal"] == ["image", "audio"]


def test_a_fine_tuned_run_keeps_its_bases_evidence(tmp_path) -> None:
    rows = synthetic(8, 0, image_only=8)  # the owner's rows: photos only
    base = tmp_path / "base"
    base.mkdir()
    assert run_evidence(rows, None) == {"affective_state": ["image"]}
    assert run_evidence(rows, base) == {}  # a base without a record: claim nothing
    ckpt.write_metrics(base, {"evidence": {"affective_state": ["audio"], "arousal": ["audio"]}})
    assert run_evidence(rows, base) == {"affective_state": ["image", "audio"],
                                        "arousal": ["audio"]}
