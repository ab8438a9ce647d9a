"""The report grammar: compact report JSON as forced literals, enum choices and free text.

A report serialises as ``{"ears":"forward",...,"summary":"...","advice":"...",
"confidence":0.7,"modalities_used":["audio"]}`` (``REPORT_FIELDS`` order, no spaces). Every
piece is tokenised on its own (segment-wise), once per tokenizer, and cached here, so the
training targets and the inference-time forced/choice runs are the very same id sequences:
tokenising the whole string at once could merge tokens across a literal/value boundary, which
the decoder can never reproduce.

Rules that make every decoded report parse (checked when the grammar is built):
- every choice and free text is followed by a literal; a free text's closing literal starts
  with ``"``, a token no free-text token may contain;
- free-text tokens are whole characters allowed unescaped in JSON (``is_text_char``);
- decoding the concatenated segment ids gives the concatenated segment texts.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from purrsight_model.decoding.tokenizer import DecodingError, TokenizerLike, is_text_char
from purrsight_model.schema import (
    CATEGORICAL_FIELDS,
    MODALITIES,
    TEXT_FIELDS,
    UNKNOWN,
    allowed_values,
)

#: Token kinds of a report's ids (training uses them as a loss mask; stats count them).
FORCED, CHOICE, TEXT, STOP = 0, 1, 2, 3
#: Markers that need a picture / a sound: without that input they can only be ``unknown``.
IMAGE_FIELDS = ("ears", "tail", "posture")
AUDIO_FIELDS = ("vocalization",)


@dataclass(frozen=True)
class Literal:
    """Fixed JSON text between values (keys, quotes, commas), always forced."""

    text: str
    ids: tuple[int, ...]


@dataclass(frozen=True)
class Choice:
    """An enum-valued field: the model picks one of ``options`` (token sequences ``option_ids``)."""

    field: str
    options: tuple[str, ...]
    option_ids: tuple[tuple[int, ...], ...]

    @cached_property
    def has_prefix_options(self) -> bool:
        """True if some option's ids are a strict prefix of another's (needs a stop token)."""
        seqs = set(self.option_ids)
        return any(s[:n] in seqs for s in self.option_ids for n in range(1, len(s)))


@dataclass(frozen=True)
class FreeText:
    """A free-text string field; it ends when the model picks its closing literal's first id."""

    field: str


@dataclass(frozen=True)
class ModalityList:
    """The forced tail ``["image","audio"]}``: taken from the inputs present, never chosen."""

    ids_by_set: Mapping[tuple[str, ...], tuple[int, ...]]


Segment = Literal | Choice | FreeText | ModalityList


def confidence_options(decimals: int = 1) -> tuple[str, ...]:
    """Confidence strings on a grid: ``"0.0" .. "1.0"`` (decimals=1) or ``"0.00" .. "1.00"``."""
    if decimals not in (1, 2):
        raise ValueError("confidence decimals must be 1 or 2")
    n = 10**decimals
    return tuple(f"{i / n:.{decimals}f}" for i in range(n + 1))


def modality_tail(modalities: Iterable[str]) -> str:
    """JSON text of the modality list plus the closing brace, in ``MODALITIES`` order."""
    present = [m for m in MODALITIES if m in set(modalities)]
    return "[" + ",".join(f'"{m}"' for m in present) + "]}"


def restrict_for_modalities(modalities: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Fields forced to ``unknown`` because their input is missing (no image -> no ears...)."""
    present = set(modalities)
    out: dict[str, tuple[str, ...]] = {}
    if "image" not in present:
        out.update({f: (UNKNOWN,) for f in IMAGE_FIELDS})
    if "audio" not in present:
        out.update({f: (UNKNOWN,) for f in AUDIO_FIELDS})
    return out


class ReportGrammar:
    """Segments of the report JSON, pre-tokenised, plus the vocab masks decoding needs.

    Build once per tokenizer (``grammar_for`` caches it); everything per-step is a lookup.
    """

    def __init__(self, tokenizer: TokenizerLike, *, confidence_decimals: int = 1) -> None:
        self.tokenizer = tokenizer
        self.vocab_size = int(tokenizer.vocab_size)
        self.confidence_decimals = confidence_decimals
        self._menus: dict[int, np.ndarray] = {}
        self.segments: tuple[Segment, ...] = tuple(self._build_segments())
        self._check()

    # --- construction -----------------------------------------------------------------
    def _ids(self, text: str) -> tuple[int, ...]:
        ids = tuple(self.tokenizer.encode(text))
        if not ids:
            raise DecodingError(f"tokenizer gives no ids for {text!r}")
        return ids

    def _choice(self, field: str, options: tuple[str, ...]) -> Choice:
        return Choice(field, options, tuple(self._ids(o) for o in options))

    def _build_segments(self) -> Iterable[Segment]:
        fields = list(CATEGORICAL_FIELDS)
        opener = '{"'
        for field in fields:
            yield Literal(f'{opener}{field}":"', self._ids(f'{opener}{field}":"'))
            yield self._choice(field, allowed_values(field))
            opener = '","'
        for field in TEXT_FIELDS:
            yield Literal(f'","{field}":"', self._ids(f'","{field}":"'))
            yield FreeText(field)
        yield Literal('","confidence":', self._ids('","confidence":'))
        yield self._choice("confidence", confidence_options(self.confidence_decimals))
        yield Literal(',"modalities_used":', self._ids(',"modalities_used":'))
        subsets = [(), ("image",), ("audio",), ("image", "audio")]
        yield ModalityList({s: self._ids(modality_tail(s)) for s in subsets})

    def _check(self) -> None:
        """Refuse tokenizers whose segment-wise ids do not decode back to the segment texts."""
        segs = self.segments
        if not isinstance(segs[0], Literal):
            raise DecodingError("grammar must start with a literal")
        for seg, nxt in zip(segs, (*segs[1:], None), strict=True):
            if isinstance(seg, Choice | FreeText) and not isinstance(nxt, Literal):
                raise DecodingError(f"{seg.field} must be followed by a literal")
            if isinstance(seg, FreeText) and (not nxt.text.startswith('"') or
                                              self.text_allowed[nxt.ids[0]]):
                raise DecodingError(f"closing literal of {seg.field} is ambiguous with text")
            if isinstance(seg, Choice) and any(
                self.tokenizer.decode(ids) != o for o, ids in zip(seg.options, seg.option_ids,
                                                                  strict=True)
            ):
                raise DecodingError(f"{seg.field}: an option does not decode to itself")
        texts, ids = self.example_pieces()
        if self.tokenizer.decode(ids) != "".join(texts):
            raise DecodingError(
                f"{self.tokenizer!r} does not decode segment-wise ids to the joined text "
                "(needs a byte-level BPE-like decoder that adds no spaces)"
            )

    def example_pieces(self) -> tuple[list[str], list[int]]:
        """Texts and ids of a sample report (first option everywhere, a short text)."""
        texts: list[str] = []
        ids: list[int] = []
        for seg in self.segments:
            if isinstance(seg, Literal):
                texts.append(seg.text)
                ids += seg.ids
            elif isinstance(seg, Choice):
                texts.append(seg.options[0])
                ids += seg.option_ids[0]
            elif isinstance(seg, FreeText):
                texts.append("The cat rests.")
                ids += self.tokenizer.encode("The cat rests.")
            else:
                texts.append(modality_tail(MODALITIES))
                ids += seg.ids_by_set[MODALITIES]
        return texts, ids

    # --- lookups ----------------------------------------------------------------------
    def choice(self, field: str) -> Choice:
        """The Choice segment of a field (categorical fields and ``confidence``)."""
        for seg in self.segments:
            if isinstance(seg, Choice) and seg.field == field:
                return seg
        raise KeyError(field)

    @cached_property
    def token_texts(self) -> list[str | None]:
        """Per id, the text the token adds (None: special or partial character)."""
        return self.tokenizer.token_texts()

    @cached_property
    def text_allowed(self) -> np.ndarray:
        """[V] bool: ids allowed inside a free-text string (non-empty, all ``is_text_char``)."""
        allowed = np.zeros(self.vocab_size, dtype=bool)
        for i, text in enumerate(self.token_texts):
            allowed[i] = bool(text) and all(is_text_char(c) for c in text)
        return allowed

    @cached_property
    def text_ids(self) -> np.ndarray:
        """[N] int64: the allowed free-text ids (the decode menu, without the stop id)."""
        return np.flatnonzero(self.text_allowed).astype(np.int64)

    @cached_property
    def token_lens(self) -> np.ndarray:
        """[V] int32: characters a free-text id adds (0 for ids not allowed in text)."""
        lens = np.array([len(t or "") for t in self.token_texts], dtype=np.int32)
        return np.where(self.text_allowed, lens, 0).astype(np.int32)

    @cached_property
    def text_lens(self) -> np.ndarray:
        """[N] int32: characters each ``text_ids`` entry adds (for the MAX_TEXT_CHARS budget)."""
        return self.token_lens[self.text_ids]

    def text_menu(self, stop_id: int) -> np.ndarray:
        """[N+1] int64: text ids followed by the closing literal's first id (cached)."""
        if stop_id not in self._menus:
            self._menus[stop_id] = np.append(self.text_ids, np.int64(stop_id))
        return self._menus[stop_id]

    def allowed_options(
        self, choice: Choice, modalities: Iterable[str], restrict: Mapping[str, Sequence[str]] | None
    ) -> list[int]:
        """Indices of ``choice.options`` allowed by the modality rule and ``restrict``."""
        allowed = set(choice.options)
        for rule in (restrict_for_modalities(modalities), restrict or {}):
            if choice.field in rule:
                bad = set(rule[choice.field]) - set(choice.options)
                if bad:
                    raise ValueError(f"restrict[{choice.field!r}] has unknown values {sorted(bad)}")
                allowed &= set(rule[choice.field])
        if not allowed:
            raise ValueError(f"restrict leaves no allowed value for {choice.field!r}")
        return [i for i, o in enumerate(choice.options) if o in allowed]


_GRAMMARS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def grammar_for(tokenizer: TokenizerLike, *, confidence_decimals: int = 1) -> ReportGrammar:
    """The cached grammar of a tokenizer (built once: segment ids, vocab masks)."""
    try:
        per_tok = _GRAMMARS.setdefault(tokenizer, {})
    except TypeError:  # not weak-referenceable: build every time
        return ReportGrammar(tokenizer, confidence_decimals=confidence_decimals)
    if confidence_decimals not in per_tok:
        per_tok[confidence_decimals] = ReportGrammar(
            tokenizer, confidence_decimals=confidence_decimals
        )
    return per_tok[confidence_decimals]
