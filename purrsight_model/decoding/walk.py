"""One walk over the report grammar, shared by training targets and inference.

The walker decides *where* ids are forced and where a token must be chosen; an ``Emitter``
decides *which* token: the training emitter answers from a known report, the inference
emitter asks the model. Because both go through this one function, the ids a model is
trained on are exactly the ids the decoder would force or offer at inference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from purrsight_model.decoding.grammar import (
    CHOICE,
    FORCED,
    STOP,
    Choice,
    FreeText,
    Literal,
    ModalityList,
    ReportGrammar,
)
from purrsight_model.schema import MODALITIES


class Recorder:
    """Collects the report's ids with their kind (FORCED/CHOICE/TEXT/STOP)."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.kinds: list[int] = []

    def force(self, ids: Sequence[int]) -> None:
        """Append ids nobody chooses (literals, the rest of a settled option)."""
        self.ids.extend(int(i) for i in ids)
        self.kinds.extend([FORCED] * len(ids))

    def emit(self, token: int, kind: int) -> None:
        """Append one decided id."""
        self.ids.append(int(token))
        self.kinds.append(kind)

    def choose(self, menu: np.ndarray, field: str, pos: int) -> int:
        """Pick one id of ``menu`` ([M] int64, M >= 2) for token ``pos`` of ``field``.

        When the option typed so far is complete and longer options share it, the closing
        literal's first id is the LAST menu entry.
        """
        raise NotImplementedError

    def write_text(self, field: str, stop_id: int) -> str:
        """Emit a free text's ids, then ``stop_id`` (the closing literal's first id)."""
        raise NotImplementedError


def walk(
    grammar: ReportGrammar,
    emitter: Recorder,
    *,
    modalities: Iterable[str],
    restrict: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, str]:
    """Run the grammar through ``emitter``; return the field values as strings."""
    modalities = tuple(m for m in MODALITIES if m in set(modalities))
    values: dict[str, str] = {}
    segs = grammar.segments
    skip = 0  # ids of the next literal already emitted (its first id closed a value)
    for i, seg in enumerate(segs):
        if isinstance(seg, Literal):
            emitter.force(seg.ids[skip:])
            skip = 0
        elif isinstance(seg, Choice):
            stop_id = segs[i + 1].ids[0]
            cands = grammar.allowed_options(seg, modalities, restrict)
            values[seg.field], skip = _walk_choice(seg, cands, stop_id, emitter)
        elif isinstance(seg, FreeText):
            values[seg.field] = emitter.write_text(seg.field, segs[i + 1].ids[0])
            skip = 1
        elif isinstance(seg, ModalityList):
            emitter.force(seg.ids_by_set[modalities])
    return values


def _walk_choice(
    choice: Choice, cands: list[int], stop_id: int, emitter: Recorder
) -> tuple[str, int]:
    """Walk the option trie; force whenever one continuation is left. Returns (value, skip)."""
    seqs = choice.option_ids
    pos = 0
    while True:
        if len(cands) == 1:
            emitter.force(seqs[cands[0]][pos:])
            return choice.options[cands[0]], 0
        done = [c for c in cands if len(seqs[c]) == pos]
        nxt = sorted({seqs[c][pos] for c in cands if len(seqs[c]) > pos})
        menu = np.array(nxt + ([stop_id] if done else []), dtype=np.int64)
        if len(menu) == 1:
            token = int(menu[0])
            emitter.force([token])
        else:
            token = emitter.choose(menu, choice.field, pos)
            emitter.emit(token, STOP if done and token == stop_id else CHOICE)
        if done and token == stop_id:
            return choice.options[done[0]], 1
        cands = [c for c in cands if len(seqs[c]) > pos and seqs[c][pos] == token]
        pos += 1


__all__ = ["CHOICE", "FORCED", "STOP", "Recorder", "walk"]
