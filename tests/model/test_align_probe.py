"""Linear probes on pooled audio features: fitting, mixing into heads, training run."""

from __future__ import annotations

import numpy as np
import torch

from purrsight_model.align import checkpoint as ckpt
from purrsight_model.align.config import HeadSpec
from purrsight_model.align.data import make_batch
from purrsight_model.align.evaluate import evaluate_split
from purrsight_model.align.model import AlignModel
from purrsight_model.align.probe import (
    CLIP,
    LinearProbe,
    fit_probe,
    inverse_std,
    mix_probs,
    pooled_audio,
)
from purrsight_model.align.train import AlignData, train_align
from tests.model.test_align import CLASSES, DIMS, synthetic, tiny_cfg

HEADS = (HeadSpec("affective_state", "labels", CLASSES),)


def _blobs(n: int, seed: int, classes: int = 3, dim: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(7).standard_normal((classes, dim)) * 3
    y = rng.integers(0, classes, n)
    return centers[y] + rng.standard_normal((n, dim)) * 0.7, y


def test_pooled_audio_is_mean_max_and_log_mean_score_of_real_patches() -> None:
    patches = torch.tensor([[[1.0, 5.0], [3.0, -1.0], [100.0, 100.0]]])  # [1, 3, 2]
    mask = torch.tensor([[True, True, False]])  # the third patch is padding
    scores = torch.tensor([[[0.2], [0.4], [0.9]]])
    out = pooled_audio(patches, mask, scores)[0]
    np.testing.assert_allclose(out[:2], [2.0, 2.0])  # mean
    np.testing.assert_allclose(out[2:4], [3.0, 5.0])  # max
    np.testing.assert_allclose(out[4], np.log(0.3 + 1e-4), rtol=1e-6)
    silent = pooled_audio(patches, torch.zeros_like(mask), scores)[0]
    assert torch.all(silent[:4] == 0)  # no audio: no -1e4 leaking out of the max


def test_fit_probe_learns_separable_classes_and_skips_unseen_ones() -> None:
    x, y = _blobs(300, 0)
    probe = LinearProbe(x.shape[1], 4)  # class 3 never occurs
    assert probe.fitted.item() == 0
    train_acc = fit_probe(probe, x, y, c=1.0)
    xt, yt = _blobs(200, 1)
    with torch.no_grad():
        p = torch.softmax(probe(torch.from_numpy(xt).float()), -1).numpy()
    assert train_acc > 0.9 and (p.argmax(-1) == yt).mean() > 0.9
    assert probe.fitted.item() == 1 and p[:, 3].max() < 1e-6


def test_fit_probe_binary_labels_map_to_the_right_classes() -> None:
    x, y = _blobs(200, 2, classes=2)
    y = np.where(y == 0, 1, 2)  # classes 1 and 2 of a 3-class head
    probe = LinearProbe(x.shape[1], 3)
    fit_probe(probe, x, y, c=1.0)
    with torch.no_grad():
        pred = probe(torch.from_numpy(x).float()).argmax(-1).numpy()
    assert (pred == y).mean() > 0.9


def test_near_constant_features_cannot_blow_up_the_probe() -> None:
    std = np.array([1e-5, 0.5, 0.5, 0.5, 2.0, 1e-7, 2.0])
    inv = inverse_std(std, (4, 3))
    np.testing.assert_allclose(inv[[1, 4]], [2.0, 0.5])
    assert inv[0] == 1 / 0.05 and inv[5] == 1 / 0.2  # floored at 0.1 x the block's median
    x, y = _blobs(200, 3)
    x[:, 0] = 1.0 + np.random.default_rng(0).standard_normal(200) * 1e-7  # never moves...
    probe = LinearProbe(x.shape[1], 3)
    fit_probe(probe, x, y, c=1.0)
    odd = torch.from_numpy(x[:5]).float()
    odd[:, 0] = 50.0  # ...until an owner's room does something new
    with torch.no_grad():
        z = (odd - probe.shift) * probe.scale
        assert z.abs().max() > CLIP and torch.isfinite(probe(odd)).all()
        shift = (probe(odd) - probe(torch.from_numpy(x[:5]).float())).abs().max()
    assert shift <= CLIP * probe.linear.weight[:, 0].abs().max() * 2 + 1e-4


def test_mix_is_a_probability_mixture_and_weight_zero_keeps_the_head() -> None:
    a, b = torch.randn(4, 3), torch.randn(4, 3)
    w = torch.tensor([[0.0], [0.5], [1.0], [0.25]])
    p = torch.exp(mix_probs(a, b, w))
    want = (1 - w) * torch.softmax(a, -1) + w * torch.softmax(b, -1)
    torch.testing.assert_close(p, want)
    torch.testing.assert_close(p[0], torch.softmax(a[0], -1))


def _heads(model: AlignModel, rows, idx) -> tuple[dict, dict]:
    batch = make_batch(rows, idx)
    with torch.no_grad():
        img = model.embed_image(batch.image, batch.image_mask)
        aud = model.embed_audio(batch.audio, batch.audio_mask, batch.audio_scores)
        args = (img, batch.has_image, aud, batch.has_audio)
        media = (batch.audio, batch.audio_mask, batch.audio_scores)
        return model.classify(*args), model.classify_media(*args, *media)


def test_probe_only_acts_when_fitted_and_audio_is_present() -> None:
    model = AlignModel(tiny_cfg(probe_heads=("affective_state",)), DIMS, HEADS).eval()
    rows = synthetic(24, 5, image_only=8)
    plain, mixed = _heads(model, rows, np.arange(24))
    torch.testing.assert_close(mixed["affective_state"].softmax(-1),
                               plain["affective_state"].softmax(-1))  # unfitted: neutral
    probe = model.probes["affective_state"]
    torch.nn.init.normal_(probe.linear.weight)
    probe.fitted.fill_(1.0)
    plain, mixed = _heads(model, rows, np.arange(24))
    p_plain, p_mixed = plain["affective_state"].softmax(-1), mixed["affective_state"].softmax(-1)
    torch.testing.assert_close(p_mixed[:8], p_plain[:8])  # image-only rows: no probe
    assert not torch.allclose(p_mixed[8:], p_plain[8:])


def test_training_run_fits_saves_and_evaluates_the_probe(tmp_path) -> None:
    data = AlignData(synthetic(96, 1, image_only=20), synthetic(48, 2, image_only=8), HEADS)
    events = list(train_align(tiny_cfg(probe_heads=("affective_state",), epochs=2,
                                       probe_c=1.0), tmp_path, data=data))
    assert any("probes" in e.message for e in events) and events[-1].done
    model = ckpt.load_align_run(tmp_path)
    assert model.probes["affective_state"].fitted.item() == 1
    assert ckpt.read_model_blob(tmp_path)["probe_train_accuracy"]["affective_state"] > 0.9
    result = evaluate_split(model, data.val)
    assert result["heads"]["affective_state"]["accuracy"] > 0.8
