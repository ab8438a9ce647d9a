"""Report model export: the causal LM as a KV-cache decoder graph, the projector, the token
embedding table and the tokenizer.

Decoder contract (what ``runtime.llm`` feeds)::

    inputs   inputs_embeds [B, S, d] f32, attention_mask [B, P+S] i64, position_ids [B, S] i64,
             past_key_{i}, past_value_{i} [B, kv_heads, P, head_dim] f32 for every layer i
    outputs  logits [B, V] (last position only), present_key_{i}, present_value_{i}
             [B, kv_heads, P+S, head_dim]

``inputs_embeds`` (not ids) lets soft-prompt rows in; the embedding table therefore lives
outside the graph as ``llm_embeddings.npy``. LoRA is merged into the base weights first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from purrsight_model.export.common import Parity, check_parity, export_module, ort_session, to_numpy

PROJECTOR_INPUTS = ("image_vec", "audio_vec", "has_image", "has_audio")
PROJECTOR_OUTPUT = "soft_tokens"


@dataclass(frozen=True)
class DecoderShape:
    """Sizes the runtime needs to build empty caches and embeddings."""

    n_layers: int
    kv_heads: int
    head_dim: int
    hidden: int
    vocab: int

    @classmethod
    def of(cls, lm: nn.Module) -> DecoderShape:
        c = lm.config
        head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
        return cls(int(c.num_hidden_layers), int(c.num_key_value_heads), int(head_dim),
                   int(c.hidden_size), int(c.vocab_size))

    def input_names(self) -> list[str]:
        return ["inputs_embeds", "attention_mask", "position_ids", *self.past_names("past")]

    def output_names(self) -> list[str]:
        return ["logits", *self.past_names("present")]

    def past_names(self, prefix: str) -> list[str]:
        return [f"{prefix}_{kind}_{i}" for i in range(self.n_layers) for kind in ("key", "value")]


class DecoderGraph(nn.Module):
    """HF causal LM with explicit, separately named past key/value tensors."""

    def __init__(self, lm: nn.Module) -> None:
        super().__init__()
        self.lm = lm.eval()
        self.shape = DecoderShape.of(lm)

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor,
                position_ids: torch.Tensor, *past: torch.Tensor) -> tuple[torch.Tensor, ...]:
        from transformers import DynamicCache

        pairs = [(past[2 * i], past[2 * i + 1]) for i in range(self.shape.n_layers)]
        cache = DynamicCache(ddp_cache_data=pairs, config=self.lm.config)
        out = self.lm(inputs_embeds=inputs_embeds, attention_mask=attention_mask,
                      position_ids=position_ids, past_key_values=cache, use_cache=True,
                      logits_to_keep=1)
        presents: list[torch.Tensor] = []
        for layer in out.past_key_values.layers:
            presents += [layer.keys, layer.values]
        return (out.logits[:, -1, :], *presents)  # [B, V], then [B, kv, P+S, hd] each


def decoder_inputs(shape: DecoderShape, b: int, s: int, p: int, seed: int = 0
                   ) -> tuple[np.ndarray, ...]:
    """Random embeddings + a consistent mask/positions/past of length ``p``."""
    rng = np.random.default_rng(seed)
    embeds = (rng.standard_normal((b, s, shape.hidden)) * 0.05).astype(np.float32)
    mask = np.ones((b, p + s), np.int64)
    positions = np.tile(np.arange(p, p + s, dtype=np.int64), (b, 1))
    past = [rng.standard_normal((b, shape.kv_heads, p, shape.head_dim)).astype(np.float32)
            for _ in range(2 * shape.n_layers)]
    return (embeds, mask, positions, *past)


def export_decoder(lm: nn.Module, path: Path) -> tuple[Parity, DecoderShape]:
    """Export the (LoRA-merged) LM; parity at the example sizes, at prefill and at one step."""
    graph = DecoderGraph(lm)
    shape = graph.shape
    example = decoder_inputs(shape, b=2, s=5, p=7)
    names_in, names_out = shape.input_names(), shape.output_names()
    axes = {"inputs_embeds": {0: "B", 1: "S"}, "attention_mask": {0: "B", 1: "T"},
            "position_ids": {0: "B", 1: "S"}, "logits": {0: "B"},
            **{n: {0: "B", 2: "P"} for n in shape.past_names("past")},
            **{n: {0: "B", 2: "T"} for n in shape.past_names("present")}}
    export_module(graph, tuple(torch.from_numpy(a) for a in example), path, names_in,
                  names_out, axes)
    session = ort_session(path)
    worst = None
    for b, s, p in ((2, 5, 7), (1, 9, 0), (1, 1, 12)):  # example, prefill, one decode step
        feed = decoder_inputs(shape, b, s, p, seed=s + p)
        with torch.no_grad():
            ref = to_numpy(graph(*(torch.from_numpy(a) for a in feed)))
        got = session.run(names_out, dict(zip(names_in, feed, strict=True)))
        parity = check_parity(f"llm_decoder b={b} s={s} past={p}", ref, got, tolerance=1e-3)
        worst = parity if worst is None or parity.max_abs_diff > worst.max_abs_diff else worst
    return worst, shape


class ProjectorGraph(nn.Module):
    """Projector with float presence flags: [B, 512] x2 -> [B, 2K, d] soft tokens."""

    def __init__(self, projector: nn.Module) -> None:
        super().__init__()
        self.projector = projector.eval()

    def forward(self, image_vec: torch.Tensor, audio_vec: torch.Tensor,
                has_image: torch.Tensor, has_audio: torch.Tensor) -> torch.Tensor:
        return self.projector({"image": image_vec, "audio": audio_vec},
                              {"image": has_image, "audio": has_audio})


def export_projector(projector: nn.Module, path: Path) -> Parity:
    rng = np.random.default_rng(1)
    dim = projector.in_dim
    x = (rng.standard_normal((3, dim)).astype(np.float32),
         rng.standard_normal((3, dim)).astype(np.float32),
         np.array([1, 0, 1], np.float32), np.array([1, 1, 0], np.float32))
    graph = ProjectorGraph(projector)
    export_module(graph, tuple(torch.from_numpy(a) for a in x), path, PROJECTOR_INPUTS,
                  [PROJECTOR_OUTPUT], {**{n: {0: "B"} for n in PROJECTOR_INPUTS},
                                       PROJECTOR_OUTPUT: {0: "B"}})
    with torch.no_grad():
        ref = to_numpy(graph(*(torch.from_numpy(a) for a in x)))
    got = ort_session(path).run([PROJECTOR_OUTPUT], dict(zip(PROJECTOR_INPUTS, x, strict=True)))
    return check_parity("projector", ref, got, tolerance=1e-4)


def embedding_table(lm: nn.Module) -> np.ndarray:
    """[V, d] float32 input embeddings."""
    return lm.get_input_embeddings().weight.detach().float().numpy().copy()


def save_table(table: np.ndarray, path: Path, fp16: bool) -> dict[str, float | str]:
    """Write the table (fp16 or fp32) and say how far fp16 rounding moved it."""
    half = table.astype(np.float16)
    err = float(np.abs(half.astype(np.float32) - table).max())
    np.save(path, half if fp16 else table)
    return {"dtype": "float16" if fp16 else "float32", "fp16_max_abs_rounding": err}
