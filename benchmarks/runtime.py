"""Edge runtime benchmark: INT8 ONNX vs fp32 ONNX vs torch fp32 eager, side by side.

Measures on this machine, in one run:
- per-window latency (p50/p95) and throughput of image+audio analysis (newest frame +
  0.96 s audio): the shipped bundle (INT8 where the exporter kept it), an all-fp32 bundle of
  the same runs, and the torch pipeline of the same models (MobileNetV2 + aligner in torch
  eager; YAMNet has no torch implementation, so the torch path runs the same float YAMNet
  graph in onnxruntime, exactly as the training feature cache does);
- report generation: seconds per report and tokens/s, ONNX Reporter vs the torch report
  model (LoRA unmerged, as Phase 2 evaluated itself) on the same windows;
- accuracy change from quantization: per-head macro-F1 of the INT8 and fp32 bundles on the
  held-out ("test" split) real clips of an alignment JSONL;
- peak RSS of a fresh process that loads the bundle (Analyzer + Reporter) and analyses
  1,000 windows, and bundle sizes on disk.

    python benchmarks/runtime.py --bundle SHIPPED --int8-bundle ALL_INT8 --fp32-bundle FP32 \\
        --align-run RUN1 --instruct-run RUN2 --data /tmp/purrsight_data/align.jsonl

SHIPPED is ``export RUN`` (INT8 where it measured better), ALL_INT8 ``export --int8-all``
(every INT8 variant, to measure what quantization costs), FP32 ``export --no-quantize``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from purrsight_model import metrics
from purrsight_model.runtime import Analyzer, Reporter, WindowInputs, load_bundle, window_inputs

WINDOW_SAMPLES = 15360  # 0.96 s at 16 kHz


def bundle_size(path: Path) -> dict[str, float]:
    files = {p.name: p.stat().st_size / 1e6 for p in sorted(path.iterdir()) if p.is_file()}
    return {"total_mb": sum(files.values()), **{k: round(v, 2) for k, v in files.items()}}


def read_rows(data: Path | None, split: str) -> list[dict[str, Any]]:
    if data is None:
        return []
    rows = []
    with data.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("split") == split:
                rows.append(row)
    return rows


def load_windows(rows: list[dict[str, Any]], n: int, seed: int = 0
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(frame, 0.96 s audio) pairs from real photos + real clips, synthetic if none."""
    from purrsight_model.media import MediaError, load_audio, load_image

    rng = np.random.default_rng(seed)
    images = [r["image"] for r in rows if r.get("image")][:n]
    audios = [r["audio"] for r in rows if r.get("audio")][:n]
    frames, waves = [], []
    for path in images:
        try:
            frames.append(load_image(path))
        except MediaError:
            continue
    for path in audios:
        try:
            wave = load_audio(path)
        except MediaError:
            continue
        waves.append(np.pad(wave, (0, max(0, WINDOW_SAMPLES - wave.size)))[:WINDOW_SAMPLES])
    if not frames:
        frames = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(8)]
    if not waves:
        waves = [rng.normal(0, 0.1, WINDOW_SAMPLES).astype(np.float32) for _ in range(8)]
    return [(frames[i % len(frames)], waves[i % len(waves)]) for i in range(n)]


class TorchPipeline:
    """The same window through torch eager: MobileNetV2 + aligner (YAMNet float on ORT)."""

    def __init__(self, align_run: Path, threads: int) -> None:
        import torch

        from purrsight_model.align.checkpoint import load_align_run
        from purrsight_model.encoders import EncoderConfig, load_audio_encoder, load_image_encoder

        torch.set_num_threads(threads)
        self.torch = torch
        self.align = load_align_run(align_run)
        self.image = load_image_encoder(EncoderConfig(self.align.cfg.image_encoder))
        self.audio = load_audio_encoder(EncoderConfig(self.align.cfg.audio_encoder,
                                                      threads=threads))

    def analyze(self, frame: np.ndarray, audio: np.ndarray) -> dict[str, np.ndarray]:
        torch = self.torch
        with torch.inference_mode():
            img = self.image.encode([frame]).embedding  # [1, 1280]
            aud = self.audio.encode(audio)  # [P, 1536], [P, 521]
            f = torch.from_numpy(img)[None]
            p, s = torch.from_numpy(aud.embedding)[None], torch.from_numpy(aud.scores)[None]
            fm, pm = torch.ones(f.shape[:2], dtype=torch.bool), torch.ones(p.shape[:2],
                                                                           dtype=torch.bool)
            iv, av = self.align.embed_image(f, fm), self.align.embed_audio(p, pm, s)
            logits = self.align.classify(iv, fm.any(-1), av, pm.any(-1))
            return {k: torch.softmax(v, -1)[0].numpy() for k, v in logits.items()}


def time_windows(fns: dict[str, Any], windows, warmup: int = 5) -> dict[str, dict[str, float]]:
    """Per-window latency of each pipeline, run round-robin window by window so that every
    pipeline sees the same machine load (the 2 cores here are shared with other jobs)."""
    for frame, audio in windows[:warmup]:
        for fn in fns.values():
            fn(frame, audio)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for frame, audio in windows:
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn(frame, audio)
            times[name].append(1e3 * (time.perf_counter() - t0))
    out = {}
    for name, ts in times.items():
        t = np.array(ts)
        out[name] = {"p50_ms": float(np.percentile(t, 50)), "p95_ms": float(np.percentile(t, 95)),
                     "mean_ms": float(t.mean()), "windows_per_s": float(1e3 / t.mean())}
    return out


def bundles(args) -> dict[str, Path]:
    """Named bundles given on the command line, shipped first."""
    named = {"shipped_onnx": args.bundle, "all_int8_onnx": args.int8_bundle,
             "fp32_onnx": args.fp32_bundle}
    return {k: v for k, v in named.items() if v is not None}


def bench_latency(args, windows) -> dict[str, dict[str, float]]:
    """ONNX pipelines interleaved window by window; torch timed in its own block afterwards
    (its OpenMP workers keep spinning for a while after each call, which would slow down
    whichever pipeline ran next)."""
    fns = {name: Analyzer.load(path, threads=args.threads).analyze
           for name, path in bundles(args).items()}
    out = time_windows(fns, windows)
    if args.align_run is not None:
        torch_fn = TorchPipeline(args.align_run, args.threads).analyze
        out.update(time_windows({"torch_fp32_eager": torch_fn}, windows))
    return out


def bench_reports(args, windows) -> dict[str, dict[str, float]]:
    """Seconds per report and tokens/s on the same window inputs."""
    analyzer = Analyzer.load(args.bundle, threads=args.threads)
    reporter = Reporter.load(analyzer.bundle, threads=args.threads)
    inputs = []
    for r in range(args.reports):
        obs = [analyzer.analyze(f, a) for f, a in windows[3 * r : 3 * r + 3]]
        inputs.append(window_inputs(obs, reporter.hint_heads))
    out = {}
    for name, path in bundles(args).items():
        rep = reporter if name == "shipped_onnx" else Reporter.load(path, threads=args.threads)
        rep.report_from(inputs[0])  # warm-up
        secs, toks, sample = 0.0, 0, None
        for win in inputs:
            sample = rep.report_from(win)
            secs += rep.last_seconds
            toks += rep.last_stats.n_tokens
        out[name] = {"s_per_report": secs / len(inputs), "tokens_per_s": toks / secs,
                     "sample": sample.to_json()}
    if args.instruct_run is not None:
        out["torch_fp32_eager"] = torch_reports_timed(args, inputs)
    return out


def torch_reports_timed(args, inputs: list[WindowInputs]) -> dict[str, Any]:
    import torch

    from purrsight_model.export.report_model import Probe, load_report_model, torch_reports

    torch.set_num_threads(args.threads)
    loaded = load_report_model(args.instruct_run)
    probes = [Probe(w.image_vec, w.audio_vec, w.hints) for w in inputs]
    torch_reports(loaded, probes[:1])  # warm-up
    from purrsight_model.decoding import encode_report

    t0 = time.perf_counter()
    reports = torch_reports(loaded, probes)
    secs = time.perf_counter() - t0
    toks = sum(len(encode_report(r, loaded.tokenizer)) for r in reports)
    return {"s_per_report": secs / len(probes), "tokens_per_s": toks / secs,
            "sample": reports[-1].to_json()}


def clip_media(row: dict[str, Any]):
    from purrsight_model.media import load_audio, load_image, load_video

    if row.get("video"):
        clip = load_video(row["video"], fps=2.0, max_frames=16)
        return list(clip.frames), clip.audio
    frames = [load_image(row["image"])] if row.get("image") else None
    audio = load_audio(row["audio"]) if row.get("audio") else None
    return frames, audio


def bench_accuracy(args) -> dict[str, Any]:
    """Per-head macro-F1 of both bundles on the held-out clips (whole clips, not windows)."""
    from purrsight_model.media import MediaError

    rows = read_rows(args.data, "test")[: args.eval_limit or None]
    int8 = args.int8_bundle or args.bundle
    analyzers = {"int8": Analyzer.load(int8, threads=args.threads),
                 "fp32": Analyzer.load(args.fp32_bundle, threads=args.threads)}
    heads = analyzers["int8"].heads
    truth: dict[str, list[int]] = {h: [] for h in heads}
    preds: dict[str, dict[str, list[int]]] = {k: {h: [] for h in heads} for k in analyzers}
    for row in rows:
        try:
            frames, audio = clip_media(row)
        except MediaError:
            continue
        obs = {k: a.analyze_clip(frames, audio) for k, a in analyzers.items()}
        for head, classes in heads.items():
            label = (row.get("labels") or {}).get(head) or (row.get("tasks") or {}).get(head)
            if label not in classes:
                continue
            truth[head].append(classes.index(label))
            for k, o in obs.items():
                probs = [o.heads[head][c] for c in classes]
                preds[k][head].append(int(np.argmax(probs)))
    out: dict[str, Any] = {"n_clips": len(rows), "int8_bundle": str(int8)}
    for head, classes in heads.items():
        y = np.array(truth[head], dtype=np.int64)
        if y.size == 0:
            continue
        f1 = {k: metrics.classification_report(y, np.array(p[head]), classes)["macro_f1"]
              for k, p in preds.items()}
        agree = float(np.mean(np.array(preds["int8"][head]) == np.array(preds["fp32"][head])))
        out[head] = {"n": int(y.size), "macro_f1_int8": f1["int8"], "macro_f1_fp32": f1["fp32"],
                     "delta_points": 100 * (f1["int8"] - f1["fp32"]), "pred_agreement": agree}
    return out


RSS_CHILD = """
import sys, numpy as np
from purrsight_model.runtime import Analyzer, Reporter
bundle, n, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
a = Analyzer.load(bundle, threads=threads)
r = Reporter.load(a.bundle, threads=threads) if a.bundle.has_reporter else None
rng = np.random.default_rng(0)
frame = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
audio = (rng.normal(0, 0.1, 15360)).astype(np.float32)
obs = [a.analyze(frame, audio) for _ in range(n)]
if r is not None:
    r.report(obs[-3:])
# VmHWM, not ru_maxrss: the latter keeps the forking parent's high-water mark across exec
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(int(hwm.split()[1]) / 1024)
print(",".join(m for m in ("torch", "transformers") if m in sys.modules))
"""


def bench_rss(bundle: Path, n: int, threads: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", RSS_CHILD, str(bundle), str(n), str(threads)],
                         capture_output=True, text=True, check=True)
    lines = out.stdout.strip().split("\n")
    return {"peak_rss_mb": float(lines[-2]) if len(lines) > 1 else float(lines[-1]),
            "windows": n, "torch_loaded": lines[-1] if len(lines) > 1 else ""}


def print_table(title: str, rows: dict[str, dict[str, Any]], keys: list[str],
                ref: str | None = None, key: str | None = None) -> None:
    print(f"\n== {title}")
    print(f"{'':20s}" + "".join(f"{k:>16s}" for k in keys) + ("   ratio" if ref else ""))
    for name, vals in rows.items():
        cells = "".join(f"{vals.get(k, float('nan')):16.2f}" if isinstance(vals.get(k), float)
                        else f"{str(vals.get(k, '')):>16s}" for k in keys)
        ratio = ""
        if ref and ref in rows and key:
            ratio = f"   {rows[ref][key] / vals[key]:.2f}x faster than {ref}"
        print(f"{name:20s}{cells}{ratio}")


def print_accuracy(acc: dict[str, Any]) -> None:
    print("\n== quantization accuracy (held-out clips)")
    for head, v in acc.items():
        if isinstance(v, dict):
            print(f"{head:20s} n={v['n']:4d} macro-F1 int8 {v['macro_f1_int8']:.3f} fp32 "
                  f"{v['macro_f1_fp32']:.3f} delta {v['delta_points']:+.2f} pts, "
                  f"agreement {v['pred_agreement']:.3f}")


def print_memory(results: dict[str, Any], n: int) -> None:
    for name, rss in results["rss"].items():
        print(f"== memory {name}: peak RSS {rss['peak_rss_mb']:.0f} MB after {n} windows + "
              f"1 report (torch loaded: {rss['torch_loaded'] or 'no'})")
    for name, sizes in results["sizes"].items():
        print(f"== bundle {name}: {sizes['total_mb']:.1f} MB on disk")


def run_sections(args, sections: set[str], results: dict[str, Any]) -> None:
    windows = load_windows(read_rows(args.data, "test"), args.windows)
    if "latency" in sections:
        results["latency"] = bench_latency(args, windows)
        print_table("per-window analysis (1 frame + 0.96 s audio)", results["latency"],
                    ["p50_ms", "p95_ms", "windows_per_s"], ref="torch_fp32_eager",
                    key="p50_ms")
    if "reports" in sections and load_bundle(args.bundle).has_reporter:
        results["reports"] = bench_reports(args, windows)
        print_table("report generation", results["reports"], ["s_per_report", "tokens_per_s"],
                    ref="torch_fp32_eager", key="s_per_report")
    if "accuracy" in sections and args.data and args.fp32_bundle:
        results["accuracy"] = bench_accuracy(args)
        print_accuracy(results["accuracy"])
    if "rss" in sections:
        results["rss"] = {k: bench_rss(v, args.rss_windows, args.threads)
                          for k, v in bundles(args).items()}
    print_memory({"rss": results.get("rss", {}), "sizes": results["sizes"]}, args.rss_windows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--bundle", type=Path, required=True, help="shipped (INT8) bundle")
    p.add_argument("--int8-bundle", type=Path, help="same runs exported with --int8-all")
    p.add_argument("--fp32-bundle", type=Path, help="same runs exported with --no-quantize")
    p.add_argument("--align-run", type=Path, help="Phase 1 run (torch eager path)")
    p.add_argument("--instruct-run", type=Path, help="Phase 2 run (torch report timing)")
    p.add_argument("--data", type=Path, help="alignment JSONL with a 'test' split")
    p.add_argument("--windows", type=int, default=200)
    p.add_argument("--reports", type=int, default=3)
    p.add_argument("--eval-limit", type=int, default=0, help="cap on held-out clips (0 = all)")
    p.add_argument("--rss-windows", type=int, default=1000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, help="also write the numbers here")
    p.add_argument("--sections", default="latency,reports,accuracy,rss",
                   help="comma-separated subset of latency,reports,accuracy,rss")
    args = p.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # progress shows up in logs as it happens
    results: dict[str, Any] = {"load_average_at_start": list(os.getloadavg()),
                               "sizes": {k: bundle_size(v) for k, v in bundles(args).items()}}
    run_sections(args, set(args.sections.split(",")), results)
    results["load_average_at_end"] = list(os.getloadavg())
    print(f"== load average (1 min) at start {results['load_average_at_start'][0]:.1f}, "
          f"at end {results['load_average_at_end'][0]:.1f} on {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
