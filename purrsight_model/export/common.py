"""Shared export plumbing: the error type, torch -> ONNX with a checker pass, parity checks.

Every graph goes through ``export_module`` (TorchScript exporter, ``dynamo=False``: it is
deterministic, quick and handles the HF decoder; the dynamo exporter needs 2.8 GB and 80 s
for SmolLM2) and ``check_parity`` (onnxruntime against torch on real-shaped inputs; the export
fails past the tolerance, so a broken graph never reaches a bundle).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch

log = logging.getLogger(__name__)

OPSET = 18


class ExportError(RuntimeError):
    """An export step failed (bad run folder, graph check, parity past tolerance)."""


@dataclass(frozen=True)
class Parity:
    """How far onnxruntime is from torch on one graph."""

    max_abs_diff: float
    """Largest absolute difference over all outputs."""
    rel_diff: float
    """``max_abs_diff`` divided by the largest absolute reference value."""
    tolerance: float
    """Allowed ``rel_diff``."""

    def as_dict(self) -> dict[str, float]:
        return {"max_abs_diff": self.max_abs_diff, "rel_diff": self.rel_diff,
                "tolerance": self.tolerance}


def export_module(
    module: torch.nn.Module,
    args: tuple[torch.Tensor, ...],
    path: Path,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: Mapping[str, Mapping[int, str]],
) -> Path:
    """Export ``module`` (eval mode) to ``path`` and run ``onnx.checker`` on the result.

    Example sizes in ``args`` must be >= 2 along every dynamic axis: a size-1 example lets
    the tracer freeze that dimension silently.
    """
    module.eval()
    start = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript deprecation + tracer warnings
        torch.onnx.export(module, args, str(path), input_names=list(input_names),
                          output_names=list(output_names), dynamic_axes=dict(dynamic_axes),
                          opset_version=OPSET, dynamo=False, do_constant_folding=True)
    check_graph(path)
    log.info("exported %s in %.1f s (%.1f MB)", path.name, time.perf_counter() - start,
             path.stat().st_size / 1e6)
    return path


def check_graph(path: Path) -> None:
    """``onnx.checker`` on a file (by path, so graphs over 2 GB work too)."""
    try:
        onnx.checker.check_model(str(path))
    except (onnx.checker.ValidationError, OSError) as exc:
        raise ExportError(f"onnx.checker rejected {path}: {exc}") from exc


def ort_session(path: Path, threads: int = 0):  # -> onnxruntime.InferenceSession
    """CPU session; ``threads`` > 0 sets intra-op threads."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads > 0:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own classes for bad graphs
        raise ExportError(f"onnxruntime cannot load {path}: {exc}") from exc


def check_parity(name: str, ref: Sequence[np.ndarray], got: Sequence[np.ndarray],
                 tolerance: float) -> Parity:
    """Compare outputs; raise ExportError when ``max|diff| / max|ref|`` exceeds tolerance."""
    worst = scale = 0.0
    for r, g in zip(ref, got, strict=True):
        r, g = np.asarray(r, np.float64), np.asarray(g, np.float64)
        if r.shape != g.shape:
            raise ExportError(f"{name}: onnxruntime output shape {g.shape} != torch {r.shape}")
        finite = np.isfinite(r)
        if not np.array_equal(finite, np.isfinite(g)):
            raise ExportError(f"{name}: NaN/inf pattern differs between onnxruntime and torch")
        if finite.any():
            worst = max(worst, float(np.abs(r[finite] - g[finite]).max()))
            scale = max(scale, float(np.abs(r[finite]).max()))
    parity = Parity(worst, worst / max(scale, 1e-12), tolerance)
    log.info("parity %s: max |ort - torch| = %.3g (relative %.3g)", name, worst, parity.rel_diff)
    if parity.rel_diff > tolerance:
        raise ExportError(f"{name}: onnxruntime differs from torch by {worst:.3g} "
                          f"(relative {parity.rel_diff:.3g} > tolerance {tolerance:g})")
    return parity


def to_numpy(outputs: torch.Tensor | Sequence[torch.Tensor]) -> list[np.ndarray]:
    if isinstance(outputs, torch.Tensor):
        outputs = [outputs]
    return [o.detach().float().numpy() for o in outputs]


def median_ms(fn, repeats: int = 20, warmup: int = 3) -> float:
    """Median wall time of ``fn()`` in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def paired_median_ms(fn_a, fn_b, repeats: int = 30, warmup: int = 3) -> tuple[float, float]:
    """Median ms of two functions timed alternately, so both see the same machine load
    (the CPU is shared: back-to-back blocks would compare two different loads)."""
    for _ in range(warmup):
        fn_a()
        fn_b()
    times_a, times_b = [], []
    for _ in range(repeats):
        for fn, times in ((fn_a, times_a), (fn_b, times_b)):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times_a)), 1e3 * float(np.median(times_b))
