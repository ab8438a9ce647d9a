"""The one report prompt, used by instruct training AND the torch-free runtime (numpy only).

SmolLM2-Instruct's ChatML layout with a short system prompt; the user turn holds one slot of
K soft-prompt tokens per modality (filled with projected embeddings by the caller) and,
optionally, Phase 1's head predictions as text hints::

    <|im_start|>system\\n{system}<|im_end|>\\n<|im_start|>user\\n
    image:[K soft]\\naudio (missing):[K soft]\\nhints: ears=forward, vocalization=purr\\n
    Report on the cat.<|im_end|>\\n<|im_start|>assistant\\n

The report JSON (``purrsight_model.decoding``) follows directly. Text pieces are tokenised
one by one around the slots, so no token straddles a soft-token position.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from purrsight_model.decoding.tokenizer import TokenizerLike
from purrsight_model.schema import MODALITIES

SYSTEM_PROMPT = "You watch a cat through a camera and a microphone. Reply with one JSON report."
"""Kept short: every prompt token is prefill cost on every report."""
INSTRUCTION = "Report on the cat."
CHAT_TOKENS = ("<|im_start|>", "<|im_end|>")


@dataclass(frozen=True)
class SoftSlot:
    """``n_tokens`` positions whose input embeddings come from a modality's projector."""

    modality: str
    n_tokens: int


Piece = str | SoftSlot


@dataclass(frozen=True)
class ChatPrompt:
    """The prompt as text pieces and soft-token slots, in order."""

    pieces: tuple[Piece, ...]

    @property
    def slots(self) -> tuple[SoftSlot, ...]:
        """The soft-token slots, in prompt order."""
        return tuple(p for p in self.pieces if isinstance(p, SoftSlot))

    def render(self, placeholder: str = "<soft>") -> str:
        """Readable text (for logs and docs), one ``placeholder`` per soft token."""
        return "".join(p if isinstance(p, str) else placeholder * p.n_tokens for p in self.pieces)


@dataclass(frozen=True)
class PromptIds:
    """A tokenised prompt: ids with placeholders where soft embeddings go."""

    ids: np.ndarray  # [T] int64; soft positions hold the placeholder id
    soft_positions: dict[str, np.ndarray]  # modality -> [K] int64 indices into ids

    @property
    def all_soft_positions(self) -> np.ndarray:
        """[S] int64: every soft position, slots in prompt order (matches a [S, d] block)."""
        if not self.soft_positions:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate(list(self.soft_positions.values()))


def format_hints(hints: Mapping[str, str | tuple[str, float]]) -> str:
    """``ears=forward, vocalization=purr(0.9)``: head predictions as one short line."""
    parts = []
    for name, value in hints.items():
        if isinstance(value, tuple):
            label, prob = value
            parts.append(f"{name}={label}({prob:.1f})")
        else:
            parts.append(f"{name}={value}")
    return ", ".join(parts)


def build_prompt(
    modalities: Iterable[str],
    k_tokens: int,
    *,
    hints: Mapping[str, str | tuple[str, float]] | None = None,
    absent_slots: bool = True,
    system: str = SYSTEM_PROMPT,
) -> ChatPrompt:
    """The report prompt for the inputs present.

    ``absent_slots``: keep a slot for a missing modality too (marked ``(missing)``), so the
    prompt always has ``len(MODALITIES) * k_tokens`` soft tokens in ``MODALITIES`` order (what
    a projector with learned "missing" blocks produces). False drops the slot: ``audio: none``.
    """
    present = set(modalities)
    if present - set(MODALITIES):
        raise ValueError(f"unknown modalities {sorted(present - set(MODALITIES))}")
    if k_tokens < 1:
        raise ValueError("k_tokens must be >= 1")
    pieces: list[Piece] = [f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n"]
    for m in MODALITIES:
        if m in present or absent_slots:
            pieces += [f"{m}{'' if m in present else ' (missing)'}:", SoftSlot(m, k_tokens), "\n"]
        else:
            pieces.append(f"{m}: none\n")
    if hints:
        pieces.append(f"hints: {format_hints(hints)}\n")
    pieces.append(f"{INSTRUCTION}<|im_end|>\n<|im_start|>assistant\n")
    return ChatPrompt(tuple(_merge_text(pieces)))


def _merge_text(pieces: Sequence[Piece]) -> list[Piece]:
    """Join adjacent text pieces (fewer segment boundaries, same ids at train and inference)."""
    out: list[Piece] = []
    for p in pieces:
        if isinstance(p, str) and out and isinstance(out[-1], str):
            out[-1] += p
        else:
            out.append(p)
    return out


def tokenize_prompt(
    prompt: ChatPrompt, tokenizer: TokenizerLike, *, placeholder_id: int | None = None
) -> PromptIds:
    """Ids of ``prompt`` plus where the soft embeddings go.

    ``placeholder_id`` fills soft positions (default ``<|endoftext|>``, else 0); the caller
    replaces those rows of the input embeddings with the projector's output.
    """
    missing = [t for t in CHAT_TOKENS if tokenizer.token_to_id(t) is None]
    if missing:
        raise ValueError(f"tokenizer lacks the ChatML tokens {missing}")
    if placeholder_id is None:
        placeholder_id = tokenizer.token_to_id("<|endoftext|>") or 0
    ids: list[int] = []
    positions: dict[str, np.ndarray] = {}
    for piece in prompt.pieces:
        if isinstance(piece, str):
            ids += tokenizer.encode(piece)
        else:
            positions[piece.modality] = np.arange(len(ids), len(ids) + piece.n_tokens,
                                                  dtype=np.int64)
            ids += [placeholder_id] * piece.n_tokens
    return PromptIds(np.array(ids, dtype=np.int64), positions)


def prompt_ids(
    modalities: Iterable[str],
    k_tokens: int,
    tokenizer: TokenizerLike,
    *,
    hints: Mapping[str, str | tuple[str, float]] | None = None,
    absent_slots: bool = True,
) -> PromptIds:
    """``tokenize_prompt(build_prompt(...))`` in one call (what training and runtime use)."""
    prompt = build_prompt(modalities, k_tokens, hints=hints, absent_slots=absent_slots)
    return tokenize_prompt(prompt, tokenizer)
