"""Image encoders: a frozen torch backbone behind the ``ImageEncoder`` protocol."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch

from purrsight_model.encoders.base import EncoderError, ImageFeatures, sha256_file, version_id
from purrsight_model.encoders.torch_io import load_state_dict, load_strict
from purrsight_model.frontends import preprocess_images

#: ImageNet-1k indices of the domestic cats: tabby, tiger cat, Persian, Siamese, Egyptian cat.
IMAGENET_CAT_CLASSES = (281, 282, 283, 284, 285)
IMAGENET_CLASSES = 1000
BATCH = 4  # measured: larger torch batches of MobileNetV2 get slower per image on 2 cores


def cat_score_from_logits(logits: np.ndarray | None, n: int) -> np.ndarray:
    """[N] softmax mass on the ImageNet cat classes; NaN when there is no ImageNet head."""
    if logits is None or logits.shape[1] != IMAGENET_CLASSES:
        return np.full(n, np.nan, dtype=np.float32)
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)  # [N, 1000]
    return p[:, list(IMAGENET_CAT_CLASSES)].sum(axis=1).astype(np.float32)


class TorchImageEncoder:
    """uint8 RGB images -> ImageNet-preprocessed batch -> (pooled features, logits)."""

    def __init__(
        self, kind: str, model: torch.nn.Module, version: str, dim: int, num_classes: int
    ) -> None:
        self.kind = kind
        self.version = version
        self.dim = dim
        self.num_classes = num_classes  # 0 = headless backbone (logits None, cat_score NaN)
        self.model = model.eval().requires_grad_(False)

    @torch.inference_mode()
    def encode(self, images: Sequence[np.ndarray]) -> ImageFeatures:
        x = preprocess_images(list(images))  # [N, 3, 224, 224]
        feats, logits = [], []
        for start in range(0, x.shape[0], BATCH):
            f, lg = self.model(torch.from_numpy(x[start : start + BATCH]))
            feats.append(f.float().numpy())
            if lg is not None:
                logits.append(lg.float().numpy())
        emb = np.concatenate(feats) if feats else np.zeros((0, self.dim), np.float32)
        lg_all = np.concatenate(logits) if logits else None
        if lg_all is None and self.num_classes and x.shape[0] == 0:
            lg_all = np.zeros((0, self.num_classes), np.float32)
        return ImageFeatures(
            emb.astype(np.float32), cat_score_from_logits(lg_all, emb.shape[0]), lg_all
        )


def load_mobilenet_v2(path: str | os.PathLike[str]) -> TorchImageEncoder:
    """torchvision-format MobileNetV2 checkpoint (any standard width) -> encoder."""
    from purrsight_model.encoders.mobilenet_v2 import MobileNetV2, infer_width

    state = load_state_dict(path, "MobileNetV2 weights")
    width = infer_width(state)
    if width is None:
        raise EncoderError(
            f"MobileNetV2 weights {path} do not match torchvision's mobilenet_v2 layout"
        )
    num_classes = int(state["classifier.1.weight"].shape[0])
    with torch.device("meta"):
        model = MobileNetV2(width, num_classes=num_classes)
    load_strict(model, state, path, "MobileNetV2 weights")
    version = version_id("mobilenet_v2", sha256_file(path))
    return TorchImageEncoder("mobilenet_v2", model, version, model.out_dim, num_classes)


def load_mobilenet_v4(path: str | os.PathLike[str]) -> TorchImageEncoder:
    """timm-format MobileNetV4 (conv_small/medium/large) checkpoint -> encoder."""
    from purrsight_model.encoders.mobilenet_v4 import MobileNetV4, detect_variant

    state = load_state_dict(path, "MobileNetV4 weights")
    try:
        variant, num_classes = detect_variant(state)
    except ValueError as exc:
        raise EncoderError(f"MobileNetV4 weights {path}: {exc}") from exc
    with torch.device("meta"):
        model = MobileNetV4(variant, num_classes)
    load_strict(model, state, path, "MobileNetV4 weights")
    version = version_id("mobilenet_v4", sha256_file(path))
    return TorchImageEncoder("mobilenet_v4", model, version, model.out_dim, num_classes)
