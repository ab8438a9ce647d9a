"""A small LoRA: low-rank adapters on chosen linear layers of a frozen model.

Only the adapters are trained and saved; ``merge_lora`` folds them into the base weights
for export, so the runtime graph has no extra matmuls.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import torch
from torch import nn


class LoRALinear(nn.Module):
    """y = W x + (alpha / r) * B A x, with W frozen and A, B trained (B starts at zero)."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.base = base
        self.rank, self.scale = rank, alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        delta = self.dropout(x) @ self.lora_a.t() @ self.lora_b.t()  # [..., out]
        return self.base(x) + self.scale * delta

    def merged_weight(self) -> torch.Tensor:
        return self.base.weight + self.scale * (self.lora_b @ self.lora_a)  # [out, in]


def layer_names(model: nn.Module, targets: Iterable[str], last_layers: int) -> list[str]:
    """Names of target linears (e.g. q_proj, v_proj) in the last ``last_layers`` blocks."""
    targets = tuple(targets)
    found = [n for n, m in model.named_modules()
             if isinstance(m, nn.Linear) and n.rsplit(".", 1)[-1] in targets]
    layer_ids = sorted({int(m.group(1)) for n in found if (m := re.search(r"\.(\d+)\.", n))})
    keep = set(layer_ids[-last_layers:]) if last_layers > 0 else set(layer_ids)
    return [n for n in found if (m := re.search(r"\.(\d+)\.", n)) and int(m.group(1)) in keep]


def add_lora(model: nn.Module, names: Iterable[str], rank: int, alpha: float,
             dropout: float = 0.0) -> list[str]:
    """Replace the named linears by LoRALinear wrappers in place; return the names."""
    names = list(names)
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        base = getattr(parent, child)
        if not isinstance(base, nn.Linear):
            raise TypeError(f"{name} is not nn.Linear")
        setattr(parent, child, LoRALinear(base, rank, alpha, dropout))
    return names


def lora_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Only the adapter tensors (what a run saves)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()
            if k.endswith(("lora_a", "lora_b"))}


def merge_lora(model: nn.Module) -> int:
    """Fold every adapter into its base linear and unwrap it; return how many were merged."""
    merged = 0
    for name, module in list(model.named_modules()):
        if isinstance(module, LoRALinear):
            with torch.no_grad():
                module.base.weight.copy_(module.merged_weight())
            parent_name, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent_name), child, module.base)
            merged += 1
    return merged
