"""MobileNetV4 (conv variants) as our own module, with timm's state-dict key names.

Users may bring a timm-format MobileNetV4 checkpoint (e.g. ``mobilenetv4_conv_small``); we
rebuild the architecture without depending on timm. The variant is chosen by matching the
checkpoint's full key/shape set against each supported layout, so a wrong or partial file is
refused instead of silently mis-loaded. Architecture facts from Qin et al., 2024 (MobileNetV4)
and timm's layout: ``conv_stem``/``bn1`` stem, ``blocks.<stage>.<i>``, pooled
``conv_head``/``norm_head`` and ``classifier``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from purrsight_model.encoders.mobilenet_v2 import make_divisible


@dataclass(frozen=True)
class Block:
    """One block: ``cn`` conv-bn-act, ``er`` fused inverted residual, ``uir`` universal IR."""

    kind: str
    out: int
    stride: int = 1
    kernel: int = 3  # cn/er kernel
    start: int = 0  # uir leading depthwise kernel (0 = none)
    mid: int = 0  # uir middle depthwise kernel (0 = none)
    expand: float = 1.0


def _cn(out: int, k: int, s: int = 1) -> Block:
    return Block("cn", out, s, kernel=k)


def _er(out: int, k: int, s: int, e: float) -> Block:
    return Block("er", out, s, kernel=k, expand=e)


def _uir(out: int, a: int, k: int, s: int, e: float, repeat: int = 1) -> list[Block]:
    """``repeat`` blocks; only the first one strides."""
    return [Block("uir", out, s if i == 0 else 1, start=a, mid=k, expand=e) for i in range(repeat)]


VARIANTS: dict[str, tuple[int, list[list[Block]]]] = {
    "conv_small": (
        32,
        [
            [_cn(32, 3, 2), _cn(32, 1)],
            [_cn(96, 3, 2), _cn(64, 1)],
            [*_uir(96, 5, 5, 2, 3), *_uir(96, 0, 3, 1, 2, 4), *_uir(96, 3, 0, 1, 4)],
            [
                *_uir(128, 3, 3, 2, 6),
                *_uir(128, 5, 5, 1, 4),
                *_uir(128, 0, 5, 1, 4),
                *_uir(128, 0, 5, 1, 3),
                *_uir(128, 0, 3, 1, 4, 2),
            ],
            [_cn(960, 1)],
        ],
    ),
    "conv_medium": (
        32,
        [
            [_er(48, 3, 2, 4)],
            [*_uir(80, 3, 5, 2, 4), *_uir(80, 3, 3, 1, 2)],
            [
                *_uir(160, 3, 5, 2, 6),
                *_uir(160, 3, 3, 1, 4, 2),
                *_uir(160, 3, 5, 1, 4),
                *_uir(160, 3, 3, 1, 4),
                *_uir(160, 3, 0, 1, 4),
                *_uir(160, 0, 0, 1, 2),
                *_uir(160, 3, 0, 1, 4),
            ],
            [
                *_uir(256, 5, 5, 2, 6),
                *_uir(256, 5, 5, 1, 4),
                *_uir(256, 3, 5, 1, 4, 2),
                *_uir(256, 0, 0, 1, 4),
                *_uir(256, 3, 0, 1, 4),
                *_uir(256, 3, 5, 1, 2),
                *_uir(256, 5, 5, 1, 4),
                *_uir(256, 0, 0, 1, 4, 2),
                *_uir(256, 5, 0, 1, 2),
            ],
            [_cn(960, 1)],
        ],
    ),
    "conv_large": (
        24,
        [
            [_er(48, 3, 2, 4)],
            [*_uir(96, 3, 5, 2, 4), *_uir(96, 3, 3, 1, 4)],
            [
                *_uir(192, 3, 5, 2, 4),
                *_uir(192, 3, 3, 1, 4, 3),
                *_uir(192, 3, 5, 1, 4),
                *_uir(192, 5, 3, 1, 4, 5),
                *_uir(192, 3, 0, 1, 4),
            ],
            [
                *_uir(512, 5, 5, 2, 4, 4),
                *_uir(512, 5, 0, 1, 4),
                *_uir(512, 5, 3, 1, 4),
                *_uir(512, 5, 0, 1, 4, 2),
                *_uir(512, 5, 3, 1, 4),
                *_uir(512, 5, 5, 1, 4),
                *_uir(512, 5, 0, 1, 4, 3),
            ],
            [_cn(960, 1)],
        ],
    ),
}
HEAD_DIM = 1280


class ConvNorm(nn.Module):
    """``conv`` + ``bn`` (+ ReLU): timm's ConvNormAct key layout."""

    def __init__(
        self, inp: int, out: int, k: int, stride: int = 1, groups: int = 1, act: bool = True
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            inp, out, k, stride, ((stride - 1) + (k - 1)) // 2, groups=groups, bias=False
        )
        self.bn = nn.BatchNorm2d(out)
        self.act = nn.ReLU(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class ConvBnAct(nn.Module):
    """``cn`` block: conv (keys ``conv``) + BN-ReLU (keys ``bn1``), no residual."""

    def __init__(self, inp: int, spec: Block) -> None:
        super().__init__()
        k, s = spec.kernel, spec.stride
        self.conv = nn.Conv2d(inp, spec.out, k, s, ((s - 1) + (k - 1)) // 2, bias=False)
        self.bn1 = nn.BatchNorm2d(spec.out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn1(self.conv(x)))


class EdgeResidual(nn.Module):
    """``er`` block: full kxk expansion conv, then linear 1x1 projection."""

    def __init__(self, inp: int, spec: Block) -> None:
        super().__init__()
        mid = make_divisible(inp * spec.expand)
        k, s = spec.kernel, spec.stride
        self.conv_exp = nn.Conv2d(inp, mid, k, s, ((s - 1) + (k - 1)) // 2, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv_pwl = nn.Conv2d(mid, spec.out, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(spec.out)
        self.has_skip = inp == spec.out and s == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv_pwl(torch.relu(self.bn1(self.conv_exp(x)))))
        return x + y if self.has_skip else y


class UniversalInvertedResidual(nn.Module):
    """``uir`` block: [dw start] -> 1x1 expand -> [dw mid] -> 1x1 project, residual if shapes allow."""

    def __init__(self, inp: int, spec: Block) -> None:
        super().__init__()
        mid = make_divisible(inp * spec.expand)
        s = spec.stride
        self.dw_start = (
            ConvNorm(inp, inp, spec.start, s if not spec.mid else 1, groups=inp, act=False)
            if spec.start
            else nn.Identity()
        )
        self.pw_exp = ConvNorm(inp, mid, 1)
        self.dw_mid = ConvNorm(mid, mid, spec.mid, s, groups=mid) if spec.mid else nn.Identity()
        self.pw_proj = ConvNorm(mid, spec.out, 1, act=False)
        self.has_skip = inp == spec.out and s == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pw_proj(self.dw_mid(self.pw_exp(self.dw_start(x))))
        return x + y if self.has_skip else y


_BLOCKS = {"cn": ConvBnAct, "er": EdgeResidual, "uir": UniversalInvertedResidual}


class MobileNetV4(nn.Module):
    """Conv MobileNetV4; ``forward`` returns (pooled head features [N, 1280], logits or None)."""

    def __init__(self, variant: str = "conv_small", num_classes: int = 1000) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown MobileNetV4 variant {variant!r}; known: {sorted(VARIANTS)}")
        stem, stages = VARIANTS[variant]
        self.variant = variant
        self.conv_stem = nn.Conv2d(3, stem, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        inp, built = stem, []
        for stage in stages:
            blocks = []
            for spec in stage:
                blocks.append(_BLOCKS[spec.kind](inp, spec))
                inp = spec.out
            built.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*built)
        self.conv_head = nn.Conv2d(inp, HEAD_DIM, 1, bias=False)
        self.norm_head = nn.BatchNorm2d(HEAD_DIM)
        self.out_dim = HEAD_DIM
        self.classifier = nn.Linear(HEAD_DIM, num_classes) if num_classes > 0 else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x: [N, 3, H, W] normalised RGB."""
        y = self.blocks(torch.relu(self.bn1(self.conv_stem(x))))  # [N, 960, h, w]
        y = y.mean(dim=(2, 3), keepdim=True)  # MobileNetV4 pools before the head conv
        feats = torch.relu(self.norm_head(self.conv_head(y))).flatten(1)  # [N, 1280]
        return feats, (self.classifier(feats) if self.classifier is not None else None)


def _shapes(state: Mapping[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in state.items()}


def detect_variant(state: Mapping[str, torch.Tensor]) -> tuple[str, int]:
    """(variant, num_classes) whose key/shape set equals the checkpoint's; ValueError otherwise."""
    head = state.get("classifier.weight")
    num_classes = int(head.shape[0]) if head is not None else 0
    want = _shapes(state)
    for name in VARIANTS:
        with torch.device("meta"):
            model = MobileNetV4(name, num_classes)
        if _shapes(model.state_dict()) == want:
            return name, num_classes
    if any(".attn." in k for k in state) or any("layer_scale" in k for k in state):
        raise ValueError(
            "hybrid (attention) MobileNetV4 variants are not supported; "
            f"supported: {', '.join(sorted(VARIANTS))}"
        )
    if "conv_stem.weight" not in state:
        raise ValueError("not a timm MobileNetV4 state dict (no conv_stem.weight)")
    raise ValueError(f"MobileNetV4 state dict matches none of {', '.join(sorted(VARIANTS))}")
