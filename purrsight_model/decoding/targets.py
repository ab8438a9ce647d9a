"""Reports -> training target ids (+ loss mask) and ids -> reports.

Targets go through the same grammar walk as inference (``walk.walk``), so a trained model
sees exactly the token sequences the constrained decoder forces or offers. Two things are
normalised on the way in, because the decoder can produce nothing else:
- confidence is rounded to the grammar's grid (0.1 by default);
- free text is cleaned to characters allowed unescaped in a JSON string (``"`` -> ``'``,
  line breaks/tabs -> space, other control characters dropped), truncated to
  ``max_text_tokens`` if given, and falls back to ASCII if a character would need a token
  the decoder never offers (e.g. half of an emoji's UTF-8 bytes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from purrsight_model.decoding.grammar import (
    FORCED,
    STOP,
    TEXT,
    Choice,
    ReportGrammar,
    grammar_for,
    restrict_for_modalities,
)
from purrsight_model.decoding.tokenizer import DecodingError, TokenizerLike, is_text_char
from purrsight_model.decoding.walk import Recorder, walk
from purrsight_model.schema import MAX_TEXT_CHARS, TEXT_FIELDS, UNKNOWN, Report, parse_report


@dataclass(frozen=True)
class ReportTokens:
    """A report as target ids, with the kind of every id."""

    ids: np.ndarray  # [T] int64
    kinds: np.ndarray  # [T] uint8: FORCED / CHOICE / TEXT / STOP

    @property
    def loss_mask(self) -> np.ndarray:
        """[T] bool: ids the model decides at inference (forced ids carry no information)."""
        return self.kinds != FORCED

    def __len__(self) -> int:
        return int(self.ids.shape[0])


class _TargetEmitter(Recorder):
    """Answers every decision from a known report's token sequences."""

    def __init__(self, option_ids: Mapping[str, tuple[int, ...]], texts: Mapping[str, list[int]],
                 grammar: ReportGrammar) -> None:
        super().__init__()
        self._option_ids = option_ids
        self._texts = texts
        self._grammar = grammar

    def choose(self, menu: np.ndarray, field: str, pos: int) -> int:
        seq = self._option_ids[field]
        token = seq[pos] if pos < len(seq) else int(menu[-1])
        if token not in menu:
            raise DecodingError(f"{field}: target token {token} is not on the menu")
        return int(token)

    def write_text(self, field: str, stop_id: int) -> str:
        for token in self._texts[field]:
            self.emit(token, TEXT)
        self.emit(stop_id, STOP)
        return self._grammar.tokenizer.decode(self._texts[field])


def clean_text(text: str, grammar: ReportGrammar, *, max_tokens: int | None = None) -> list[int]:
    """Ids of ``text`` made decodable: only free-text ids, at most ``max_tokens`` of them."""
    text = text.replace('"', "'").replace("\\", "/")
    text = "".join(c if is_text_char(c) else (" " if c.isspace() else "") for c in text)
    text = " ".join(text.split())[:MAX_TEXT_CHARS]
    ids = grammar.tokenizer.encode(text) if text else []
    if not all(grammar.text_allowed[i] for i in ids):
        ascii_text = " ".join(text.encode("ascii", "ignore").decode("ascii").split())
        ids = [i for i in grammar.tokenizer.encode(ascii_text) if grammar.text_allowed[i]]
    return ids[:max_tokens] if max_tokens is not None else ids


def confidence_text(confidence: float, choice: Choice) -> str:
    """The grid option nearest to ``confidence``."""
    grid = np.array([float(o) for o in choice.options])
    return choice.options[int(np.argmin(np.abs(grid - float(confidence))))]


def mask_unobserved(report: Report) -> Report:
    """Set markers whose input is absent from ``modalities_used`` to ``unknown``."""
    rule = restrict_for_modalities(report.modalities_used)
    return report.model_copy(update={f: UNKNOWN for f in rule})


def tokenize_report(
    report: Report,
    grammar: ReportGrammar,
    *,
    restrict: Mapping[str, Sequence[str]] | None = None,
    max_text_tokens: int | None = None,
) -> ReportTokens:
    """Training target of ``report``: its ids and kinds, exactly as the decoder walks them.

    Raises DecodingError if a value breaks the modality rule (e.g. ``ears`` set without an
    image in ``modalities_used``; see ``mask_unobserved``) or ``restrict``.
    """
    values = report.to_dict()
    conf_choice = grammar.choice("confidence")
    values["confidence"] = confidence_text(report.confidence, conf_choice)
    option_ids: dict[str, tuple[int, ...]] = {}
    for seg in grammar.segments:
        if isinstance(seg, Choice):
            allowed = grammar.allowed_options(seg, report.modalities_used, restrict)
            idx = seg.options.index(values[seg.field])
            if idx not in allowed:
                raise DecodingError(
                    f"{seg.field}={values[seg.field]!r} is not allowed with modalities "
                    f"{list(report.modalities_used)} / restrict (see mask_unobserved)"
                )
            option_ids[seg.field] = seg.option_ids[idx]
    texts = {f: clean_text(values[f], grammar, max_tokens=max_text_tokens) for f in TEXT_FIELDS}
    emitter = _TargetEmitter(option_ids, texts, grammar)
    walk(grammar, emitter, modalities=report.modalities_used, restrict=restrict)
    return ReportTokens(np.array(emitter.ids, dtype=np.int64),
                        np.array(emitter.kinds, dtype=np.uint8))


def encode_report(report: Report, tokenizer: TokenizerLike) -> list[int]:
    """Target ids of ``report`` (segment-wise, as the decoder produces them)."""
    return tokenize_report(report, grammar_for(tokenizer)).ids.tolist()


def decode_ids_to_report(ids: Sequence[int], tokenizer: TokenizerLike) -> Report:
    """Parse report ids back into a Report (raises ``schema.ReportError`` if invalid)."""
    return parse_report(tokenizer.decode([int(i) for i in ids]))
