"""Time training on this CPU: Phase 1 optimiser steps/s, and optionally Phase 2 tokens/s.

    python benchmarks/train.py [--config resources/recipes/default.yaml]
        [--data ALIGN.jsonl --cache CACHE] [--steps 20] [--threads 1]
        [--llm-tiny | --llm packaged | --llm PATH] [--llm-steps 4]

Phase 1 runs the recipe's ``align`` model (ensemble members, augmented copies and all) on
real cached features when ``--data``/``--cache`` are given, otherwise on random features of
the real shapes (1536-d YAMNet patches + 521 scores, 1280-d frames, 384-d captions; 15% of
rows with a photo). Phase 2 runs ``purrsight_model.instruct`` training steps on synthetic
aligned vectors and reports: ``--llm-tiny`` is a random 2-layer Llama (fast, for CI),
``--llm packaged`` the shipped SmolLM2-135M, or a local HF folder / GGUF. Model loading and
the first (warm-up) steps are not timed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from purrsight_model.align.config import AlignConfig, load_config  # noqa: E402
from purrsight_model.align.data import AlignArrays, feature_std, make_batch  # noqa: E402
from purrsight_model.align.model import AlignModel  # noqa: E402
from purrsight_model.align.train import AlignData, class_weights, step_loss  # noqa: E402
from purrsight_model.export.tiny import tiny_llm_folder  # noqa: E402


def synthetic_align(cfg: AlignConfig, n: int, seed: int = 0) -> AlignData:
    """Random features of the real sizes, labels for the recipe's heads."""
    from purrsight_model.align.config import HeadSpec
    from purrsight_model.schema import CATEGORICAL_FIELDS

    rng = np.random.default_rng(seed)
    p, f = cfg.max_patches, 1
    has_image = rng.random(n) < 0.15
    audio_mask = (np.arange(p)[None] < rng.integers(1, p + 1, n)[:, None]) & ~has_image[:, None]
    heads = tuple(HeadSpec(h, "labels", CATEGORICAL_FIELDS[h]) for h in cfg.label_heads)
    heads += tuple(HeadSpec(t, "tasks", tuple(f"c{i}" for i in range(10))) for t in cfg.task_heads)
    arrays = AlignArrays(
        image=rng.random((n, f, 1280), np.float32), image_mask=np.repeat(has_image[:, None], f, 1),
        audio=rng.random((n, p, 1536), np.float32), audio_mask=audio_mask,
        audio_scores=rng.random((n, p, 521), np.float32) ** 8,
        text=rng.standard_normal((n, 384)).astype(np.float32), text_mask=np.ones(n, bool),
        targets={h.name: rng.integers(0, len(h.classes), n) for h in heads},
        label_keys=[str(k) for k in rng.integers(0, 30, n)], groups=[""] * n)
    return AlignData(arrays, arrays.subset(np.arange(min(n, 64))), heads)


def bench_phase1(cfg: AlignConfig, data: AlignData, steps: int) -> dict[str, float]:
    """Optimiser steps per second of the recipe's model on ``data`` (after 2 warm-up steps)."""
    torch.manual_seed(cfg.seed)
    model = AlignModel(cfg, data.dims, data.heads).train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    weights = {h.name: class_weights(data.train.targets[h.name], len(h.classes), True,
                                     cfg.class_weight_floor) for h in data.heads}
    std, rng = feature_std(data.train), np.random.default_rng(0)
    times = []
    for i in range(steps + 2):
        t0 = time.perf_counter()
        idx = rng.choice(len(data.train), min(cfg.batch_size, len(data.train)), replace=False)
        batches = [make_batch(data.train, idx, rng, cfg, std) for _ in model.members]
        loss, _ = step_loss(model, batches, cfg, weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    per_step = float(np.mean(times))
    epoch_steps = -(-len(data.train) // cfg.batch_size)
    return {"steps_per_s": 1.0 / per_step, "rows_per_s": cfg.batch_size / per_step,
            "ms_per_step": 1000 * per_step, "s_per_epoch": per_step * epoch_steps}


def bench_phase2(llm_arg: str, steps: int, threads: int, config: Path | None) -> dict[str, float]:
    """Phase 2 training tokens per second (prompt + report tokens through the LM)."""
    from purrsight_model.decoding import HFTokenizer
    from purrsight_model.instruct.config import InstructConfig
    from purrsight_model.instruct.features import SoftInputs
    from purrsight_model.instruct.llm import load_llm
    from purrsight_model.instruct.model import collate
    from purrsight_model.instruct.train import build_examples, build_model
    from purrsight_model.schema import Report

    cfg = load_config(InstructConfig, config, threads=threads)
    with tempfile.TemporaryDirectory() as tmp:
        path = None if llm_arg == "packaged" else (
            tiny_llm_folder(Path(tmp), hidden=64, max_positions=1024) if llm_arg == "tiny"
            else llm_arg)
        t0 = time.perf_counter()
        llm = load_llm(path)
        load_s = time.perf_counter() - t0
    tokenizer = HFTokenizer.from_transformers(llm.tokenizer)
    model = build_model(cfg, llm, 512)
    n = cfg.batch_size * (steps + 1)
    rng = np.random.default_rng(0)
    has_audio = rng.random(n) < 0.7
    inputs = SoftInputs(rng.standard_normal((n, 512)).astype(np.float32) / 22.6,
                        rng.standard_normal((n, 512)).astype(np.float32) / 22.6,
                        ~has_audio | (rng.random(n) < 0.3), has_audio, [{} for _ in range(n)])
    states = ("content", "anxious", "aggressive", "distressed")
    reports = [Report(affective_state=states[i % 4], vocalization="meow" if has_audio[i] else
                      "unknown", summary="The cat is calm and resting.",
                      advice="No action needed.", confidence=0.7) for i in range(n)]
    examples = build_examples(cfg, inputs, reports, tokenizer)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr)
    pad = tokenizer.token_to_id("<|endoftext|>") or 0
    tokens, seconds = 0, 0.0
    model.train()
    for s in range(steps + 1):
        idx = np.arange(s * cfg.batch_size, (s + 1) * cfg.batch_size)
        batch = [examples[i] for i in idx]
        t0 = time.perf_counter()
        vectors, present = inputs.tensors(idx)
        loss = model.loss(batch, vectors, present, pad)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if s > 0:  # first step warms up
            seconds += time.perf_counter() - t0
            tokens += int(collate(batch, pad)[2].sum())
    return {"tokens_per_s": tokens / seconds, "s_per_step": seconds / steps,
            "tokens_per_step": tokens / steps, "load_s": load_s,
            "trainable_params": sum(p.numel() for p in params)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--config", type=Path, default=Path(__file__).resolve().parents[1]
                    / "resources/recipes/default.yaml", help="recipe (align/instruct sections)")
    ap.add_argument("--data", help="alignment JSONL (real features; needs --cache)")
    ap.add_argument("--cache", help="feature cache folder")
    ap.add_argument("--steps", type=int, default=20, help="timed Phase 1 steps")
    ap.add_argument("--rows", type=int, default=2048, help="synthetic Phase 1 rows")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a "
                    "busy 2-core machine; try 2 when it is idle)")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--llm-tiny", action="store_true", help="Phase 2 with a tiny random LM")
    group.add_argument("--llm", help="Phase 2 with 'packaged' (SmolLM2) or a local LM path")
    ap.add_argument("--llm-steps", type=int, default=4, help="timed Phase 2 steps")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config(AlignConfig, args.config, threads=args.threads,
                      data=args.data, cache=args.cache)
    if args.data and args.cache:
        from purrsight_model.align.dataset import load_align_data

        data, source = load_align_data(cfg), f"real features from {args.data}"
    else:
        data, source = synthetic_align(cfg.replace(augment_copies=0), args.rows), "synthetic"
    r = bench_phase1(cfg, data, args.steps)
    print(f"Phase 1 ({source}; {len(data.train)} train rows, batch {cfg.batch_size}, "
          f"ensemble {cfg.ensemble}, {args.threads} thread(s)): {r['steps_per_s']:.2f} steps/s, "
          f"{r['rows_per_s']:.0f} rows/s, {r['ms_per_step']:.0f} ms/step, "
          f"{r['s_per_epoch']:.1f} s/epoch")
    llm = "tiny" if args.llm_tiny else args.llm
    if llm:
        r2 = bench_phase2(llm, args.llm_steps, args.threads, args.config)
        print(f"Phase 2 ({llm} LM, loaded in {r2['load_s']:.1f} s, "
              f"{r2['trainable_params'] / 1e3:.0f}k trainable): {r2['tokens_per_s']:.0f} tokens/s, "
              f"{r2['s_per_step']:.2f} s/step, {r2['tokens_per_step']:.0f} tokens/step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
