"""Aligner + overlay heads as one graph: frame/patch features with masks -> aligned vectors
and per-head probabilities.

Masks are float (1 = real step) so the runtime never builds bool tensors; a modality whose
mask is all zero is absent: its vector is zeroed and the heads see it as missing, exactly as
``align.evaluate.embed_all`` does at training time.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from purrsight_model.align.model import AlignModel
from purrsight_model.export.common import Parity, check_parity, export_module, ort_session, to_numpy

INPUTS = ("image_frames", "image_mask", "audio_patches", "audio_mask", "audio_scores")
VECTOR_OUTPUTS = ("image_vec", "audio_vec", "fused_vec")
PROB_PREFIX = "prob_"


class AlignGraph(nn.Module):
    """``AlignModel`` in eval mode behind the bundle's tensor contract."""

    def __init__(self, model: AlignModel) -> None:
        super().__init__()
        self.model = model.eval()
        self.head_names = [h.name for h in model.head_specs]

    def forward(self, image_frames: torch.Tensor, image_mask: torch.Tensor,
                audio_patches: torch.Tensor, audio_mask: torch.Tensor,
                audio_scores: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # image_frames [B, F, Di], image_mask [B, F], audio_patches [B, P, Da],
        # audio_mask [B, P], audio_scores [B, P, C]
        im, am = image_mask > 0.5, audio_mask > 0.5
        has_i = image_mask.amax(-1) > 0.5  # [B]
        has_a = audio_mask.amax(-1) > 0.5  # [B]
        img = self.model.embed_image(image_frames, im) * has_i.float().unsqueeze(-1)  # [B, 512]
        aud = self.model.embed_audio(audio_patches, am, audio_scores)
        aud = aud * has_a.float().unsqueeze(-1)  # [B, 512]
        fused = F.normalize(img + aud, dim=-1, eps=1e-6)  # [B, 512], zeros if neither
        logits = self.model.classify_media(img, has_i, aud, has_a, audio_patches, am,
                                           audio_scores)
        probs = [torch.softmax(logits[name], dim=-1) for name in self.head_names]
        return (img, aud, fused, *probs)

    @property
    def output_names(self) -> list[str]:
        return [*VECTOR_OUTPUTS, *(PROB_PREFIX + n for n in self.head_names)]


def example_inputs(model: AlignModel, b: int = 3, f: int = 2, p: int = 3,
                   seed: int = 0) -> tuple[np.ndarray, ...]:
    """Random inputs with every presence pattern (both, image only, audio only, none)."""
    rng = np.random.default_rng(seed)
    d = model.dims
    frames = rng.standard_normal((b, f, d.image)).astype(np.float32)
    patches = rng.standard_normal((b, p, d.audio)).astype(np.float32)
    scores = rng.random((b, p, d.audio_scores)).astype(np.float32)
    im, am = np.ones((b, f), np.float32), np.ones((b, p), np.float32)
    am[1 % b] = 0.0  # row 1: image only
    im[2 % b] = 0.0  # row 2: audio only
    am[0, -1] = 0.0  # row 0: one padded patch
    return frames, im, patches, am, scores


def export_aligner(model: AlignModel, path, inputs: tuple[np.ndarray, ...] | None = None
                   ) -> tuple[Parity, list[str]]:
    """Export the aligner graph; returns parity and the output names (heads in order)."""
    graph = AlignGraph(model)
    x = inputs or example_inputs(model)
    args = tuple(torch.from_numpy(a) for a in x)
    names = graph.output_names
    axes = {"image_frames": {0: "B", 1: "F"}, "image_mask": {0: "B", 1: "F"},
            "audio_patches": {0: "B", 1: "P"}, "audio_mask": {0: "B", 1: "P"},
            "audio_scores": {0: "B", 1: "P"}, **{n: {0: "B"} for n in names}}
    export_module(graph, args, path, INPUTS, names, axes)
    none_row = [a.copy() for a in x]
    none_row[1][:] = 0.0
    none_row[3][:] = 0.0  # no modality at all: vectors must come out as zeros
    session = ort_session(path)
    feed_names = {i.name for i in session.get_inputs()}
    worst = None
    for batch in (x, tuple(none_row)):
        with torch.no_grad():
            ref = to_numpy(graph(*(torch.from_numpy(a) for a in batch)))
        got = session.run(names, {k: v for k, v in zip(INPUTS, batch, strict=True)
                                  if k in feed_names})
        parity = check_parity("aligner", ref, got, tolerance=1e-4)
        worst = parity if worst is None or parity.max_abs_diff > worst.max_abs_diff else worst
    return worst, names
