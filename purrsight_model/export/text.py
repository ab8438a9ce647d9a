"""Text query graph: token ids -> sentence embedding (mean pool + L2, the MiniLM recipe) ->
Phase 1 text projection -> [B, 512] vector in the shared space.

The tokenizer ships as the encoder folder's ``tokenizer.json`` and runs in the ``tokenizers``
library at run time; export checks that it produces the same ids as transformers does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from purrsight_model.export.common import (
    ExportError,
    Parity,
    check_parity,
    export_module,
    ort_session,
    to_numpy,
)

INPUTS = ("input_ids", "attention_mask")
OUTPUT = "text_vec"
PARITY_TEXTS = (
    "cat hissing near the door",
    "A relaxed cat purring on the sofa while someone brushes it.",
    "meow",
)
#: Typical search queries and captions: what INT8 is judged on (cosine against fp32).
QUERY_TEXTS = (
    *PARITY_TEXTS,
    "an angry cat growling at another cat",
    "kitten meowing while waiting for food",
    "the cat is calm and resting",
    "a frightened cat with flattened ears",
    "two cats fighting and yowling at night",
    "purring while being brushed by its owner",
    "a cat chirping at birds through the window",
    "the cat is alone and calling loudly",
    "a happy cat face",
    "a sad looking cat",
    "cat in pain crying",
)


@dataclass(frozen=True)
class TextSource:
    """A sentence encoder to export: HF model, its tokenizer.json and token limit."""

    model: nn.Module
    """BERT-like ``AutoModel`` (last_hidden_state output)."""
    tokenizer_json: Path
    """The fast tokenizer file the runtime will load."""
    max_tokens: int
    """Truncation length (sentence-transformers' max_seq_length)."""
    version: str
    """Encoder version id (must match the feature cache the run trained on)."""


class TextGraph(nn.Module):
    """Mean-pooled, L2-normalised token states, then the aligner's text projection."""

    def __init__(self, encoder: nn.Module, projection: nn.Module) -> None:
        super().__init__()
        self.encoder, self.projection = encoder.eval(), projection.eval()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # [B, T, 1]
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # [B, D]
        return self.projection(F.normalize(pooled, dim=-1))  # [B, 512]


def tokenize(tokenizer_json: Path, texts: list[str], max_tokens: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Padded ids and attention mask with ``tokenizers`` (exactly what the runtime does)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    tok.no_padding()
    tok.enable_truncation(max_length=max_tokens)
    encs = [tok.encode(t).ids for t in texts]
    width = max(len(e) for e in encs)
    ids = np.zeros((len(texts), width), np.int64)
    mask = np.zeros((len(texts), width), np.int64)
    for i, e in enumerate(encs):
        ids[i, : len(e)], mask[i, : len(e)] = e, 1
    return ids, mask


def export_text(source: TextSource, projection: nn.Module, path: Path,
                reference_ids: list[list[int]] | None = None) -> Parity:
    """Export the text graph; ``reference_ids`` (transformers' ids) check the tokenizer."""
    ids, mask = tokenize(source.tokenizer_json, list(PARITY_TEXTS), source.max_tokens)
    if reference_ids is not None:
        ours = [list(r[m > 0]) for r, m in zip(ids, mask, strict=True)]
        if ours != [list(r) for r in reference_ids]:
            raise ExportError(f"{source.tokenizer_json} tokenises differently from the "
                              "encoder's transformers tokenizer")
    graph = TextGraph(source.model, projection)
    export_module(graph, (torch.from_numpy(ids), torch.from_numpy(mask)), path, INPUTS,
                  [OUTPUT], {"input_ids": {0: "B", 1: "T"}, "attention_mask": {0: "B", 1: "T"},
                             OUTPUT: {0: "B"}})
    with torch.no_grad():
        ref = to_numpy(graph(torch.from_numpy(ids), torch.from_numpy(mask)))
    got = ort_session(path).run([OUTPUT], {"input_ids": ids, "attention_mask": mask})
    return check_parity("text_encoder", ref, got, tolerance=1e-4)
