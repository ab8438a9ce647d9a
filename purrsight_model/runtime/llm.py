"""The report LM on onnxruntime: a KV-cache decoder graph behind a ``step_fn``.

``CachedStep`` is what ``decoding.constrained_generate`` calls: each call appends the new ids
(forced runs arrive together and go through in ONE forward pass), advances ``position_ids``
past everything already in the cache, and returns the logits after the last id. The prompt
(with its soft-prompt rows) is not run on its own: it rides along with the first call, so a
report costs one pass for prompt + ``{"ears":"`` and one per decided token after that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from purrsight_model.runtime.sessions import make_session


@dataclass(frozen=True)
class DecoderSpec:
    """Decoder sizes from the manifest's ``llm`` section."""

    n_layers: int
    kv_heads: int
    head_dim: int
    hidden: int
    vocab: int

    @classmethod
    def from_manifest(cls, section: Mapping[str, object]) -> DecoderSpec:
        return cls(*(int(section[k]) for k in ("n_layers", "kv_heads", "head_dim", "hidden",
                                                "vocab")))  # type: ignore[call-overload]

    def past_names(self, prefix: str) -> list[str]:
        return [f"{prefix}_{kind}_{i}" for i in range(self.n_layers) for kind in ("key", "value")]


class DecoderSession:
    """One forward pass: embeddings + past -> last logits + presents."""

    def __init__(self, path: Path, spec: DecoderSpec, threads: int | None = None) -> None:
        self.spec = spec
        self.session = make_session(path, threads)
        self.outputs = ["logits", *spec.past_names("present")]
        self.past_names = spec.past_names("past")

    def empty_past(self) -> list[np.ndarray]:
        shape = (1, self.spec.kv_heads, 0, self.spec.head_dim)
        return [np.zeros(shape, np.float32) for _ in self.past_names]

    def run(self, embeds: np.ndarray, past: list[np.ndarray], past_len: int
            ) -> tuple[np.ndarray, list[np.ndarray]]:
        """embeds [1, S, d] after ``past_len`` cached positions -> (logits [V], presents)."""
        s = embeds.shape[1]
        feed = {
            "inputs_embeds": embeds.astype(np.float32, copy=False),
            "attention_mask": np.ones((1, past_len + s), np.int64),
            "position_ids": np.arange(past_len, past_len + s, dtype=np.int64)[None],  # [1, S]
            **dict(zip(self.past_names, past, strict=True)),
        }
        logits, *presents = self.session.run(self.outputs, feed)
        return logits[0], presents


@dataclass
class CachedStep:
    """``step_fn(new_ids) -> logits`` over a decoder, seeded with a prompt's embeddings."""

    decoder: DecoderSession
    table: np.ndarray  # [V, d] token embeddings (fp16 or fp32)
    prompt_embeds: np.ndarray  # [T, d] prompt rows, soft tokens already in place
    length: int = 0
    calls: list[int] = field(default_factory=list)  # ids per forward pass (for stats/tests)
    _past: list[np.ndarray] | None = None
    _last: np.ndarray | None = None

    def __call__(self, new_ids: list[int]) -> np.ndarray:
        rows = self.table[np.asarray(new_ids, np.int64)].astype(np.float32)  # [S, d]
        if self._past is None:
            rows = np.concatenate([self.prompt_embeds.astype(np.float32), rows])
            self._past = self.decoder.empty_past()
        if len(rows) == 0:
            if self._last is None:
                raise RuntimeError("step_fn called with no ids before any forward pass")
            return self._last
        logits, self._past = self.decoder.run(rows[None], self._past, self.length)
        self.length += len(rows)
        self.calls.append(len(rows))
        self._last = logits
        return logits
