"""``Reporter``: a window of observations -> one schema-valid ``Report``, torch-free.

The window's aligned image/audio vectors are averaged (and put back on the unit sphere, where
Phase 2 saw its inputs), the projector turns them into soft-prompt embeddings, the prompt is
the one Phase 2 trained with (``instruct.prompt``, hints from the mean head probabilities),
and ``decoding.constrained_generate`` drives the KV-cache decoder greedily, so the JSON is
valid whatever the model says.

The report's vocalization follows the same rule as the live overlay's call line
(``ground_call``): without a heard cat it stays unknown, and with one, an unknown left by the
LM becomes the call-type head's top class. Phase 2 learns to say unknown there because most
label-derived training reports leave the call type unknown (a file name rarely names it),
not because the call cannot be told.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from purrsight_model.decoding import DecodeStats, HFTokenizer, constrained_generate, grammar_for
from purrsight_model.instruct.prompt import PromptIds, prompt_ids
from purrsight_model.runtime.bundle import (
    LLM_DECODER,
    LLM_EMBEDDINGS,
    LLM_TOKENIZER,
    PROJECTOR,
    Bundle,
    BundleError,
    load_bundle,
)
from purrsight_model.runtime.llm import CachedStep, DecoderSession, DecoderSpec
from purrsight_model.runtime.observation import Observation
from purrsight_model.runtime.sessions import make_session
from purrsight_model.runtime.zeroshot import CALL_HEARD_MIN
from purrsight_model.schema import MODALITIES, UNKNOWN, VOCALIZATION, Report

MODALITY_ORDER = ("image", "audio")  # projector block order (instruct.projector)


@dataclass(frozen=True)
class WindowInputs:
    """What one report is conditioned on."""

    image_vec: np.ndarray | None  # [512] unit vector or None
    audio_vec: np.ndarray | None  # [512]
    hints: dict[str, tuple[str, float]]  # short head name -> (label, probability)
    cat_heard: float = math.nan  # max YAMNet cat-class score of the window (NaN: unknown)

    @property
    def modalities(self) -> tuple[str, ...]:
        present = {"image": self.image_vec is not None, "audio": self.audio_vec is not None}
        return tuple(m for m in MODALITIES if present[m])


def _mean_unit(vectors: list[np.ndarray]) -> np.ndarray | None:
    if not vectors:
        return None
    mean = np.mean(np.stack(vectors), axis=0)  # [512]
    norm = float(np.linalg.norm(mean))
    return (mean / norm).astype(np.float32) if norm > 1e-6 else None


def window_inputs(observations: Sequence[Observation], hint_heads: Mapping[str, str]
                  ) -> WindowInputs:
    """Average the window's aligned vectors; hints = top class of the mean head probabilities."""
    image = _mean_unit([o.image_vec for o in observations if o.image_vec is not None])
    audio = _mean_unit([o.audio_vec for o in observations if o.audio_vec is not None])
    hints: dict[str, tuple[str, float]] = {}
    for head, short in hint_heads.items():
        probs = [o.heads[head] for o in observations if head in o.heads]
        if not probs:
            continue
        classes = list(probs[0])
        mean = np.mean([[p.get(c, 0.0) for c in classes] for p in probs], axis=0)  # [C]
        hints[short] = (classes[int(mean.argmax())], float(mean.max()))
    if audio is None:
        # no audio: a call-type hint would be invented
        hints.pop(hint_heads.get("vocalization", "vocalization"), None)
    heard = [o.cat_heard for o in observations
             if o.audio_vec is not None and not math.isnan(o.cat_heard)]
    return WindowInputs(image, audio, hints, max(heard) if heard else math.nan)


def call_restriction(inputs: WindowInputs) -> dict[str, list[str]] | None:
    """Decoder restriction: no call type when the window has audio but no cat was heard."""
    if inputs.audio_vec is not None and inputs.cat_heard < CALL_HEARD_MIN:
        return {"vocalization": [UNKNOWN]}
    return None


def ground_call(report: Report, inputs: WindowInputs, hint: str = "vocalization") -> Report:
    """An unknown vocalization becomes the call-type hint when a cat was heard."""
    label = inputs.hints.get(hint, (UNKNOWN, 0.0))[0]
    if (report.vocalization != UNKNOWN or inputs.audio_vec is None
            or not inputs.cat_heard >= CALL_HEARD_MIN or label not in VOCALIZATION):
        return report
    return report.model_copy(update={"vocalization": label})


class Reporter:
    """Loads the projector, decoder, embedding table and tokenizer of a bundle."""

    def __init__(self, bundle: Bundle, threads: int | None = None) -> None:
        if not bundle.has_reporter:
            raise BundleError(f"bundle {bundle.root} has no report model (exported without "
                              "a Phase 2 run)")
        self.bundle = bundle
        spec = bundle.section("instruct")
        self.k_tokens = int(spec["k_tokens"])
        self.use_hints = bool(spec["hints"])
        self.hint_heads = {str(k): str(v) for k, v in spec["hint_heads"].items()}
        self.max_text_tokens = int(spec["max_text_tokens"])
        self.align_dim = int(spec["align_dim"])
        self.tokenizer = HFTokenizer.from_file(bundle.path(LLM_TOKENIZER))
        self.grammar = grammar_for(self.tokenizer)
        self.table = np.load(bundle.path(LLM_EMBEDDINGS), mmap_mode="r")  # [V, d]
        self.decoder = DecoderSession(bundle.path(LLM_DECODER),
                                      DecoderSpec.from_manifest(bundle.section("llm")), threads)
        self.projector = make_session(bundle.path(PROJECTOR), threads)
        self.last_stats: DecodeStats | None = None
        self.last_seconds = 0.0
        self._lock = threading.Lock()

    @classmethod
    def load(cls, bundle: str | Path | Bundle, threads: int | None = None) -> Reporter:
        return cls(bundle if isinstance(bundle, Bundle) else load_bundle(bundle), threads)

    def report(self, observations: Sequence[Observation]) -> Report:
        """One report about a window of observations (empty window -> all-unknown report)."""
        return self.report_from(window_inputs(observations, self.hint_heads))

    def report_from(self, inputs: WindowInputs) -> Report:
        """Report from explicit vectors and hints (what ``report`` computes from observations)."""
        with self._lock:
            start = time.perf_counter()
            prompt = prompt_ids(inputs.modalities, self.k_tokens, self.tokenizer,
                                hints=inputs.hints if self.use_hints and inputs.hints else None)
            step = CachedStep(self.decoder, self.table, self.prompt_embeds(prompt, inputs))
            gen = constrained_generate(step, self.grammar, modalities=inputs.modalities,
                                       restrict=call_restriction(inputs),
                                       max_text_tokens=self.max_text_tokens)
            self.last_stats, self.last_seconds = gen.stats, time.perf_counter() - start
            return ground_call(gen.report, inputs, self.hint_heads.get("vocalization",
                                                                       "vocalization"))

    def prompt_embeds(self, prompt: PromptIds, inputs: WindowInputs) -> np.ndarray:
        """[T, d] prompt embeddings with the projector's soft tokens in their slots."""
        zero = np.zeros(self.align_dim, np.float32)
        feed = {"image_vec": (zero if inputs.image_vec is None else inputs.image_vec)[None],
                "audio_vec": (zero if inputs.audio_vec is None else inputs.audio_vec)[None],
                "has_image": np.array([inputs.image_vec is not None], np.float32),
                "has_audio": np.array([inputs.audio_vec is not None], np.float32)}
        feed = {k: v.astype(np.float32) for k, v in feed.items()}
        (soft,) = self.projector.run(["soft_tokens"], feed)  # [1, 2K, d]
        embeds = self.table[prompt.ids].astype(np.float32)  # [T, d]
        slots = np.concatenate([prompt.soft_positions[m] for m in MODALITY_ORDER])  # [2K]
        embeds[slots] = soft[0]
        return embeds
