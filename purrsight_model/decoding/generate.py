"""Schema-constrained generation of a report from any next-token model, in numpy.

The model is reached only through ``step_fn(new_ids) -> logits``: append ``new_ids`` to the
model's context (its KV cache) and return the next-token logits after the last one. The
decoder buffers forced ids and hands them over in ONE call right before it needs logits, so
a report costs one forward call per *decided* token, not per token. Every menu the decoder
picks from holds only ids that keep the JSON on the grammar, so the result parses with
``schema.parse_report`` whatever the logits are (NaN, +-inf, all weight on ``"``...).

The caller prefills its prompt however it likes (soft-prompt embeddings included). Every
report starts with a forced literal, so the decoder never needs the prompt's own logits; a
caller may even defer its prefill into the first ``step_fn`` call (one forward pass for
prompt + ``{"ears":"``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from purrsight_model.decoding.grammar import CHOICE, FORCED, STOP, TEXT, ReportGrammar
from purrsight_model.decoding.tokenizer import DecodingError, is_text_char
from purrsight_model.decoding.walk import Recorder, walk
from purrsight_model.schema import MAX_TEXT_CHARS, MODALITIES, Report

StepFn = Callable[[list[int]], np.ndarray]


@dataclass
class DecodeStats:
    """Where a report's tokens came from and what it cost."""

    n_tokens: int = 0
    """Report ids in total."""
    n_forced: int = 0
    """Ids appended without asking the model (literals, settled option tails, forced closes)."""
    n_chosen: int = 0
    """Enum/confidence ids picked among >= 2 continuations."""
    n_text: int = 0
    """Free-text ids."""
    n_stop: int = 0
    """Closing ids the model picked to end a free text (or a prefix option)."""
    n_calls: int = 0
    """``step_fn`` calls (= forward passes after the prompt)."""
    truncated: list[str] = field(default_factory=list)
    """Text fields cut at ``max_text_tokens`` or the character budget."""


class Generation(NamedTuple):
    """Result of ``constrained_generate``; unpacks as ``report, ids, stats``."""

    report: Report
    ids: list[int]
    stats: DecodeStats


def pick(menu: np.ndarray, logits: np.ndarray, temperature: float,
         rng: np.random.Generator | None) -> int:
    """Pick one id of ``menu`` ([M] int64) from ``logits`` ([V]); robust to NaN/inf."""
    scores = logits[menu].astype(np.float64)  # [M]
    scores[np.isnan(scores)] = -np.inf
    if temperature <= 0.0:
        return int(menu[int(np.argmax(scores))])
    if np.isposinf(scores).any():
        probs = np.isposinf(scores).astype(np.float64)
    elif np.isneginf(scores).all():
        probs = np.ones_like(scores)
    else:
        z = (scores - scores.max()) / temperature
        probs = np.exp(z)
    rng = rng if rng is not None else np.random.default_rng()
    return int(menu[int(rng.choice(len(menu), p=probs / probs.sum()))])


class _ModelEmitter(Recorder):
    """Decides tokens from model logits; batches forced ids into the next step_fn call."""

    def __init__(self, step_fn: StepFn, grammar: ReportGrammar, max_text_tokens: int,
                 temperature: float, rng: np.random.Generator | None) -> None:
        super().__init__()
        self.step_fn, self.grammar = step_fn, grammar
        self.max_text_tokens, self.temperature, self.rng = max_text_tokens, temperature, rng
        self.pending: list[int] = []
        self.stats = DecodeStats()

    def force(self, ids: Sequence[int]) -> None:
        super().force(ids)
        self.pending.extend(int(i) for i in ids)

    def emit(self, token: int, kind: int) -> None:
        super().emit(token, kind)
        self.pending.append(int(token))

    def _logits(self) -> np.ndarray:
        new, self.pending = self.pending, []
        logits = np.asarray(self.step_fn(new))
        self.stats.n_calls += 1
        if logits.ndim > 1 and all(d == 1 for d in logits.shape[:-1]):
            logits = logits.reshape(-1)
        if logits.ndim != 1 or logits.shape[0] < self.grammar.vocab_size:
            raise DecodingError(
                f"step_fn returned logits of shape {logits.shape}; "
                f"expected [V] with V >= {self.grammar.vocab_size}"
            )
        return logits

    def choose(self, menu: np.ndarray, field: str, pos: int) -> int:
        return pick(menu, self._logits(), self.temperature, self.rng)

    def write_text(self, field: str, stop_id: int) -> str:
        g = self.grammar
        menu_all = g.text_menu(stop_id)  # [N+1], stop id last
        longest = int(g.text_lens.max(initial=0))
        out: list[int] = []
        budget = MAX_TEXT_CHARS
        for _ in range(self.max_text_tokens):
            if budget <= 0:
                break
            menu = menu_all if budget >= longest else menu_all[np.append(g.text_lens <= budget, True)]
            token = pick(menu, self._logits(), self.temperature, self.rng)
            if token == stop_id:
                self.emit(stop_id, STOP)
                return _text_value(g, out)
            out.append(token)
            self.emit(token, TEXT)
            budget -= int(g.token_lens[token])
        self.stats.truncated.append(field)
        self.force([stop_id])
        return _text_value(g, out)


def _text_value(grammar: ReportGrammar, ids: list[int]) -> str:
    """Decoded free text; the filter is a belt for tokenizers that decode non-additively."""
    text = grammar.tokenizer.decode(ids)
    return "".join(c for c in text if is_text_char(c))[:MAX_TEXT_CHARS]


def constrained_generate(
    step_fn: StepFn,
    grammar: ReportGrammar,
    *,
    modalities: Iterable[str] = MODALITIES,
    restrict: Mapping[str, Sequence[str]] | None = None,
    max_text_tokens: int = 24,
    temperature: float = 0.0,
    rng: np.random.Generator | None = None,
) -> Generation:
    """Decode one schema-valid report from a model; see the module docstring.

    ``modalities`` are the inputs actually present: they are written to ``modalities_used``
    and markers without their input are forced to ``unknown``. ``restrict`` narrows any
    choice field further (field -> allowed values). ``temperature`` 0 is greedy.
    """
    if max_text_tokens < 0:
        raise ValueError("max_text_tokens must be >= 0")
    modalities = set(modalities)
    if modalities - set(MODALITIES):
        raise ValueError(f"unknown modalities {sorted(modalities - set(MODALITIES))}")
    present = tuple(m for m in MODALITIES if m in modalities)
    emitter = _ModelEmitter(step_fn, grammar, max_text_tokens, temperature, rng)
    values = walk(grammar, emitter, modalities=present, restrict=restrict)
    report = Report(**{**values, "confidence": float(values["confidence"]),
                       "modalities_used": present})
    kinds = np.array(emitter.kinds)
    stats = emitter.stats
    stats.n_tokens = len(emitter.ids)
    stats.n_forced, stats.n_chosen, stats.n_text, stats.n_stop = (
        int((kinds == k).sum()) for k in (FORCED, CHOICE, TEXT, STOP)
    )
    return Generation(report, list(emitter.ids), stats)
