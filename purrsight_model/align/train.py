"""Phase 1 training loop: InfoNCE alignment + overlay/task heads on cached features."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from purrsight_model.align import checkpoint as ckpt
from purrsight_model.align.config import AlignConfig, HeadSpec
from purrsight_model.align.data import AlignArrays, Batch, feature_std, make_batch
from purrsight_model.align.evaluate import evaluate_split, selection_score
from purrsight_model.align.loss import contrastive_loss
from purrsight_model.align.model import AlignModel, FeatureDims
from purrsight_model.progress import Progress, StopFlag, TrainingError


@dataclass
class AlignData:
    """Train and validation arrays plus the heads they support."""

    train: AlignArrays
    val: AlignArrays
    heads: tuple[HeadSpec, ...]

    @property
    def dims(self) -> FeatureDims:
        t = self.train
        return FeatureDims(t.image.shape[-1], t.audio.shape[-1], t.audio_scores.shape[-1],
                           t.text.shape[-1])


def lr_at(step: int, total: int, cfg: AlignConfig) -> float:
    """Linear warmup then cosine decay to 5% of the peak."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    frac = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


def class_weights(y: np.ndarray, n: int, balance: bool) -> torch.Tensor:
    """Inverse-frequency weights (mean 1 over present classes), or ones."""
    counts = np.bincount(y[y >= 0], minlength=n).astype(np.float32)
    if not balance:
        return torch.ones(n)
    w = np.where(counts > 0, 1.0 / np.maximum(counts, 1), 0.0)
    return torch.from_numpy((w / w[counts > 0].mean()).astype(np.float32))


def step_loss(
    model: AlignModel, batch: Batch, cfg: AlignConfig, weights: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted InfoNCE over present pairs + masked cross-entropy of every head."""
    has_img, has_aud = batch.has_image, batch.has_audio
    img = model.embed_image(batch.image, batch.image_mask)
    aud = model.embed_audio(batch.audio, batch.audio_mask, batch.audio_scores)
    txt = model.embed_text(batch.text)
    embeddings = {"image": img, "audio": aud, "text": txt}
    present = {"image": has_img, "audio": has_aud, "text": batch.text_mask}
    contrast, parts = contrastive_loss(embeddings, present, model.clamped_logit_scale(),
                                       batch.positives)
    total = cfg.contrastive_weight * contrast if contrast is not None else img.sum() * 0.0
    logits = model.classify(img, has_img, aud, has_aud)
    for name, out in logits.items():
        y = batch.targets[name]
        if (y >= 0).any():
            ce = F.cross_entropy(out, y, weight=weights[name], ignore_index=-1,
                                 label_smoothing=cfg.label_smoothing)
            total = total + cfg.head_weight * ce
            parts[f"ce_{name}"] = float(ce.detach())
    if not torch.isfinite(total):
        raise TrainingError(f"loss is not finite ({parts}); stopping the run")
    return total, parts


def train_align(
    cfg: AlignConfig,
    out_dir: str | Path,
    *,
    data: AlignData | None = None,
    stop: StopFlag | None = None,
) -> Iterator[Progress]:
    """Train Phase 1, yielding progress; resumes from ``out_dir/state.pt`` if present.

    ``data`` defaults to the arrays built from ``cfg.data`` + ``cfg.cache``. On ``stop``
    the latest state and the best model so far are kept and a final ``done`` event says so.
    """
    out = Path(out_dir)
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    if data is None:
        from purrsight_model.align.dataset import load_align_data

        data = load_align_data(cfg)
    if len(data.train) < 2:
        raise TrainingError(f"Phase 1 needs at least 2 training rows, got {len(data.train)}")
    ckpt.write_config(cfg, out)
    model = AlignModel(cfg, data.dims, data.heads)
    if cfg.base:
        _init_from_base(model, cfg.base)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(data.train) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    state = {"epoch": 0, "step": 0, "best": -1.0, "bad_epochs": 0}
    saved = ckpt.load_state(out)
    if saved is not None:
        model.load_state_dict(saved["state_dict"])
        optimizer.load_state_dict(saved["optimizer"])
        state = {k: saved[k] for k in state}
        yield Progress("align", state["step"], total, message=f"resumed at epoch {state['epoch']}")
    weights = {h.name: class_weights(data.train.targets[h.name], len(h.classes),
                                     cfg.balance_classes) for h in data.heads}
    std = feature_std(data.train)
    while state["epoch"] < cfg.epochs:
        rng = np.random.default_rng(cfg.seed * 1000 + state["epoch"])
        model.train()
        order = rng.permutation(len(data.train))
        last_loss = float("nan")
        for start in range(0, len(order), cfg.batch_size):
            if stop is not None and stop.is_set():
                ckpt.save_state(out, model, optimizer, **state)
                yield Progress("align", state["step"], total, done=True,
                               message="stopped on request; partial run kept")
                return
            idx = order[start : start + cfg.batch_size]
            if len(idx) < 2:
                continue
            for group in optimizer.param_groups:
                group["lr"] = lr_at(state["step"], total, cfg)
            loss, parts = step_loss(model, make_batch(data.train, idx, rng, cfg, std), cfg, weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            state["step"] += 1
            last_loss = float(loss.detach())
            yield Progress("align", state["step"], total, loss=last_loss)
        yield from _end_epoch(model, optimizer, data, out, state, total, last_loss)
        if state["bad_epochs"] >= cfg.patience:
            break
    yield from _finish(out, data, total, state)


def _end_epoch(model, optimizer, data, out, state, total, last_loss) -> Iterator[Progress]:
    result = evaluate_split(model, data.val) if len(data.val) else {"heads": {}, "retrieval": {}}
    score = selection_score(result)
    state["epoch"] += 1
    improved = score > state["best"] + 1e-4
    if improved:
        state["best"], state["bad_epochs"] = score, 0
        ckpt.save_model(model, out, {"val_score": score, "epoch": state["epoch"]})
    else:
        state["bad_epochs"] += 1
    ckpt.save_state(out, model, optimizer, **state)
    summary = _summary(result)
    ckpt.append_log(out, {"epoch": state["epoch"], "step": state["step"], "loss": last_loss,
                          "val_score": score, **summary})
    yield Progress("align", state["step"], total, loss=last_loss,
                   metrics={"epoch": state["epoch"], "val_score": score, **summary},
                   message="new best" if improved else "")


def _summary(result: dict) -> dict[str, float]:
    flat = {f"{h}_macro_f1": r["macro_f1"] for h, r in result["heads"].items()}
    flat.update({f"{h}_acc": r["accuracy"] for h, r in result["heads"].items()})
    flat.update({f"{k}_R@1": r["R@1"] for k, r in result["retrieval"].items()})
    return flat


def _finish(out: Path, data: AlignData, total: int, state: dict) -> Iterator[Progress]:
    from purrsight_model.align.report import write_run_report

    model = ckpt.load_align_run(out)
    final = evaluate_split(model, data.val) if len(data.val) else {"heads": {}, "retrieval": {}}
    final["best_epoch"] = state["epoch"] - state["bad_epochs"]
    final["train_rows"], final["val_rows"] = len(data.train), len(data.val)
    ckpt.write_metrics(out, final)
    write_run_report(out, final)
    yield Progress("align", state["step"], total, metrics=_summary(final), done=True,
                   message=f"finished; best epoch {final['best_epoch']}")


def _init_from_base(model: AlignModel, base: str) -> None:
    """Start from an earlier run's weights (heads whose classes changed start fresh)."""
    previous = ckpt.load_align_run(base)
    own = model.state_dict()
    compatible = {k: v for k, v in previous.state_dict().items()
                  if k in own and own[k].shape == v.shape}
    model.load_state_dict(compatible, strict=False)
