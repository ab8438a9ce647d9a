"""Held-out evaluation of generated reports: validity, field accuracy, speed."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from purrsight_model.decoding import constrained_generate, grammar_for, mask_unobserved
from purrsight_model.instruct.features import SoftInputs
from purrsight_model.instruct.prompt import prompt_ids
from purrsight_model.schema import CATEGORICAL_FIELDS, UNKNOWN, Report, ReportError, parse_report


def field_accuracy(pairs: list[tuple[Report, Report]]) -> dict[str, dict[str, float]]:
    """Per categorical field: agreement where the reference knows the value."""
    out = {}
    for field in CATEGORICAL_FIELDS:
        known = [(g, r) for g, r in pairs if getattr(r, field) != UNKNOWN]
        if known:
            hits = sum(getattr(g, field) == getattr(r, field) for g, r in known)
            out[field] = {"accuracy": hits / len(known), "n": len(known)}
    return out


def evaluate_reports(model: Any, tokenizer: Any, inputs: SoftInputs, references: list[Report],
                     cfg: Any, limit: int | None = None) -> dict[str, Any]:
    """Decode held-out rows with the constrained decoder and compare to the references."""
    model.eval()
    grammar = grammar_for(tokenizer)
    n = min(len(references), limit or cfg.eval_rows)
    pairs, valid, tokens, seconds, samples = [], 0, 0, 0.0, []
    for i in range(n):
        modalities = inputs.modalities(i)
        prompt = prompt_ids(modalities, cfg.k_tokens, tokenizer,
                            hints=inputs.hints[i] if cfg.hints else None)
        vectors, present = inputs.tensors(np.array([i]))
        start = time.perf_counter()
        with torch.no_grad():
            first, step = model.step_fn(prompt, vectors, present)
            gen = constrained_generate(_first_then(first, step), grammar, modalities=modalities,
                                       max_text_tokens=cfg.max_text_tokens)
        seconds += time.perf_counter() - start
        tokens += gen.stats.n_tokens
        try:
            report = parse_report(tokenizer.decode(gen.ids))
            valid += 1
        except ReportError:
            report = gen.report
        reference = mask_unobserved(references[i].model_copy(
            update={"modalities_used": modalities}))
        pairs.append((report, reference))
        if len(samples) < 3:
            samples.append(report.to_dict())
    fields = field_accuracy(pairs)
    return {"n": n, "validity": valid / n if n else float("nan"), "fields": fields,
            "affective_state_accuracy": fields.get("affective_state", {}).get("accuracy"),
            "seconds_per_report": seconds / n if n else float("nan"),
            "tokens_per_second": tokens / seconds if seconds else float("nan"),
            "samples": samples}


def _first_then(first: np.ndarray, step):
    """Adapt (prefill logits, step) to the decoder's step_fn, whose first call is [] ids."""
    state = {"first": True}

    def fn(ids: list[int]) -> np.ndarray:
        if state["first"] and not ids:
            state["first"] = False
            return first
        state["first"] = False
        return step(ids)

    return fn
