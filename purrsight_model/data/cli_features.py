"""``purrsight-model features``: fill the feature cache for one or more JSONL datasets."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "features", help="run the frozen encoders over a dataset into the feature cache",
        description="Decodes every referenced media file once, stores per-patch/per-frame "
                    "embeddings keyed by content sha256 + encoder version, and caption "
                    "embeddings keyed by text hash. Re-running skips cached entries.")
    p.add_argument("datasets", nargs="+", help="JSONL dataset file(s)")
    p.add_argument("--out", required=True, help="cache folder")
    p.add_argument("--workers", type=int, default=2, help="decoding threads (0 = inline)")
    p.add_argument("--fps", type=float, default=2.0, help="video frames sampled per second")
    p.add_argument("--max-frames", type=int, default=64, help="cap on frames per video")
    p.add_argument("--threads", type=int, default=0, help="encoder threads (0 = default)")
    for kind, default in (("image", "mobilenet_v2"), ("audio", "yamnet"), ("text", "minilm")):
        p.add_argument(f"--{kind}-kind", default=default, help=f"{kind} encoder kind")
        p.add_argument(f"--{kind}-path", default=None,
                       help=f"{kind} encoder weights (default: the packaged ones)")
        p.add_argument(f"--no-{kind}", action="store_true", help=f"skip {kind} features")
    p.add_argument("--augment", type=int, default=0, metavar="K",
                   help="also store K augmented copies of every training row's media "
                        "(gain, noise, shift, speed, mixing; crops, flips, colour)")
    p.add_argument("--augment-images", type=int, default=0, metavar="K",
                   help="augmented copies per still image (default: same as --augment)")
    p.add_argument("--augment-seed", type=int, default=0, help="seed of the augmentation recipe")
    p.add_argument("--augment-splits", default="train",
                   help="comma-separated splits to augment (rows without a split always are); "
                        "'train,val' prepares a final refit on train + val; never 'test'")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _load_encoders(args: argparse.Namespace, need: set[str]) -> dict:
    """Load only the encoders the data needs (imports torch-backed code lazily)."""
    from purrsight_model.encoders import (
        EncoderConfig,
        load_audio_encoder,
        load_image_encoder,
        load_text_encoder,
    )

    loaders = {"image": load_image_encoder, "audio": load_audio_encoder,
               "text": load_text_encoder}
    out = {}
    for kind in ("image", "audio", "text"):
        if kind in need and not getattr(args, f"no_{kind}"):
            cfg = EncoderConfig(kind=getattr(args, f"{kind}_kind"),
                                path=getattr(args, f"{kind}_path"), threads=args.threads)
            out[kind] = loaders[kind](cfg)
            log.info("%s encoder: %s", kind, out[kind].version)
    return out


def run(args: argparse.Namespace) -> int:
    from purrsight_model.data.feature_cache import FeatureConfig, build_cache
    from purrsight_model.data.jsonl import JsonlDataset
    from purrsight_model.encoders.base import EncoderError

    rows = []
    for path in args.datasets:
        try:
            ds = JsonlDataset(path)
        except FileNotFoundError as exc:
            log.error("%s", exc)
            return 2
        if ds.skipped:
            log.warning("%s: %d malformed lines skipped", path, len(ds.skipped))
        rows.extend(ds)
    if args.augment > 0 and "test" in [s.strip() for s in args.augment_splits.split(",")]:
        log.error("--augment-splits must not include 'test': held-out media stays as recorded")
        return 2
    kinds = {k for r in rows for k in r.media}
    need = {"text"} | ({"image"} if kinds & {"image", "video"} else set()) | (
        {"audio"} if kinds & {"audio", "video"} else set())
    try:
        encoders = _load_encoders(args, need)
    except EncoderError as exc:
        log.error("%s", exc)
        return 2
    cfg = FeatureConfig(fps=args.fps, max_frames=args.max_frames, workers=args.workers)
    result = build_cache(rows, args.out, cfg=cfg, progress=not args.no_progress, **encoders)
    if args.augment > 0:
        _augment(rows, args, cfg, encoders, result)
    _report(result, Path(args.out))
    return 1 if result.errors and not result.computed and not result.cached else 0


def _augment(rows, args: argparse.Namespace, cfg, encoders: dict, result) -> None:
    """Augmented copies of the training rows' media, merged into ``result``'s counts."""
    from purrsight_model.data.augment import AugmentConfig
    from purrsight_model.data.feature_cache import build_augmented

    aug = AugmentConfig(copies=args.augment, image_copies=args.augment_images,
                        seed=args.augment_seed)
    media = {k: v for k, v in encoders.items() if k in ("image", "audio")}
    splits = (*(s.strip() for s in args.augment_splits.split(",") if s.strip()), None)
    extra = build_augmented(rows, args.out, aug, cfg=cfg, progress=not args.no_progress,
                            splits=splits, **media)
    print(f"augmentation recipe {aug.recipe_id()}: {aug.copies} copies per training clip, "
          f"{aug.copies_for('image')} per photo")
    result.computed.update(extra.computed)
    result.cached.update(extra.cached)
    result.errors.extend(extra.errors)
    result.seconds += extra.seconds


def _report(result, out: Path) -> None:
    print(f"computed: {dict(result.computed)}  cached: {dict(result.cached)}  "
          f"errors: {len(result.errors)}  time: {result.seconds:.1f} s")
    for _, reason in result.errors:
        print(f"  error: {reason}")
    if result.errors:
        with open(out / "errors.jsonl", "w", encoding="utf-8") as f:
            for path, reason in result.errors:
                f.write(json.dumps({"path": path, "reason": reason}) + "\n")
