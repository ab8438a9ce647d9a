"""Rebuild a Phase 2 run in torch (LM + LoRA + projector) and decode reference reports.

The torch references are decoded with ``ReportModel.step_fn`` (LoRA unmerged, the way Phase 2
evaluated itself) on probe windows; the exported ONNX report model must reproduce them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from purrsight_model.align.config import load_config
from purrsight_model.align.model import AlignModel
from purrsight_model.decoding import HFTokenizer, constrained_generate, grammar_for
from purrsight_model.export.common import ExportError
from purrsight_model.instruct import checkpoint as ickpt
from purrsight_model.instruct.config import InstructConfig
from purrsight_model.instruct.evaluate import _first_then
from purrsight_model.instruct.features import HINT_HEADS
from purrsight_model.instruct.llm import LLMError, LoadedLLM, load_llm
from purrsight_model.instruct.lora import add_lora
from purrsight_model.instruct.model import ReportModel
from purrsight_model.instruct.projector import Projector
from purrsight_model.instruct.prompt import prompt_ids
from purrsight_model.progress import TrainingError
from purrsight_model.schema import Report


@dataclass
class LoadedReportModel:
    """A Phase 2 run rebuilt in torch."""

    cfg: InstructConfig
    llm: LoadedLLM
    model: ReportModel
    tokenizer: HFTokenizer
    run: Path
    metrics: dict[str, Any]


def load_report_model(run: str | Path) -> LoadedReportModel:
    """LM from the run's recorded folder (or its config), LoRA adapters, projector."""
    run = Path(run)
    try:
        doc = ickpt.read_config(run)
    except OSError as exc:
        raise ExportError(f"{run} is not a Phase 2 run folder: {exc}") from exc
    cfg = load_config(InstructConfig, None, **doc["instruct"])
    try:
        blob = ickpt.load_weights(run)
    except TrainingError as exc:
        raise ExportError(str(exc)) from exc
    folder = (doc.get("llm") or {}).get("folder")
    try:
        llm = load_llm(folder if folder and Path(folder).exists() else (cfg.llm or None))
    except LLMError as exc:
        raise ExportError(f"cannot load the LM of {run}: {exc}") from exc
    if blob.get("lora_names"):
        add_lora(llm.model, blob["lora_names"], cfg.lora_rank, cfg.lora_alpha)
        result = llm.model.load_state_dict(blob["lora"], strict=False)
        if result.unexpected_keys:
            raise ExportError(f"{run}: LoRA tensors do not fit the LM: {result.unexpected_keys}")
    shape = blob["projector_shape"]
    projector = Projector(shape["in_dim"], shape["d_model"], shape["k_tokens"],
                          cfg.projector_hidden)
    projector.load_state_dict(blob["projector"])
    model = ReportModel(llm.model, projector).eval()
    metrics_path = run / "metrics.json"
    import json

    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return LoadedReportModel(cfg, llm, model, HFTokenizer.from_transformers(llm.tokenizer),
                             run, metrics)


@dataclass(frozen=True)
class Probe:
    """One probe window: aligned vectors (None = absent) and hints."""

    image: np.ndarray | None
    audio: np.ndarray | None
    hints: dict[str, tuple[str, float]]

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(m for m, v in (("image", self.image), ("audio", self.audio)) if v is not None)


@torch.no_grad()
def make_probes(align: AlignModel, n: int = 4, seed: int = 0) -> list[Probe]:
    """Random unit vectors in each presence pattern, hints from the aligner's heads."""
    rng = np.random.default_rng(seed)
    patterns = [(True, True), (True, False), (False, True), (True, True)]
    classes = {h.name: h.classes for h in align.head_specs}
    probes = []
    for i in range(n):
        has_i, has_a = patterns[i % len(patterns)]
        vecs = rng.standard_normal((2, align.cfg.dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=-1, keepdims=True)
        img, aud = (vecs[0] if has_i else None), (vecs[1] if has_a else None)
        t = [torch.from_numpy(v if v is not None else np.zeros_like(vecs[0]))[None]
             for v in (img, aud)]
        logits = align.classify(t[0], torch.tensor([has_i]), t[1], torch.tensor([has_a]))
        hints = {}
        for head, short in HINT_HEADS.items():
            if head in logits and not (head == "vocalization" and not has_a):
                p = torch.softmax(logits[head][0], -1).numpy()
                hints[short] = (classes[head][int(p.argmax())], float(p.max()))
        probes.append(Probe(img, aud, hints))
    return probes


@torch.no_grad()
def torch_reports(loaded: LoadedReportModel, probes: list[Probe]) -> list[Report]:
    """Greedy constrained decode of each probe with the torch model (the reference)."""
    grammar = grammar_for(loaded.tokenizer)
    out = []
    for probe in probes:
        prompt = prompt_ids(probe.modalities, loaded.cfg.k_tokens, loaded.tokenizer,
                            hints=probe.hints if loaded.cfg.hints and probe.hints else None)
        zero = np.zeros(loaded.model.projector.in_dim, np.float32)
        vectors = {m: torch.from_numpy(v if v is not None else zero)[None]
                   for m, v in (("image", probe.image), ("audio", probe.audio))}
        present = {m: torch.tensor([m in probe.modalities]) for m in ("image", "audio")}
        first, step = loaded.model.step_fn(prompt, vectors, present)
        gen = constrained_generate(_first_then(first, step), grammar,
                                   modalities=probe.modalities,
                                   max_text_tokens=loaded.cfg.max_text_tokens)
        out.append(gen.report)
    return out
