"""Room noise beside a photo: does audio with no cat in it change what the heads say?

Each held-out photo with an affective label (catfaces3 angry -> aggressive, happy -> content)
is analysed alone and beside one second of synthetic room noise, twice: by an Analyzer that
fuses every window (``audio_gate=0``, the baseline) and by the shipped one (a window whose
audio YAMNet does not hear as a cat is read from its frame alone). Prints affective_state
accuracy per noise and how many windows the gate read from the photo alone.

    .venv/bin/python benchmarks/room_noise.py --bundle resources/models/default/bundle \\
        --data ../shared/data --split test
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from purrsight_model.data.converters import convert  # noqa: E402
from purrsight_model.media import load_image  # noqa: E402
from purrsight_model.runtime import Analyzer  # noqa: E402

SR = 16000


def _at(x: np.ndarray, dbfs: float) -> np.ndarray:
    return (x / np.sqrt(np.mean(x**2)) * 10 ** (dbfs / 20)).astype(np.float32)


def noises(seed: int = 0) -> dict[str, Callable[[], np.ndarray]]:
    """Name -> a fresh 1 s noise waveform at 16 kHz."""
    rng = np.random.default_rng(seed)

    def pink() -> np.ndarray:
        spec = np.fft.rfft(rng.normal(0, 1, SR))  # [SR/2 + 1]
        spec[1:] /= np.sqrt(np.arange(1, spec.size))
        return np.fft.irfft(spec, SR)

    t = np.arange(SR) / SR
    hum = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in (1, 2, 3))
    return {"silence": lambda: np.zeros(SR, np.float32),
            "white -50 dBFS": lambda: _at(rng.normal(0, 1, SR), -50),
            "white -30 dBFS": lambda: _at(rng.normal(0, 1, SR), -30),
            "pink -40 dBFS": lambda: _at(pink(), -40),
            "mains hum -30 dBFS": lambda: _at(hum, -30)}


def photos(data: str, split: str) -> list[tuple[str, str]]:
    """(path, affective_state) of the split's catfaces3 photos that carry one."""
    rows = convert(data, sets=["catfaces3"]).align["catfaces3"]
    return [(r["image"], r["labels"]["affective_state"]) for r in rows
            if (split == "all" or r["split"] == split) and "affective_state" in r["labels"]]


def run(bundle: str, cases: list[tuple[str, str]], threads: int
        ) -> dict[str, tuple[float, float, int]]:
    """Noise -> (fused accuracy, gated accuracy, windows read from the photo alone)."""
    fused = Analyzer.load(bundle, threads, audio_gate=0.0)
    gated = Analyzer.load(bundle, threads)
    make = noises()
    hits = {name: np.zeros(3) for name in ("photo alone", *make)}
    for path, truth in cases:
        image = load_image(path)
        alone = gated.analyze(image, None).top("affective_state")[0] == truth
        hits["photo alone"] += (alone, alone, 0)
        for name, noise in make.items():
            wave = noise()
            obs = gated.analyze(image, wave)
            hits[name] += (fused.analyze(image, wave).top("affective_state")[0] == truth,
                           obs.top("affective_state")[0] == truth, obs.audio_vec is None)
    n = len(cases)
    return {k: (v[0] / n, v[1] / n, int(v[2])) for k, v in hits.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bundle", default=str(ROOT / "resources/models/default/bundle"))
    p.add_argument("--data", required=True, help="folder laid out like ../shared/data")
    p.add_argument("--split", default="test", help="train/val/test or all")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    cases = photos(args.data, args.split)
    if not cases:
        raise SystemExit(f"no catfaces3 photos with an affective label in {args.data} "
                         f"({args.split})")
    result = run(args.bundle, cases, args.threads)
    n = len(cases)
    print(f"== affective_state accuracy on {n} {args.split} photos beside room noise")
    print(f"{'noise':22s} {'fused (baseline)':>17s} {'shipped':>8s} {'gain':>7s}  photo alone")
    for name, (f, g, alone) in result.items():
        gate = "-" if name == "photo alone" else f"{alone}/{n}"
        print(f"{name:22s} {f:17.3f} {g:8.3f} {g - f:+7.3f}  {gate}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
