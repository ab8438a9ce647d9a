"""Phase 1 additions: ensembles inside one module, score pooling, class weights, augmented
copies in batches, legacy checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from purrsight_model.align import checkpoint as ckpt
from purrsight_model.align.data import MediaVariant, draw_available, make_batch
from purrsight_model.align.evaluate import embed_all, evaluate_split
from purrsight_model.align.model import AlignModel
from purrsight_model.align.pooling import pool_scores
from purrsight_model.align.train import AlignData, class_weights, train_align
from tests.model.test_align import DIMS, HEADS, synthetic, tiny_cfg


def inputs(b: int = 4, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    frames = torch.randn(b, 3, DIMS.image, generator=g)
    patches = torch.randn(b, 4, DIMS.audio, generator=g)
    scores = torch.rand(b, 4, DIMS.audio_scores, generator=g)
    mask_i, mask_a = torch.ones(b, 3, dtype=torch.bool), torch.ones(b, 4, dtype=torch.bool)
    mask_a[0, 2:] = False
    return frames, mask_i, patches, mask_a, scores


def test_ensemble_keeps_the_single_model_interface() -> None:
    torch.manual_seed(0)
    model = AlignModel(tiny_cfg(ensemble=4), DIMS, HEADS).eval()
    frames, mi, patches, ma, scores = inputs()
    img = model.embed_image(frames, mi)
    aud = model.embed_audio(patches, ma, scores)
    txt = model.embed_text(torch.randn(4, DIMS.text))
    for v in (img, aud, txt):
        assert v.shape == (4, 16)  # cfg.dim, whatever the member count
        assert torch.allclose(v.norm(dim=-1), torch.ones(4), atol=1e-5)
    has = torch.ones(4, dtype=torch.bool)
    logits = model.classify(img, has, aud, has)["affective_state"]
    members = [m.classify(m.embed_image(frames, mi), has, m.embed_audio(patches, ma, scores),
                          has)["affective_state"] for m in model.members]
    mean_prob = torch.stack([torch.softmax(x, -1) for x in members]).mean(0)
    assert torch.allclose(torch.softmax(logits, -1), mean_prob, atol=1e-5)
    cos = (img * aud).sum(-1)  # retrieval similarity = mean of the members' cosines
    member_cos = torch.stack([(m.embed_image(frames, mi) * m.embed_audio(patches, ma, scores))
                              .sum(-1) for m in model.members]).mean(0)
    assert torch.allclose(cos, member_cos, atol=1e-5)


def test_ensemble_must_divide_dim() -> None:
    with pytest.raises(ValueError, match="divide"):
        AlignModel(tiny_cfg(ensemble=3), DIMS, HEADS)


def test_log_mean_max_scores_see_a_call_heard_once() -> None:
    scores = torch.full((2, 4, 3), 0.01)
    scores[0, 1, 2] = 0.9  # one patch of row 0 hears class 2
    mask = torch.ones(2, 4, dtype=torch.bool)
    mask[1, 3] = False
    scores[1, 3] = 0.99  # padding must not count
    out = pool_scores(scores, mask, "logmeanmax")  # [2, 6]: mean ++ max of log p
    assert out.shape == (2, 6)
    assert out[0, 5] == pytest.approx(np.log(0.9 + 1e-4), abs=1e-5)
    assert out[1, 3:].max() == pytest.approx(np.log(0.01 + 1e-4), abs=1e-5)
    assert torch.allclose(pool_scores(scores, mask, "mean")[1], torch.full((3,), 0.01))


def test_class_weight_floor_tames_tiny_classes() -> None:
    y = np.array([0] * 200 + [1] * 100 + [2] * 3)
    raw = class_weights(y, 4, True)
    floored = class_weights(y, 4, True, floor=0.2)
    assert raw[2] / raw[0] == pytest.approx(200 / 3, rel=1e-4)
    assert floored[2] / floored[0] == pytest.approx(5.0, rel=1e-4)  # count floored at 40
    assert floored[3] == 0 and floored[1] / floored[0] == pytest.approx(2.0, rel=1e-4)
    assert torch.equal(class_weights(y, 4, False), torch.ones(4))


def with_variants(n: int, seed: int, copies: int = 2, image_copies: int = 0):
    """Copy k shifts every feature by 100 k; photos may have more copies than clips."""
    arrays = synthetic(n, seed)
    ok = np.ones(n, bool)
    for k in range(1, max(copies, image_copies) + 1):
        var = MediaVariant(ok, ok & (k <= copies), (arrays.image + 100 * k).astype(np.float16),
                           arrays.image_mask)
        if k <= copies:
            var.audio = (arrays.audio + 100 * k).astype(np.float16)
            var.audio_mask, var.audio_scores = arrays.audio_mask, arrays.audio_scores
        arrays.variants.append(var)
    return arrays


def test_batches_draw_augmented_copies_only_when_training() -> None:
    arrays = with_variants(300, 0, copies=2, image_copies=5)
    idx = np.arange(300)
    plain = make_batch(arrays, idx)
    assert torch.equal(plain.audio, torch.from_numpy(arrays.audio))
    cfg = tiny_cfg(patch_dropout=0.0, modality_dropout=0.0, feature_noise=0.0)
    train = make_batch(arrays, idx, np.random.default_rng(0), cfg)
    shift = (train.audio - plain.audio)[:, 0, 0].round().numpy()  # 0, 100 or 200 per row
    assert set(shift.tolist()) == {0.0, 100.0, 200.0}
    img_shift = (train.image - plain.image)[:, 0, 0].round().numpy()
    assert set(img_shift.tolist()) == {100.0 * k for k in range(6)}  # photos: 5 copies
    assert 30 < (img_shift == 0).sum() < 70  # the original is one of 6 equally likely views
    assert train.audio.dtype == torch.float32


def test_draw_available_only_picks_existing_copies() -> None:
    ok = np.array([[False, False], [True, False], [True, True]])
    picks = np.stack([draw_available(ok, np.random.default_rng(s)) for s in range(200)])
    assert set(picks[:, 0]) == {0} and set(picks[:, 1]) == {0, 1}
    assert set(picks[:, 2]) == {0, 1, 2}


def test_subset_keeps_variants_aligned() -> None:
    arrays = with_variants(10, 1)
    sub = arrays.subset(np.array([7, 2]))
    assert np.allclose(sub.variants[1].image, arrays.image[[7, 2]] + 200, atol=0.2)
    assert sub.variants[0].audio_ok.shape == (2,)


def test_ensemble_with_copies_trains_and_reloads(tmp_path) -> None:
    data = AlignData(with_variants(96, 0), synthetic(48, 1), HEADS)
    cfg = tiny_cfg(ensemble=2, epochs=8, augment_copies=2, score_features="logmeanmax")
    events = list(train_align(cfg, tmp_path, data=data))
    assert events[-1].done
    model = ckpt.load_align_run(tmp_path)
    assert model.n_members == 2
    result = evaluate_split(model, data.val)
    assert result["heads"]["affective_state"]["accuracy"] > 0.8  # chance is 1/3


def test_single_model_checkpoints_from_before_ensembles_still_load(tmp_path) -> None:
    cfg = tiny_cfg()
    model = AlignModel(cfg, DIMS, HEADS)
    legacy = {}
    for key, value in model.state_dict().items():  # the layout before members existed
        key = key.replace("members.0.", "").replace("text_proj.parts.0.", "text_proj.")
        legacy[key] = value
    assert "logit_scale" in legacy and "text_proj.net.0.weight" in legacy
    ckpt.save_model(model, tmp_path)
    blob = torch.load(tmp_path / ckpt.RUN_MARKER, weights_only=False)
    blob["state_dict"] = legacy
    torch.save(blob, tmp_path / ckpt.RUN_MARKER)
    loaded = ckpt.load_align_run(tmp_path)
    arrays = synthetic(8, 2)
    assert np.allclose(embed_all(loaded, arrays).audio, embed_all(model, arrays).audio,
                       atol=1e-6)
