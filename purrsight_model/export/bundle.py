"""``export_bundle``: Phase 1 run (+ optional Phase 2 run) -> a verified model bundle folder.

Layout of a bundle::

    manifest.json            versions, schema version, input specs, heads, hashes, choices
    image_encoder.onnx       pixels [N,3,224,224] -> embedding [N,1280], cat_score [N]
    image_calibration.json   INT8 activation ranges (only when the INT8 image graph ships)
    audio_encoder.onnx       YAMNet float: log_mel [N,1,96,64] -> embedding, scores, logits
    aligner.onnx             features + masks -> image_vec, audio_vec, fused_vec, prob_<head>
    text_encoder.onnx        input_ids, attention_mask [B,T] -> text_vec [B,512]
    text_tokenizer.json      its tokenizer (tokenizers library)
    projector.onnx           aligned vectors -> soft tokens [B, 2K, d]         (Phase 2)
    llm_decoder.onnx         KV-cache decoder, LoRA merged (see export.llm)     (Phase 2)
    llm_embeddings.npy       token embedding table [V, d]                       (Phase 2)
    llm_tokenizer.json       the LM's tokenizer                                 (Phase 2)

Everything is built in a scratch folder beside ``out_dir`` and moved into place at the end,
so a failed export never leaves a half bundle that looks valid.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from purrsight_model.align.checkpoint import load_align_run
from purrsight_model.align.model import AlignModel
from purrsight_model.encoders import yamnet_classes as yc
from purrsight_model.export import choose
from purrsight_model.export.aligner import export_aligner
from purrsight_model.export.calibration import Calibration, calibration_set
from purrsight_model.export.common import ExportError, Parity
from purrsight_model.export.image import export_image
from purrsight_model.export.manifest import data_provenance, finalize, new_bundle_id, read_json
from purrsight_model.export.quantize import quantize_dynamic_int8, quantize_image_static
from purrsight_model.export.report_export import check_instruct_run, export_report_model, stage
from purrsight_model.export.sources import EncoderSources, packaged_sources
from purrsight_model.export.text import QUERY_TEXTS, export_text, tokenize
from purrsight_model.progress import TrainingError
from purrsight_model.runtime import bundle as rb

log = logging.getLogger(__name__)

#: Zero-shot call types: schema vocalization -> YAMNet (AudioSet) class index.
CALLS = {"purr": yc.PURR, "meow": yc.MEOW, "hiss": yc.HISS, "growl": yc.GROWLING,
         "yowl": yc.CATERWAUL}


class _Stage:
    """Files going into the bundle, with their manifest metadata."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, dict[str, Any]] = {}
        self.parity: dict[str, dict[str, float]] = {}
        self.quantization: dict[str, dict[str, Any]] = {}

    def add(self, src: Path, name: str, role: str, **meta: Any) -> None:
        shutil.copyfile(src, self.root / name)
        self.files[name] = {"role": role, **meta}


def _export_image(st: _Stage, scratch: Path, src: EncoderSources, align: AlignModel,
                  cal: Calibration, quantize: str, threads: int, origin: str,
                  pin: str | None) -> None:
    fp32 = scratch / "image_fp32.onnx"
    st.parity["image_encoder"] = export_image(src.image, fp32, cal.evaluate).as_dict()
    int8, cache = None, scratch / "image_calibration.json"
    if quantize != "off" and pin != "fp32":
        int8 = quantize_image_static(fp32, scratch / "image_int8.onnx", cal.calibrate, cache)
    decision = choose.choose_image(fp32, int8, cal.evaluate, align, threads,
                                   force=quantize == "all", pin=pin)
    st.quantization["image_encoder"] = {**decision.as_dict(), "calibration": cal.source}
    st.add(decision.path, "image_encoder.onnx", rb.IMAGE_ENCODER, precision=decision.chosen,
           version=src.image_version, origin=origin)
    if decision.path == int8:
        st.add(cache, "image_calibration.json", "calibration")


def _export_text(st: _Stage, scratch: Path, src: EncoderSources, align: AlignModel,
                 quantize: str, threads: int, origin: str, pin: str | None) -> dict[str, Any]:
    text = src.text
    assert text is not None
    fp32 = scratch / "text_fp32.onnx"
    st.parity["text_encoder"] = export_text(text, align.text_proj, fp32).as_dict()
    int8 = None
    if quantize != "off" and pin != "fp32":
        int8 = quantize_dynamic_int8(fp32, scratch / "text_int8.onnx")
    ids, mask = tokenize(text.tokenizer_json, list(QUERY_TEXTS), text.max_tokens)
    decision = choose.choose_text(fp32, int8, ids, mask, threads, force=quantize == "all",
                                  pin=pin)
    st.quantization["text_encoder"] = decision.as_dict()
    st.add(decision.path, "text_encoder.onnx", rb.TEXT_ENCODER, precision=decision.chosen,
           version=text.version, origin=origin)
    st.add(text.tokenizer_json, "text_tokenizer.json", rb.TEXT_TOKENIZER)
    return {"max_tokens": text.max_tokens, "inputs": ["input_ids", "attention_mask"],
            "output": "text_vec"}


def _aligner_section(align: AlignModel, outputs: list[str], parity: Parity) -> dict[str, Any]:
    d = align.dims
    return {"dim": align.cfg.dim, "max_frames": align.cfg.max_frames,
            "max_patches": align.cfg.max_patches, "image_dim": d.image, "audio_dim": d.audio,
            "audio_classes": d.audio_scores, "use_audio_scores": align.cfg.use_audio_scores,
            "outputs": outputs, "parity": parity.as_dict(),
            "inputs": {"image_frames": ["B", "F", d.image], "image_mask": ["B", "F"],
                       "audio_patches": ["B", "P", d.audio], "audio_mask": ["B", "P"],
                       "audio_scores": ["B", "P", d.audio_scores]}}


def _input_specs() -> dict[str, Any]:
    return {"frame": "uint8 RGB [H, W, 3], any size (resize short side 256, centre crop 224, "
                     "ImageNet mean/std)",
            "audio": "float32 mono 16 kHz in [-1, 1]; 0.96 s log-mel patches every 0.48 s",
            "image_encoder": {"pixels": ["N", 3, 224, 224]},
            "audio_encoder": {"log_mel": ["N", 1, 96, 64]}}


def _sections(align_run: Path, align: AlignModel, src: EncoderSources) -> dict[str, Any]:
    metrics = read_json(align_run / "metrics.json")
    return {
        "bundle_id": new_bundle_id(align_run),
        "heads": {h.name: list(h.classes) for h in align.head_specs},
        # head -> modalities its training labels came with (absent: not recorded by the run)
        "head_evidence": metrics.get("evidence", {}),
        "inputs": _input_specs(),
        "encoders": {"image": src.image_version, "audio": src.audio_version,
                     "text": src.text.version if src.text else None},
        "zero_shot": {"cat_classes": list(yc.CAT_CLASSES), "calls": CALLS,
                      "imagenet_cat_classes": [281, 282, 283, 284, 285]},
        "align_run": {"run_id": align_run.name, "run": str(align_run), "metrics": metrics},
        "provenance": data_provenance(align.cfg.data),
    }


Quantize = bool | str | Mapping[str, str]
"""True/"auto", False/"off", "all", or pins: {graph: variant} as a manifest recorded them."""

#: Graphs whose variant can be pinned, and the manifest ``quantization`` key naming it.
PINNABLE = ("image_encoder", "text_encoder", "llm_decoder", "llm_embeddings")


def pins_of(manifest: Mapping[str, Any]) -> dict[str, str]:
    """The variants a bundle's manifest chose, as pins for ``export_bundle(quantize=...)``."""
    q = manifest.get("quantization", {})
    pins = {k: str(q[k]["chosen"]) for k in ("image_encoder", "text_encoder", "llm_decoder")
            if k in q}
    if "llm_decoder" in q:
        pins["llm_embeddings"] = str(q["llm_decoder"]["embeddings"])
    return pins


def quantize_mode(quantize: Quantize) -> str:
    """Normalise the ``quantize`` argument to "auto" | "off" | "all" | "pinned"."""
    if isinstance(quantize, Mapping):
        unknown = set(quantize) - set(PINNABLE)
        if unknown:
            raise ExportError(f"cannot pin {sorted(unknown)}; pinnable: {PINNABLE}")
        return "pinned"
    if quantize is True or quantize == "auto":
        return "auto"
    if quantize is False or quantize == "off":
        return "off"
    if quantize == "all":
        return "all"
    raise ExportError(f"quantize must be True, False, 'auto', 'off' or 'all', not {quantize!r}")


def _prepare_out(out: Path) -> Path:
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"{out} exists and is not empty; choose a new bundle folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.parent / f".{out.name}.export-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "bundle").mkdir(parents=True)
    (work / "scratch").mkdir()
    return work


def export_bundle(align_run: str | Path, instruct_run: str | Path | None, out_dir: str | Path,
                  *, calibration: str | Path | Sequence[np.ndarray] | None = None,
                  quantize: Quantize = True, sources: EncoderSources | None = None,
                  threads: int = 2) -> Path:
    """Export, check, quantize (by measurement) and write a bundle; returns its folder.

    ``quantize``: True/"auto" keeps each INT8 variant only where it measures faster without
    losing accuracy; False/"off" ships fp32; "all" ships every INT8 variant regardless
    (to measure what quantization costs, e.g. in benchmarks/runtime.py); a mapping pins
    each graph's variant (``pins_of(manifest)``: rebuild a recorded bundle without timing).
    ``calibration``: data folder / frames for INT8 calibration (None = synthetic frames).
    ``sources``: encoders to bundle (default: the packaged ones the run was trained on).
    """
    align_run, out = Path(align_run), Path(out_dir)
    mode = quantize_mode(quantize)
    pins: Mapping[str, str] = quantize if isinstance(quantize, Mapping) else {}
    try:
        align = load_align_run(align_run)
    except (TrainingError, OSError, KeyError, RuntimeError) as exc:
        raise ExportError(f"cannot load Phase 1 run {align_run}: {exc}") from exc
    if instruct_run is not None:
        check_instruct_run(Path(instruct_run))
    src = sources or packaged_sources(align.cfg)
    origins = dict(src.origins)
    work = _prepare_out(out)
    try:
        st, scratch = _Stage(work / "bundle"), work / "scratch"
        sections = _sections(align_run, align, src)
        _export_image(st, scratch, src, align, calibration_set(calibration), mode, threads,
                      origins.get(rb.IMAGE_ENCODER, "caller"), pins.get("image_encoder"))
        st.quantization["audio_encoder"] = choose.measure_audio(
            src.audio_graph, src.audio_quantized, threads).as_dict()
        st.add(src.audio_graph, "audio_encoder.onnx", rb.AUDIO_ENCODER, precision="fp32",
               version=src.audio_version, origin=origins.get(rb.AUDIO_ENCODER, "caller"))
        parity, outputs = export_aligner(align, st.root / "aligner.onnx")
        st.files["aligner.onnx"] = {"role": rb.ALIGNER, "precision": "fp32", "origin": "trained"}
        st.parity["aligner"] = parity.as_dict()
        sections["aligner"] = _aligner_section(align, outputs, parity)
        if src.text is not None:
            sections["text"] = _export_text(st, scratch, src, align, mode, threads,
                                            origins.get(rb.TEXT_ENCODER, "caller"),
                                            pins.get("text_encoder"))
        if instruct_run is not None:
            parts, staged = export_report_model(Path(instruct_run), align, align_run, scratch,
                                                mode, threads, pins)
            stage(staged, st.root)
            st.files.update(parts.files)
            st.parity.update(parts.sections.pop("parity_llm"))
            st.quantization["llm_decoder"] = parts.sections.pop("quantization_llm")
            sections.update(parts.sections)
        sections.update(parity=st.parity, quantization=st.quantization)
        finalize(st.root, st.files, sections)
        rb.load_bundle(st.root)  # the reader must accept what the writer wrote
        out.mkdir(parents=True, exist_ok=True)
        for item in st.root.iterdir():
            shutil.move(str(item), str(out / item.name))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("bundle written to %s", out)
    return out
