"""Phase 1 training loop: InfoNCE alignment + overlay/task heads on cached features."""

from __future__ import annotations

import copy
import logging
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
from purrsight_model.align.evidence import run_evidence
from purrsight_model.align.loss import contrastive_loss
from purrsight_model.align.model import AlignModel, FeatureDims
from purrsight_model.align.probe import fit_probe, pooled_audio
from purrsight_model.progress import Progress, StopFlag, TrainingError

log = logging.getLogger(__name__)


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


def class_weights(y: np.ndarray, n: int, balance: bool, floor: float = 0.0) -> torch.Tensor:
    """Inverse-frequency weights (mean 1 over present classes), or ones.

    Counts are floored at ``floor`` x the largest count first: without it 3 rows of a rare
    class weigh as much as 224 of a common one and the head learns to call meows trills.
    """
    counts = np.bincount(y[y >= 0], minlength=n).astype(np.float32)
    if not balance or not (counts > 0).any():
        return torch.ones(n)
    floored = np.maximum(counts, floor * counts.max())
    w = np.where(counts > 0, 1.0 / np.maximum(floored, 1), 0.0)
    return torch.from_numpy((w / w[counts > 0].mean()).astype(np.float32))


def member_loss(model: AlignModel, i: int, batch: Batch, cfg: AlignConfig,
                weights: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted InfoNCE over present pairs + masked cross-entropy of every head, for member
    ``i`` on its own slice of the aligned space (members learn independently)."""
    member = model.members[i]
    has_img, has_aud = batch.has_image, batch.has_audio
    img = _on_present(has_img, lambda r: member.embed_image(batch.image[r], batch.image_mask[r]))
    aud = _on_present(has_aud, lambda r: member.embed_audio(
        batch.audio[r], batch.audio_mask[r], batch.audio_scores[r]))
    txt = model.text_proj.parts[i](batch.text)
    embeddings = {"image": img, "audio": aud, "text": txt}
    present = {"image": has_img, "audio": has_aud, "text": batch.text_mask}
    contrast, parts = contrastive_loss(embeddings, present, member.clamped_logit_scale(),
                                       batch.positives)
    total = cfg.contrastive_weight * contrast if contrast is not None else img.sum() * 0.0
    logits = member.classify(img, has_img, aud, has_aud)
    for name, out in logits.items():
        y = batch.targets[name]
        if (y >= 0).any():
            ce = F.cross_entropy(out, y, weight=weights[name], ignore_index=-1,
                                 label_smoothing=cfg.label_smoothing)
            total = total + cfg.head_weight * ce
            parts[f"ce_{name}"] = float(ce.detach())
    return total, parts


def _on_present(present: torch.Tensor, embed) -> torch.Tensor:
    """``embed`` run on the rows that have the modality only, zeros elsewhere ([B, d]).

    Most rows lack one modality (photos have no sound, clips no picture); skipping them
    halves the cost of a step and changes nothing: absent rows are masked everywhere."""
    rows = torch.nonzero(present).squeeze(-1)  # [R]
    if len(rows) == len(present):
        return embed(slice(None))
    if len(rows) == 0:
        part = embed(slice(0, 1))  # shapes (and a zero graph) without real rows
        return part.new_zeros((len(present), part.shape[-1])) + part.sum() * 0.0
    part = embed(rows)  # [R, d]
    return part.new_zeros((len(present), part.shape[-1])).index_copy(0, rows, part)


def step_loss(
    model: AlignModel, batch: Batch | list[Batch], cfg: AlignConfig,
    weights: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean over members of ``member_loss``; ``batch`` may hold one batch per member (each
    member then sees its own augmentation draw of the same rows)."""
    batches = batch if isinstance(batch, list) else [batch] * model.n_members
    losses, parts = [], {}
    for i, b in enumerate(batches):
        loss, p = member_loss(model, i, b, cfg, weights)
        losses.append(loss)
        for k, v in p.items():
            parts[k] = parts.get(k, 0.0) + v / len(batches)
    total = torch.stack(losses).mean()
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
    run = _Run(cfg, data, out)
    total = run.total
    if run.resumed:
        yield Progress("align", run.state["step"], total,
                       message=f"resumed at epoch {run.state['epoch']}")
    while run.state["epoch"] < cfg.epochs:
        for event in run.epoch(stop):
            yield event
            if event.done:
                return
        yield from _end_epoch(run.eval_model, run.model, run.optimizer, data, out, run.state,
                              total, run.last_loss, run.ema_state())
        if run.state["bad_epochs"] >= cfg.patience:
            break
    yield from _finish(out, data, total, run.state, cfg)


class _Run:
    """Model, optimiser, optional weight average and counters of one training run."""

    def __init__(self, cfg: AlignConfig, data: AlignData, out: Path) -> None:
        self.cfg, self.data, self.out = cfg, data, out
        self.model = AlignModel(cfg, data.dims, data.heads)
        if cfg.base:
            _init_from_base(self.model, cfg.base)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr,
                                           weight_decay=cfg.weight_decay)
        self.ema = copy.deepcopy(self.model).eval() if cfg.ema > 0 else None
        self.total = math.ceil(len(data.train) / cfg.batch_size) * cfg.epochs
        self.state = {"epoch": 0, "step": 0, "best": -1.0, "bad_epochs": 0}
        self.last_loss = float("nan")
        saved = ckpt.load_state(out)
        self.resumed = saved is not None
        if saved is not None:
            self.model.load_state_dict(saved["state_dict"])
            self.optimizer.load_state_dict(saved["optimizer"])
            if self.ema is not None and saved.get("ema") is not None:
                self.ema.load_state_dict(saved["ema"])
            self.state = {k: saved[k] for k in self.state}
        self.weights = {h.name: class_weights(data.train.targets[h.name], len(h.classes),
                                              cfg.balance_classes, cfg.class_weight_floor)
                        for h in data.heads}
        self.std = feature_std(data.train)

    @property
    def eval_model(self) -> AlignModel:
        return self.ema if self.ema is not None else self.model

    def ema_state(self) -> dict | None:
        return None if self.ema is None else self.ema.state_dict()

    def epoch(self, stop: StopFlag | None) -> Iterator[Progress]:
        """One pass over the training rows (each member draws its own augmentation)."""
        cfg, state = self.cfg, self.state
        rng = np.random.default_rng(cfg.seed * 1000 + state["epoch"])
        self.model.train()
        order = rng.permutation(len(self.data.train))
        for start in range(0, len(order), cfg.batch_size):
            if stop is not None and stop.is_set():
                ckpt.save_state(self.out, self.model, self.optimizer, ema=self.ema_state(),
                                **state)
                yield Progress("align", state["step"], self.total, done=True,
                               message="stopped on request; partial run kept")
                return
            idx = order[start : start + cfg.batch_size]
            if len(idx) < 2:
                continue
            self.last_loss = self.step(idx, rng)
            yield Progress("align", state["step"], self.total, loss=self.last_loss)

    def step(self, idx: np.ndarray, rng: np.random.Generator) -> float:
        cfg = self.cfg
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(self.state["step"], self.total, cfg)
        batches = [make_batch(self.data.train, idx, rng, cfg, self.std)
                   for _ in self.model.members]
        loss, _ = step_loss(self.model, batches, cfg, self.weights)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.state["step"] += 1
        if self.ema is not None:
            update_ema(self.ema, self.model, cfg.ema, self.state["step"])
        return float(loss.detach())


@torch.no_grad()
def update_ema(ema: AlignModel, model: AlignModel, decay: float, step: int) -> None:
    """ema <- d * ema + (1 - d) * model, with d ramping up over the first steps."""
    d = min(decay, (1.0 + step) / (10.0 + step))
    for avg, cur in zip(ema.parameters(), model.parameters(), strict=True):
        avg.lerp_(cur, 1.0 - d)


def _end_epoch(model, trained, optimizer, data, out, state, total, last_loss,
               ema) -> Iterator[Progress]:
    """Validate ``model`` (the weight average if any), keep the best, save the state."""
    result = evaluate_split(model, data.val) if len(data.val) else {"heads": {}, "retrieval": {}}
    score = selection_score(result)
    state["epoch"] += 1
    improved = score > state["best"] + 1e-4 or not len(data.val)  # no val: keep the latest
    if improved:
        state["best"], state["bad_epochs"] = score, 0
        ckpt.save_model(model, out, {"val_score": score, "epoch": state["epoch"]})
    else:
        state["bad_epochs"] += 1
    ckpt.save_state(out, trained, optimizer, ema=ema, **state)
    summary = _summary(result)
    ckpt.append_log(out, {"epoch": state["epoch"], "step": state["step"], "loss": last_loss,
                          "val_score": score, **summary})
    yield Progress("align", state["step"], total, loss=last_loss,
                   metrics={"epoch": state["epoch"], "val_score": score, **summary},
                   message=("kept (no validation rows: refit)" if not len(data.val) else
                            "new best" if improved else ""))


def _summary(result: dict) -> dict[str, float]:
    flat = {f"{h}_macro_f1": r["macro_f1"] for h, r in result["heads"].items()}
    flat.update({f"{h}_acc": r["accuracy"] for h, r in result["heads"].items()})
    flat.update({f"{k}_R@1": r["R@1"] for k, r in result["retrieval"].items()})
    if "call_type" in result:
        flat["call_type_macro_f1"] = result["call_type"]["macro_f1"]
    return flat


def _finish(out: Path, data: AlignData, total: int, state: dict,
            cfg: AlignConfig) -> Iterator[Progress]:
    from purrsight_model.align.report import write_run_report

    blob = ckpt.read_model_blob(out)
    model = ckpt.model_from_blob(blob, cfg, out)
    if len(model.probes):
        yield Progress("align", state["step"], total, message="fitting linear probes")
        probe_acc = fit_probes(model, data.train, cfg.probe_c)
        ckpt.save_model(model, out, {**ckpt.run_extras(blob), "probe_train_accuracy": probe_acc})
    final = evaluate_split(model, data.val) if len(data.val) else {"heads": {}, "retrieval": {}}
    final["best_epoch"] = state["epoch"] - state["bad_epochs"]
    final["train_rows"], final["val_rows"] = len(data.train), len(data.val)
    final["evidence"] = run_evidence(data.train, cfg.base)
    ckpt.write_metrics(out, final)
    write_run_report(out, final)
    yield Progress("align", state["step"], total, metrics=_summary(final), done=True,
                   message=f"finished; best epoch {final['best_epoch']}")


def fit_probes(model: AlignModel, rows: AlignArrays, c: float) -> dict[str, float]:
    """Fit each linear probe of ``model`` on the rows (originals, not augmented copies)
    that have audio and its head's label; returns the training accuracy per probe."""
    pooled = pooled_audio(torch.from_numpy(rows.audio), torch.from_numpy(rows.audio_mask),
                          torch.from_numpy(rows.audio_scores)).numpy()  # [N, 2D + S]
    has_audio = rows.audio_mask.any(-1)
    d, s = rows.audio.shape[-1], rows.audio_scores.shape[-1]
    out = {}
    for name, probe in model.probes.items():
        y = rows.targets[name]
        keep = (y >= 0) & has_audio
        if len(np.unique(y[keep])) < 2:
            log.warning("probe %s: fewer than 2 classes in the fit rows; left unfitted", name)
            continue
        out[name] = fit_probe(probe, pooled[keep].astype(np.float64), y[keep], c,
                              blocks=(d, d, s))
    return out


def _init_from_base(model: AlignModel, base: str) -> None:
    """Start from an earlier run's weights (heads whose classes changed start fresh)."""
    previous = ckpt.load_align_run(base)
    own = model.state_dict()
    compatible = {k: v for k, v in previous.state_dict().items()
                  if k in own and own[k].shape == v.shape}
    model.load_state_dict(compatible, strict=False)
