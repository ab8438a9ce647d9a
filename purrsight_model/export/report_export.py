"""Export a Phase 2 run into a bundle: decoder (LoRA merged), projector, embedding table,
tokenizer; pick the decoder precision and table dtype by decoding probe windows with the
runtime ``Reporter`` and comparing against the torch model's own greedy reports.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from purrsight_model.align.model import AlignModel
from purrsight_model.export.common import ExportError
from purrsight_model.export.llm import (
    DecoderShape,
    embedding_table,
    export_decoder,
    export_projector,
    save_table,
)
from purrsight_model.export.quantize import (
    NBITS_ACCURACY_LEVEL,
    NBITS_BLOCK,
    quantize_llm_nbits,
)
from purrsight_model.export.report_model import (
    LoadedReportModel,
    Probe,
    load_report_model,
    make_probes,
    torch_reports,
)
from purrsight_model.instruct.features import HINT_HEADS
from purrsight_model.instruct.lora import merge_lora
from purrsight_model.runtime.bundle import (
    LLM_DECODER,
    LLM_EMBEDDINGS,
    LLM_TOKENIZER,
    PROJECTOR,
    Bundle,
)
from purrsight_model.runtime.reporter import Reporter, WindowInputs
from purrsight_model.schema import CATEGORICAL_FIELDS, Report

log = logging.getLogger(__name__)

DECODER, TABLE = "llm_decoder.onnx", "llm_embeddings.npy"
NBITS_LABEL = "int8-matmulnbits"
#: Probe windows decoded per candidate (two of each presence pattern).
N_PROBES = 8


@dataclass
class ReportParts:
    """Staged report-model files and manifest sections."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    sections: dict[str, Any] = field(default_factory=dict)


def _sections(loaded: LoadedReportModel, shape: DecoderShape, align: AlignModel
              ) -> dict[str, Any]:
    cfg = loaded.cfg
    instruct = {"run_id": loaded.run.name, "run": str(loaded.run), "k_tokens": cfg.k_tokens,
                "hints": cfg.hints, "hint_heads": dict(HINT_HEADS),
                "max_text_tokens": cfg.max_text_tokens, "align_dim": align.cfg.dim,
                "llm_name": loaded.llm.name, "lora_rank": cfg.lora_rank,
                "lora_layers": cfg.lora_layers, "metrics": loaded.metrics}
    llm = {"n_layers": shape.n_layers, "kv_heads": shape.kv_heads, "head_dim": shape.head_dim,
           "hidden": shape.hidden, "vocab": shape.vocab}
    return {"instruct": instruct, "llm": llm}


def _view(root: Path, sections: dict[str, Any], decoder: str, table: str) -> Bundle:
    """An unverified Bundle over candidate files in ``root`` (to run the Reporter on them)."""
    files = {decoder: {"role": LLM_DECODER}, table: {"role": LLM_EMBEDDINGS},
             "projector.onnx": {"role": PROJECTOR}, "llm_tokenizer.json": {"role": LLM_TOKENIZER}}
    return Bundle(root, {"bundle_id": "candidate", "heads": {}, "files": files, **sections})


def decode_probes(bundle: Bundle, probes: list[Probe], threads: int
                  ) -> tuple[list[Report], dict[str, float]]:
    """Reports from the runtime Reporter on the probes, plus speed numbers."""
    reporter = Reporter(bundle, threads)
    reports, seconds, calls, tokens = [], 0.0, 0, 0
    for probe in probes:
        reports.append(reporter.report_from(WindowInputs(probe.image, probe.audio, probe.hints)))
        seconds += reporter.last_seconds
        calls += reporter.last_stats.n_calls
        tokens += reporter.last_stats.n_tokens
    n = max(len(probes), 1)
    return reports, {"s_per_report": seconds / n, "forward_calls_per_report": calls / n,
                     "tokens_per_s": tokens / seconds if seconds else float("nan")}


def check_instruct_run(run: Path) -> None:
    """Fail before any work if ``run`` is not a finished Phase 2 run folder."""
    from purrsight_model.instruct.checkpoint import RUN_MARKER

    missing = [n for n in (RUN_MARKER, "config.yaml") if not (run / n).is_file()]
    if missing:
        raise ExportError(f"{run} is not a Phase 2 run folder (missing {', '.join(missing)})")


def _check_pairing(loaded: LoadedReportModel, align_run: Path) -> None:
    recorded = Path(loaded.cfg.align_run) if loaded.cfg.align_run else None
    if recorded is not None and recorded.exists() and recorded.resolve() != align_run.resolve():
        raise ExportError(f"Phase 2 run {loaded.run} was trained on Phase 1 run {recorded}, "
                          f"not {align_run}; export it with its own Phase 1 run")


def export_report_model(run: Path, align: AlignModel, align_run: Path, scratch: Path,
                        quantize: str, threads: int, pins: Mapping[str, str] | None = None
                        ) -> tuple[ReportParts, dict[str, Path]]:
    """Export and choose; returns manifest parts and {bundle name: staged source path}.

    ``pins`` with "llm_decoder" and "llm_embeddings" skip the probe decoding and take those.
    """
    pins = pins or {}
    loaded = load_report_model(run)
    _check_pairing(loaded, align_run)
    if loaded.model.projector.in_dim != align.cfg.dim:
        raise ExportError(f"{run}: projector takes {loaded.model.projector.in_dim}-d vectors, "
                          f"the Phase 1 run makes {align.cfg.dim}-d ones")
    probes = make_probes(align, n=N_PROBES)
    refs = torch_reports(loaded, probes)
    merge_lora(loaded.llm.model)
    parity, shape = export_decoder(loaded.llm.model, scratch / "llm_fp32.onnx")
    proj_parity = export_projector(loaded.model.projector, scratch / "projector.onnx")
    loaded.tokenizer.backend.save(str(scratch / "llm_tokenizer.json"))
    table = embedding_table(loaded.llm.model)
    t32 = save_table(table, scratch / "table32.npy", fp16=False)
    save_table(table, scratch / "table16.npy", fp16=True)
    sections = _sections(loaded, shape, align)
    del loaded, table
    candidates = {"fp32": "llm_fp32.onnx"}
    pin = (pins["llm_decoder"], pins["llm_embeddings"]) if "llm_decoder" in pins else None
    if quantize != "off" and (pin is None or pin[0] == NBITS_LABEL):
        quantize_llm_nbits(scratch / "llm_fp32.onnx", scratch / "llm_nbits8.onnx")
        candidates[NBITS_LABEL] = "llm_nbits8.onnx"
    if pin is not None:
        if pin[0] not in candidates or pin[1] not in ("float32", "float16"):
            raise ExportError(f"cannot pin the decoder to {pin}")
        return _choose({}, pin[1] == "float16", candidates, sections, parity, proj_parity, t32,
                       scratch, pin=pin[0])
    results, fp16_lossless = _measure(candidates, sections, probes, refs, scratch, threads)
    return _choose(results, fp16_lossless, candidates, sections, parity, proj_parity, t32,
                   scratch, force=quantize == "all")


#: INT8 must keep at least this share of the probes' decided fields (categorical + confidence).
MIN_FIELD_AGREEMENT = 0.95
#: ... and be at least this much faster per report.
MIN_LLM_SPEEDUP = 1.1
_DECIDED = (*CATEGORICAL_FIELDS, "confidence")


def field_agreement(got: list[Report], ref: list[Report]) -> float:
    """Share of categorical fields + confidence equal to the reference reports."""
    pairs = [(getattr(g, f), getattr(r, f)) for g, r in zip(got, ref, strict=True)
             for f in _DECIDED]
    return sum(a == b for a, b in pairs) / max(len(pairs), 1)


def _measure(candidates: dict[str, str], sections: dict[str, Any], probes: list[Probe],
             refs: list[Report], scratch: Path, threads: int
             ) -> tuple[dict[tuple[str, str], dict], bool]:
    """Decode the probes with fp32 (fp32 and fp16 table), then INT8 with the table kept.

    Returns the numbers per (decoder, table) and whether the fp16 table is lossless (its
    reports equal the fp32 table's).
    """
    results: dict[tuple[str, str], dict] = {}
    outputs: dict[tuple[str, str], list[Report]] = {}

    def run(label: str, dtype: str) -> None:
        table_name = "table32.npy" if dtype == "float32" else "table16.npy"
        reports, speed = decode_probes(_view(scratch, sections, candidates[label], table_name),
                                       probes, threads)
        same = sum(a == b for a, b in zip(reports, refs, strict=True))
        outputs[(label, dtype)] = reports
        results[(label, dtype)] = {"reports_equal_torch": f"{same}/{len(refs)}",
                                   "field_agreement": field_agreement(reports, refs), **speed}

    run("fp32", "float32")
    run("fp32", "float16")
    fp16_lossless = outputs[("fp32", "float16")] == outputs[("fp32", "float32")]
    for label in candidates:
        if label != "fp32":
            run(label, "float16" if fp16_lossless else "float32")
    return results, fp16_lossless


def _pick(results: dict[tuple[str, str], dict], fp16_lossless: bool, force: bool = False
          ) -> tuple[str, str, str]:
    """(decoder label, table dtype, reason)."""
    dtype = "float16" if fp16_lossless else "float32"
    base = results[("fp32", dtype)]
    if base["field_agreement"] < 1.0:
        log.warning("fp32 ONNX reports differ from torch on the probes: %s", results)
    for (label, dt), r in results.items():
        if label == "fp32" or dt != dtype:
            continue
        speedup = base["s_per_report"] / r["s_per_report"]
        r["speedup"] = speedup
        if force:
            return label, dtype, "forced (all INT8)"
        if r["field_agreement"] >= MIN_FIELD_AGREEMENT and speedup >= MIN_LLM_SPEEDUP:
            return label, dtype, "faster and keeps the probes' decided fields"
        why = "not faster" if speedup < MIN_LLM_SPEEDUP else "changes decided fields"
        return "fp32", dtype, f"{label} rejected: {why}"
    return "fp32", dtype, "quantization disabled"


def _choose(results: dict, fp16_lossless: bool, candidates: dict[str, str],
            sections: dict[str, Any], parity, proj_parity, t32: dict, scratch: Path,
            force: bool = False, pin: str | None = None
            ) -> tuple[ReportParts, dict[str, Path]]:
    """Pick decoder + table (fp16 whenever lossless) and stage them with their records."""
    if pin is not None:
        label, reason = pin, "pinned by the caller (a build record), not measured"
        dtype = "float16" if fp16_lossless else "float32"
    else:
        label, dtype, reason = _pick(results, fp16_lossless, force)
    parts = ReportParts(sections=sections)
    parts.sections["llm"]["embeddings_dtype"] = dtype
    parts.sections["llm"]["fp16_max_abs_rounding"] = t32["fp16_max_abs_rounding"]
    parts.sections["quantization_llm"] = {
        "chosen": label, "embeddings": dtype, "reason": reason,
        "nbits": {"bits": 8, "block_size": NBITS_BLOCK, "accuracy_level": NBITS_ACCURACY_LEVEL,
                  "symmetric": True},
        "candidates": {f"{k[0]}+{k[1]}": v for k, v in results.items()}}
    parts.sections["parity_llm"] = {"llm_decoder": parity.as_dict(),
                                    "projector": proj_parity.as_dict()}
    table_src = scratch / ("table32.npy" if dtype == "float32" else "table16.npy")
    staged = {DECODER: scratch / candidates[label], TABLE: table_src,
              "projector.onnx": scratch / "projector.onnx",
              "llm_tokenizer.json": scratch / "llm_tokenizer.json"}
    parts.files = {DECODER: {"role": LLM_DECODER, "precision": label},
                   TABLE: {"role": LLM_EMBEDDINGS, "precision": dtype},
                   "projector.onnx": {"role": PROJECTOR, "precision": "fp32"},
                   "llm_tokenizer.json": {"role": LLM_TOKENIZER}}
    return parts, staged


def stage(staged: dict[str, Path], root: Path) -> None:
    """Move chosen files into the bundle folder under their final names."""
    for name, src in staged.items():
        shutil.move(str(src), str(root / name))

