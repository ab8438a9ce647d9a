"""Image encoder graph: preprocessed frames -> pooled embedding + ImageNet cat score.

The softmax over the 1000 ImageNet logits and the sum over the domestic-cat classes happen
inside the graph, so the runtime gets the zero-shot "cat visible" score without shipping or
reducing 1000 logits per frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from purrsight_model.export.common import Parity, check_parity, export_module, ort_session, to_numpy

IMAGENET_CAT_CLASSES = (281, 282, 283, 284, 285)
INPUT = "pixels"
OUTPUTS = ("embedding", "cat_score")


class ImageGraph(nn.Module):
    """Wraps a backbone whose forward returns (pooled [N, D], logits [N, C])."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled, logits = self.backbone(pixels)  # [N, D], [N, C]
        if logits is None or logits.shape[-1] != 1000:
            return pooled, pooled[:, 0] * float("nan")  # no ImageNet head: NaN score
        probs = torch.softmax(logits, dim=-1)  # [N, 1000]
        cat = probs[:, IMAGENET_CAT_CLASSES[0] : IMAGENET_CAT_CLASSES[-1] + 1].sum(-1)  # [N]
        return pooled, cat


def export_image(backbone: nn.Module, path: Path, frames: np.ndarray) -> Parity:
    """Export to ``path``; ``frames`` ([N>=2, 3, 224, 224] preprocessed) drive parity."""
    graph = ImageGraph(backbone).eval()
    example = torch.from_numpy(frames[:2])
    export_module(graph, (example,), path, [INPUT], OUTPUTS,
                  {INPUT: {0: "N"}, "embedding": {0: "N"}, "cat_score": {0: "N"}})
    x = frames[: min(len(frames), 4)]
    with torch.no_grad():
        ref = to_numpy(graph(torch.from_numpy(x)))
    got = ort_session(path).run(list(OUTPUTS), {INPUT: x})
    return check_parity("image_encoder", ref, got, tolerance=1e-3)
