"""Phase 1 (alignment) configuration: a frozen dataclass, loadable from a YAML recipe."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

#: Overlay heads on the schema's fields that the live view shows.
DEFAULT_LABEL_HEADS = ("affective_state", "vocalization", "arousal")


@dataclass(frozen=True)
class AlignConfig:
    """Everything that defines a Phase 1 run. Paths are resolved against the recipe file."""

    data: str = ""
    """Alignment JSONL (rows with text, media paths, labels, tasks, split)."""
    cache: str = ""
    """Feature cache folder built by ``purrsight-model features``."""
    image_encoder: str = "mobilenet_v2"
    """Image encoder kind whose cached features are used."""
    audio_encoder: str = "yamnet"
    """Audio encoder kind whose cached features are used."""
    text_encoder: str = "minilm"
    """Text encoder kind whose cached caption embeddings are used."""
    dim: int = 512
    """Shared embedding size (unit sphere)."""
    hidden: int = 512
    """Hidden width of the projection MLPs."""
    dropout: float = 0.2
    """Dropout inside the projection MLPs and heads."""
    use_audio_scores: bool = True
    """Concatenate pooled YAMNet class scores to the audio features before projecting."""
    score_features: str = "mean"
    """How the per-patch class scores are pooled: "mean" (mean probability) or
    "logmeanmax" (mean and max of log-probabilities: a call heard in one patch counts)."""
    head_hidden: int = 256
    """Hidden width of each classification head."""
    ensemble: int = 1
    """Members trained side by side from different initialisations (and augmentation
    draws); each owns dim/ensemble of the aligned vector, heads average their probabilities.
    Must divide ``dim``."""
    label_heads: tuple[str, ...] = DEFAULT_LABEL_HEADS
    """Schema fields that get an overlay head (trained where labels are known)."""
    task_heads: tuple[str, ...] = ()
    """Dataset tasks (row["tasks"] keys) that get a head, e.g. "catsound10"."""
    probe_heads: tuple[str, ...] = ()
    """Audio heads that also get a linear probe on the pooled frozen audio features (fitted
    after training, see ``align.probe``); its probabilities are mixed into the head's."""
    probe_weight: float = 0.5
    """Share of the probe in a probed head's probability (where the row has audio)."""
    probe_c: float = 0.1
    """Inverse L2 strength of the probes' logistic regression (on standardised features)."""
    max_patches: int = 20
    """Audio patches (0.96 s, hop 0.48 s) kept per clip; longer clips are cropped."""
    max_frames: int = 8
    """Video frames kept per clip."""
    batch_size: int = 128
    """Rows per step."""
    epochs: int = 60
    """Upper bound on epochs (early stopping usually ends sooner)."""
    lr: float = 2e-3
    """Peak AdamW learning rate."""
    weight_decay: float = 0.05
    """AdamW weight decay."""
    warmup_steps: int = 50
    """Linear warmup before cosine decay."""
    patience: int = 8
    """Epochs without validation improvement before stopping."""
    ema: float = 0.0
    """Decay of an exponential moving average of the weights, updated every step; when > 0
    the average (smoother, usually better on unseen sources) is what is validated and saved."""
    contrastive_weight: float = 1.0
    """Weight of the InfoNCE terms."""
    head_weight: float = 1.0
    """Weight of the classification losses."""
    label_smoothing: float = 0.1
    """Label smoothing of the classification losses."""
    balance_classes: bool = True
    """Inverse-frequency class weights in the classification losses."""
    class_weight_floor: float = 0.2
    """Class counts are floored at this fraction of the largest class before inverting, so a
    class with a handful of rows (e.g. 3 trills) cannot outweigh hundreds of meows."""
    fit_splits: tuple[str, ...] = ("train",)
    """Splits trained on (rows without a split always are). ["train", "val"] refits a final
    model on train + validation rows for exactly ``epochs`` epochs (pick them with a
    train-only run first): nothing is left to validate on, so the last epoch is kept."""
    augment_copies: int = 0
    """Augmented copies per training row to sample from (0 = off). They are built BEFORE the
    frozen encoders by ``purrsight-model features --augment K``; each epoch every training
    row uses its original or one of its copies, drawn at random."""
    augment_image_copies: int = 0
    """Copies per training photo to sample from (photos are cheap to augment, so they may
    have more); 0 = ``augment_copies``."""
    augment_recipe: str = ""
    """Augmentation recipe id in the cache ("" = the most recently built one)."""
    feature_noise: float = 0.05
    """Std of Gaussian noise added to standardised features while training."""
    patch_dropout: float = 0.2
    """Probability of masking each audio patch / video frame while training."""
    modality_dropout: float = 0.1
    """Probability of hiding a modality of a two-modality row while training."""
    init_logit_scale: float = 2.659
    """Initial log of the InfoNCE logit scale (ln(1/0.07))."""
    max_logit_scale: float = 4.6052
    """Clamp of the log logit scale (ln 100)."""
    seed: int = 0
    """Seed for weights, shuffling and augmentation."""
    threads: int = 2
    """torch intra-op threads."""
    base: str = ""
    """Optional Phase 1 run folder to start from (fine-tuning an owner's model)."""

    def replace(self, **changes: Any) -> AlignConfig:
        return replace(self, **changes)


def load_config(cls: type, path: str | Path | None = None, **overrides: Any) -> Any:
    """Build a config dataclass from a YAML recipe (optional section ``align``/``instruct``)
    plus overrides; relative data paths in the recipe resolve against the recipe's folder."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        section = raw.get(SECTION.get(cls.__name__, ""), raw)
        values = {k: v for k, v in section.items() if k in {f.name for f in fields(cls)}}
        for key in ("data", "cache", "base", "align_run", "llm"):
            if values.get(key) and not Path(str(values[key])).is_absolute():
                values[key] = str((path.parent / str(values[key])).resolve())
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name: f for f in fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    for key, value in list(values.items()):
        if isinstance(value, list):
            values[key] = tuple(value)
    return cls(**values)


SECTION = {"AlignConfig": "align", "InstructConfig": "instruct"}


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Plain dict for YAML/JSON (tuples become lists)."""
    return {
        f.name: list(v) if isinstance(v := getattr(cfg, f.name), tuple) else v
        for f in fields(cfg)
    }


@dataclass(frozen=True)
class HeadSpec:
    """One classification head: where its targets come from and its class names."""

    name: str
    source: str  # "labels" or "tasks"
    classes: tuple[str, ...] = field(default_factory=tuple)
