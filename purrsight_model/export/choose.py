"""Measure fp32 against INT8 per graph and keep what wins (recorded in the manifest).

A variant is kept only if it is faster by ``MIN_SPEEDUP`` on this machine AND stays
accurate: image embeddings by cosine and by the Phase 1 heads' top-1 agreement on held-out
frames, text vectors by cosine. Otherwise fp32 stays, and the manifest says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from purrsight_model.align.model import AlignModel
from purrsight_model.export.common import median_ms, ort_session, paired_median_ms

MIN_SPEEDUP = 1.1
MIN_COSINE = 0.98
MIN_HEAD_AGREEMENT = 0.95


@dataclass
class Decision:
    """Which variant of a graph ships, and the numbers behind it."""

    chosen: str  # "fp32" | "int8-..." label
    path: Path
    numbers: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"chosen": self.chosen, "reason": self.reason, **self.numbers}


def cosine_stats(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(mean, min) row cosine between two [N, D] arrays."""
    na = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    nb = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    cos = (na * nb).sum(-1)
    return float(cos.mean()), float(cos.min())


@torch.no_grad()
def head_agreement(model: AlignModel, emb_a: np.ndarray, emb_b: np.ndarray) -> float:
    """Mean over heads of top-1 agreement when each frame is an image-only window."""
    def top1(emb: np.ndarray) -> dict[str, np.ndarray]:
        x = torch.from_numpy(emb[:, None, :])  # [N, 1, Di]
        mask = torch.ones(x.shape[:2], dtype=torch.bool)
        img = model.embed_image(x, mask)
        has_i, has_a = torch.ones(len(x), dtype=torch.bool), torch.zeros(len(x), dtype=torch.bool)
        logits = model.classify(img, has_i, torch.zeros_like(img), has_a)
        return {k: v.argmax(-1).numpy() for k, v in logits.items()}

    a, b = top1(emb_a), top1(emb_b)
    return float(np.mean([(a[k] == b[k]).mean() for k in a])) if a else 1.0


PINNED = "pinned by the caller (a build record), not measured"
IMAGE_INT8 = "int8-qdq-u8s8-per-channel"
TEXT_INT8 = "int8-dynamic"


def pinned(label: str, fp32: Path, int8: Path | None) -> Decision:
    """The variant a build record names, without measuring (reproducible re-assembly)."""
    if label == "fp32":
        return Decision("fp32", fp32, {}, PINNED)
    if int8 is None:
        raise ValueError(f"pinned {label!r} but no INT8 graph was made")
    return Decision(label, int8, {}, PINNED)


def choose_image(fp32: Path, int8: Path | None, frames: np.ndarray, model: AlignModel,
                 threads: int, force: bool = False, pin: str | None = None) -> Decision:
    """fp32 vs static-QDQ INT8 image encoder on held-out frames ([N, 3, 224, 224])."""
    if pin:
        return pinned(pin, fp32, int8)
    s32 = ort_session(fp32, threads)
    one = frames[:1]
    numbers: dict[str, Any] = {"fp32_ms": median_ms(lambda: s32.run(None, {"pixels": one}))}
    if int8 is None:
        return Decision("fp32", fp32, numbers, "quantization disabled")
    s8 = ort_session(int8, threads)
    numbers["fp32_ms"], numbers["int8_ms"] = paired_median_ms(
        lambda: s32.run(None, {"pixels": one}), lambda: s8.run(None, {"pixels": one}))
    e32, c32 = s32.run(None, {"pixels": frames})
    e8, c8 = s8.run(None, {"pixels": frames})
    mean_cos, min_cos = cosine_stats(e32, e8)
    agree = head_agreement(model, e32, e8)
    numbers.update(n_frames=len(frames), cosine_mean=mean_cos, cosine_min=min_cos,
                   cat_score_max_abs_diff=float(np.nanmax(np.abs(c32 - c8))),
                   head_top1_agreement=agree)
    speedup = numbers["fp32_ms"] / numbers["int8_ms"]
    numbers["speedup"] = speedup
    ok_acc = mean_cos >= MIN_COSINE and agree >= MIN_HEAD_AGREEMENT
    if force or (speedup >= MIN_SPEEDUP and ok_acc):
        why = "forced (all INT8)" if force else "faster and accurate"
        return Decision(IMAGE_INT8, int8, numbers, why)
    why = "not faster" if speedup < MIN_SPEEDUP else "accuracy loss"
    return Decision("fp32", fp32, numbers, f"int8 rejected: {why}")


def choose_text(fp32: Path, int8: Path | None, ids: np.ndarray, mask: np.ndarray,
                threads: int, force: bool = False, pin: str | None = None) -> Decision:
    """fp32 vs dynamic INT8 text encoder: latency on one query, cosine of the vectors."""
    if pin:
        return pinned(pin, fp32, int8)
    feed = {"input_ids": ids, "attention_mask": mask}
    one = {k: v[:1] for k, v in feed.items()}
    s32 = ort_session(fp32, threads)
    numbers: dict[str, Any] = {"fp32_ms": median_ms(lambda: s32.run(None, one))}
    if int8 is None:
        return Decision("fp32", fp32, numbers, "quantization disabled")
    s8 = ort_session(int8, threads)
    numbers["fp32_ms"], numbers["int8_ms"] = paired_median_ms(lambda: s32.run(None, one),
                                                              lambda: s8.run(None, one))
    mean_cos, min_cos = cosine_stats(s32.run(None, feed)[0], s8.run(None, feed)[0])
    numbers.update(cosine_mean=mean_cos, cosine_min=min_cos,
                   speedup=numbers["fp32_ms"] / numbers["int8_ms"])
    if force or (numbers["speedup"] >= MIN_SPEEDUP and min_cos >= MIN_COSINE):
        why = "forced (all INT8)" if force else "faster and accurate"
        return Decision(TEXT_INT8, int8, numbers, why)
    why = "not faster" if numbers["speedup"] < MIN_SPEEDUP else "accuracy loss"
    return Decision("fp32", fp32, numbers, f"int8 rejected: {why}")


def measure_audio(float_graph: Path, quantized: Path | None, threads: int) -> Decision:
    """The float YAMNet graph ships; the original w8a8 one is timed for the record.

    The w8a8 graph outputs class scores only (no embedding for the aligner), takes one
    uint8 patch per call, and the training features came from the float graph.
    """
    rng = np.random.default_rng(0)
    patch = rng.normal(-4.0, 2.0, (1, 1, 96, 64)).astype(np.float32)
    s32 = ort_session(float_graph, threads)
    numbers: dict[str, Any] = {"float_ms_per_patch": median_ms(
        lambda: s32.run(None, {"log_mel": patch}))}
    if quantized is not None and quantized.is_file():
        from purrsight_model.encoders.yamnet import QuantizedYamnet

        q = QuantizedYamnet(quantized, threads)
        numbers["w8a8_ms_per_patch"] = median_ms(lambda: q.logits(patch[:, 0]))
        ref = 1 / (1 + np.exp(-s32.run(["logits"], {"log_mel": patch})[0]))
        numbers["w8a8_scores_max_abs_diff"] = float(np.abs(ref - q.scores(patch[:, 0])).max())
    return Decision("float", float_graph, numbers,
                    "float graph: training features came from it and the w8a8 graph has no "
                    "embedding output")
