"""Phase 2 inputs: Phase 1's aligned vectors, presence flags and head hints per row."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from purrsight_model.align.data import AlignArrays
from purrsight_model.align.evaluate import embed_all
from purrsight_model.align.model import AlignModel

#: Heads whose top prediction is written into the prompt as a hint, with the name it gets
#: there: the report field's own name, so copying a hint into the JSON is one token match.
HINT_HEADS = {"affective_state": "affective_state", "vocalization": "vocalization",
              "arousal": "arousal"}
AUDIO_ONLY_HINT = "vocalization"
"""Dropped when nothing was heard: a call-type hint without audio would be invented."""


@dataclass
class SoftInputs:
    """What the projector and the prompt need for N rows."""

    image: np.ndarray  # [N, 512] aligned image vectors (zeros where absent)
    audio: np.ndarray  # [N, 512]
    has_image: np.ndarray  # [N] bool
    has_audio: np.ndarray  # [N] bool
    hints: list[dict[str, tuple[str, float]]]  # per row: short head name -> (label, prob)

    def __len__(self) -> int:
        return len(self.image)

    def modalities(self, i: int) -> tuple[str, ...]:
        return tuple(m for m, h in (("image", self.has_image[i]), ("audio", self.has_audio[i]))
                     if h)

    def tensors(self, idx: np.ndarray) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        vectors = {"image": torch.from_numpy(self.image[idx]),
                   "audio": torch.from_numpy(self.audio[idx])}
        present = {"image": torch.from_numpy(self.has_image[idx]),
                   "audio": torch.from_numpy(self.has_audio[idx])}
        return vectors, present


def hints_from_probs(probs: dict[str, np.ndarray], classes: dict[str, tuple[str, ...]],
                     i: int) -> dict[str, tuple[str, float]]:
    """Top class and probability of each hint head for row ``i``."""
    out = {}
    for head, short in HINT_HEADS.items():
        if head in probs:
            p = probs[head][i]
            out[short] = (classes[head][int(p.argmax())], float(p.max()))
    return out


def soft_inputs(model: AlignModel, arrays: AlignArrays) -> SoftInputs:
    """Run the frozen Phase 1 model once over the rows (cached for every epoch)."""
    emb = embed_all(model, arrays)
    classes = {h.name: h.classes for h in model.head_specs}
    has_image = arrays.image_mask.any(-1)
    has_audio = arrays.audio_mask.any(-1)
    hints = [hints_from_probs(emb.probs, classes, i) for i in range(len(arrays))]
    for i, heard in enumerate(has_audio):
        if not heard:  # no audio: a call-type hint would be invented
            hints[i].pop(AUDIO_ONLY_HINT, None)
    return SoftInputs(emb.image.astype(np.float32), emb.audio.astype(np.float32),
                      has_image, has_audio, hints)
