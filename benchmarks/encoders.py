"""Time the frozen encoders on this CPU: per-item latency (p50/p95) and throughput.

    python benchmarks/encoders.py [--data /work/shared/data] [--clips 40] [--threads 2]

With ``--data`` the inputs are real: CatMeows + CatSound-10 clips for audio, catfaces3 photos
for images; otherwise synthetic signals/images of similar sizes. Media decoding is not timed.
YAMNet is timed three ways: the float ORT graph on a whole clip (feature extraction), and one
0.96 s patch per call for both the float and the original w8a8 graph (the live window path).
With real clips it also reports how often float and w8a8 agree on the top classes.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from purrsight_model.encoders import EncoderConfig  # noqa: E402
from purrsight_model.frontends import log_mel_patches  # noqa: E402

CAPTIONS = [
    "a cat purring on a sofa",
    "an angry cat hissing at a dog",
    "kitten meowing for food",
    "the cat is sleeping in the sun with its eyes closed",
    "a cat growls with flattened ears",
    "two cats fighting loudly at night",
    "a relaxed cat kneading a blanket",
    "stock market report",
]


def timed(fn: Callable[[object], object], items: Sequence[object], warmup: int = 2) -> np.ndarray:
    """Milliseconds per call of ``fn(item)`` (after ``warmup`` untimed calls)."""
    for item in items[:warmup]:
        fn(item)
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t0) * 1000.0)
    return np.array(out)


def row(name: str, ms: np.ndarray, unit: str, per_call: float = 1.0, note: str = "") -> None:
    """Print p50/p95 per call and throughput in ``unit``/s (``per_call`` units per call)."""
    rate = per_call * len(ms) / (ms.sum() / 1000.0)
    print(
        f"{name:34s} n={len(ms):4d}  p50 {np.percentile(ms, 50):8.2f} ms  p95 {np.percentile(ms, 95):8.2f} ms"
        f"  {rate:9.1f} {unit}/s  {note}"
    )


def pick(manifest: Path, n: int) -> list[Path]:
    rows = list(csv.DictReader(manifest.open()))
    step = max(1, len(rows) // max(1, n))
    return [manifest.parent / r["path"] for r in rows[::step][:n]]


def audio_clips(data: Path | None, n: int) -> list[np.ndarray]:
    """16 kHz mono clips: real (half CatMeows, half CatSound-10) or synthetic 1-4 s."""
    if data is None:
        rng = np.random.default_rng(0)
        clips = []
        for i in range(n):
            t = np.arange(int((1 + 3 * rng.random()) * 16000)) / 16000
            clips.append(
                (
                    0.2 * np.sin(2 * np.pi * (300 + 50 * i) * t)
                    + 0.02 * rng.standard_normal(t.size)
                ).astype(np.float32)
            )
        return clips
    from purrsight_model.media import MediaError, load_audio

    paths = pick(data / "catmeows" / "manifest.csv", n // 2) + pick(
        data / "catsound10" / "manifest.csv", n - n // 2
    )
    clips = []
    for p in paths:
        try:
            clips.append(load_audio(p))
        except MediaError as exc:
            print(f"skip {exc}")
    return clips


def images(data: Path | None, n: int) -> list[np.ndarray]:
    if data is None:
        rng = np.random.default_rng(0)
        return [rng.integers(0, 256, (384, 384, 3), dtype=np.uint8) for _ in range(n)]
    from purrsight_model.media import load_image

    return [load_image(p) for p in pick(data / "catfaces3" / "manifest.csv", n)]


def bench_yamnet(clips: list[np.ndarray], threads: int, real: bool) -> None:
    from purrsight_model.encoders import load_audio_encoder
    from purrsight_model.encoders.yamnet import QuantizedYamnet

    t0 = time.perf_counter()
    enc = load_audio_encoder(EncoderConfig("yamnet", threads=threads))
    print(
        f"yamnet load (cached float graph): {1000 * (time.perf_counter() - t0):.0f} ms, {enc.version}"
    )
    seconds = sum(c.size for c in clips) / 16000
    ms = timed(lambda c: enc.encode(c), clips)
    row(
        "yamnet float, whole clip",
        ms,
        "audio-s",
        seconds / len(clips),
        "(front end + ORT, batched patches)",
    )
    row(
        "  front end only (log-mel)", timed(log_mel_patches, clips), "audio-s", seconds / len(clips)
    )
    patches = [p[None] for c in clips for p in log_mel_patches(c)][:200]  # [1, 96, 64] each
    row("yamnet float, 1 patch/call", timed(enc.encode_patches, patches), "patches")
    quant = QuantizedYamnet(enc.files.quantized_path, threads=threads)
    row("yamnet w8a8 (ORT fused), 1 patch", timed(quant.logits, patches), "patches")
    if real:
        agreement(enc, quant, clips)


def agreement(enc, quant, clips: list[np.ndarray]) -> None:
    """Clip-level (mean over patches) top-1 agreement and top-5 overlap, float vs w8a8."""
    from purrsight_model.encoders.yamnet_classes import CAT_CLASSES

    top1, overlap, cat_f, cat_q = [], [], [], []
    for clip in clips:
        p = log_mel_patches(clip)
        sf, sq = enc.encode_patches(p).scores.mean(0), quant.scores(p).mean(0)
        tf, tq = set(np.argsort(-sf)[:5]), set(np.argsort(-sq)[:5])
        top1.append(np.argmax(sf) == np.argmax(sq))
        overlap.append(len(tf & tq) / 5)
        cat_f.append(bool(tf & set(CAT_CLASSES)))
        cat_q.append(bool(tq & set(CAT_CLASSES)))
    print(
        f"  float vs w8a8 on {len(clips)} clips: top-1 agree {np.mean(top1):.2f}, top-5 overlap "
        f"{np.mean(overlap):.2f}; cat class in top 5: float {np.mean(cat_f):.2f}, w8a8 {np.mean(cat_q):.2f}"
    )


def bench_mobilenet(imgs: list[np.ndarray]) -> None:
    from purrsight_model.encoders import load_image_encoder

    t0 = time.perf_counter()
    enc = load_image_encoder(EncoderConfig("mobilenet_v2"))
    print(f"mobilenet_v2 load: {1000 * (time.perf_counter() - t0):.0f} ms, {enc.version}")
    row(
        "mobilenet_v2 torch, batch 1",
        timed(lambda im: enc.encode([im]), imgs),
        "images",
        note="(incl. resize/crop)",
    )
    batches = [imgs[i : i + 16] for i in range(0, len(imgs), 16)]
    row("mobilenet_v2 torch, 16 per call", timed(enc.encode, batches, warmup=1), "images", 16.0)
    cats = enc.encode(imgs).cat_score
    print(
        f"  ImageNet cat score: median {np.median(cats):.2f}, >0.5 for {np.mean(cats > 0.5):.2f} of images"
    )


def bench_minilm(n: int) -> None:
    from purrsight_model.encoders import load_text_encoder

    t0 = time.perf_counter()
    enc = load_text_encoder(EncoderConfig("minilm"))
    print(f"minilm load: {1000 * (time.perf_counter() - t0):.0f} ms, {enc.version}")
    texts = [CAPTIONS[i % len(CAPTIONS)] + f" ({i})" for i in range(n)]
    row("minilm torch, batch 1", timed(lambda t: enc.encode([t]), texts), "texts")
    batches = [texts[i : i + 32] for i in range(0, len(texts), 32)] * 3
    row("minilm torch, batch 32", timed(enc.encode, batches, warmup=1), "texts", 32.0)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data",
        type=Path,
        default=None,
        help="shared data folder (catmeows/, catsound10/, catfaces3/)",
    )
    ap.add_argument("--clips", type=int, default=40, help="items per modality")
    ap.add_argument(
        "--threads", type=int, default=2, help="intra-op threads for torch and onnxruntime"
    )
    ap.add_argument("--only", choices=["yamnet", "mobilenet", "minilm"], default=None)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    print(
        f"threads={args.threads}, inputs={'real from ' + str(args.data) if args.data else 'synthetic'}"
    )
    if args.only in (None, "yamnet"):
        bench_yamnet(audio_clips(args.data, args.clips), args.threads, args.data is not None)
    if args.only in (None, "mobilenet"):
        bench_mobilenet(images(args.data, args.clips))
    if args.only in (None, "minilm"):
        bench_minilm(args.clips)


if __name__ == "__main__":
    main()
