"""Sentence encoders from local Hugging Face folders (MiniLM-L6-v2 or any BERT-like encoder).

Mean pooling over the attention mask, then L2 normalisation: the sentence-transformers
recipe of all-MiniLM-L6-v2, reproduced without that package.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from purrsight_model.encoders.base import EncoderError, sha256_file, version_id

BATCH = 64
DEFAULT_MAX_TOKENS = 256
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def _max_tokens(folder: Path, tokenizer_limit: int) -> int:
    """sentence-transformers' ``max_seq_length`` when present, capped by the tokenizer's limit."""
    cfg = folder / "sentence_bert_config.json"
    limit = DEFAULT_MAX_TOKENS
    if cfg.is_file():
        with contextlib.suppress(ValueError, OSError):
            limit = int(json.loads(cfg.read_text()).get("max_seq_length", limit))
    return min(limit, tokenizer_limit) if tokenizer_limit > 0 else limit


class HFTextEncoder:
    """Texts -> [N, D] L2-normalised mean-pooled token states."""

    def __init__(self, kind: str, folder: str | Path) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.folder = Path(folder)
        weights = self._weights_file()
        from transformers.utils import logging as hf_logging

        bar = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # a frozen encoder load is not worth a progress bar
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder), local_files_only=True)
            self.model = AutoModel.from_pretrained(
                str(self.folder), local_files_only=True, dtype=torch.float32
            )
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise EncoderError(f"cannot load text encoder from {self.folder}: {exc}") from exc
        finally:
            if bar:
                hf_logging.enable_progress_bar()
        self.model.eval().requires_grad_(False)
        self.kind = kind
        self.dim = int(self.model.config.hidden_size)
        self.version = version_id(kind, sha256_file(weights))
        self.max_tokens = _max_tokens(
            self.folder, int(getattr(self.tokenizer, "model_max_length", 0) or 0)
        )

    def _weights_file(self) -> Path:
        if not (self.folder / "config.json").is_file():
            raise EncoderError(f"{self.folder} is not a Hugging Face model folder (no config.json)")
        for name in _WEIGHT_FILES:
            if (self.folder / name).is_file():
                return self.folder / name
        raise EncoderError(f"no weights ({' or '.join(_WEIGHT_FILES)}) in {self.folder}")

    @torch.inference_mode()
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of strings, not one string")
        out = [np.zeros((0, self.dim), np.float32)]
        for start in range(0, len(texts), BATCH):
            batch = [str(t) for t in texts[start : start + BATCH]]
            tok = self.tokenizer(
                batch,
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_tensors="pt",
            )
            hidden = self.model(
                input_ids=tok["input_ids"],
                attention_mask=tok["attention_mask"],
                **({"token_type_ids": tok["token_type_ids"]} if "token_type_ids" in tok else {}),
            ).last_hidden_state  # [B, T, D]
            mask = tok["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # [B, T, 1]
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # [B, D]
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(out).astype(np.float32)
