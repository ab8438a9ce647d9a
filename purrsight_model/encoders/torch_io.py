"""Read a torch/safetensors checkpoint into a plain ``{key: tensor}`` dict, or fail clearly."""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch

from purrsight_model.encoders.base import EncoderError, require_file

_WRAPPERS = ("state_dict", "model", "state_dict_ema", "model_state", "module")


def load_state_dict(path: str | os.PathLike[str], what: str) -> dict[str, torch.Tensor]:
    """Tensors of a ``.pth/.pt/.bin/.ckpt`` (``weights_only``) or ``.safetensors`` file.

    Common wrappers (``{'model': ...}``, ``{'state_dict': ...}``) and a DataParallel
    ``module.`` prefix are removed; anything that is not a mapping of tensors is refused.
    """
    p = require_file(path, what)
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            obj = load_file(str(p), device="cpu")
        else:
            obj = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip/safetensors each raise their own types
        raise EncoderError(f"cannot read {what} {p}: {type(exc).__name__}: {exc}") from exc
    for key in _WRAPPERS:
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping) or not obj:
        raise EncoderError(f"{what} {p} does not contain a state dict")
    state = {str(k).removeprefix("module."): v for k, v in obj.items()}
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise EncoderError(f"{what} {p} has non-tensor entries, e.g. {bad[:3]}")
    return state


def load_strict(
    model: torch.nn.Module, state: Mapping[str, torch.Tensor], path: object, what: str
) -> None:
    """``load_state_dict(strict=True, assign=True)`` with a readable EncoderError on any mismatch.

    ``assign`` lets callers build the module on the ``meta`` device (no wasted random init);
    floating tensors are cast to contiguous float32 first (half-precision checkpoints exist).
    """
    state = {k: v.float().contiguous() if v.is_floating_point() else v for k, v in state.items()}
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        raise EncoderError(
            f"{what} {path} does not fit the architecture: {str(exc)[:600]}"
        ) from exc


def set_threads(threads: int) -> None:
    """Apply an explicit torch intra-op thread count (0 leaves torch's default alone)."""
    if threads > 0:
        torch.set_num_threads(threads)
