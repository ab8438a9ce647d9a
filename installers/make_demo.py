"""Build the demo clip the app plays when there is no camera and no microphone.

Input: ``resources/demo-src/`` (a CC0 cat photo and a handful of CC BY 4.0 CatMeows clips,
see ``resources/demo/ATTRIBUTION.md``). Output: ``resources/demo/demo_cat.mp4``: the photo
with a slow pan/zoom (H.264) and the meows spaced out by quiet stretches (AAC), so the demo
shows both "seen" and "heard" states. Run: ``python installers/make_demo.py``.
"""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from purrsight_model.media import load_audio, load_image

ROOT = Path(__file__).resolve().parents[1]
SR = 16000
FPS = 15
SIZE = (640, 480)  # output width, height
GAP_SECONDS = 3.0  # quiet between meows


def audio_track(clips: list[Path]) -> np.ndarray:
    """Meows separated by quiet (low room noise, not digital silence)."""
    rng = np.random.default_rng(0)
    parts = []
    for clip in clips:
        parts.append((rng.standard_normal(int(GAP_SECONDS * SR)) * 0.002).astype(np.float32))
        parts.append(load_audio(clip, sr=SR))
    parts.append((rng.standard_normal(int(GAP_SECONDS * SR)) * 0.002).astype(np.float32))
    return np.concatenate(parts)


def frame_at(photo: np.ndarray, t: float, duration: float) -> np.ndarray:
    """A crop that drifts and zooms slowly across the photo (Ken Burns)."""
    h, w = photo.shape[:2]
    phase = 0.5 - 0.5 * np.cos(2 * np.pi * t / duration)  # 0 -> 1 -> 0
    zoom = 1.0 + 0.15 * phase
    cw, ch = int(w / zoom), int(h / zoom)
    x0 = int((w - cw) * phase)
    y0 = int((h - ch) * 0.5)
    crop = photo[y0 : y0 + ch, x0 : x0 + cw]
    return cv2.resize(crop, SIZE, interpolation=cv2.INTER_AREA)


def write_mp4(out: Path, photo: np.ndarray, audio: np.ndarray) -> None:
    duration = len(audio) / SR
    with av.open(str(out), "w") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = *SIZE, "yuv420p"
        video.options = {"crf": "30", "preset": "slow"}
        sound = container.add_stream("aac", rate=SR)
        sound.layout = "mono"
        for i in range(int(duration * FPS)):
            frame = av.VideoFrame.from_ndarray(frame_at(photo, i / FPS, duration), format="rgb24")
            container.mux(video.encode(frame))
        container.mux(video.encode())
        pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
        block = 1024
        for start in range(0, len(pcm), block):
            chunk = pcm[start : start + block][None, :]
            aframe = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
            aframe.sample_rate, aframe.pts, aframe.time_base = SR, start, Fraction(1, SR)
            container.mux(sound.encode(aframe))
        container.mux(sound.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--src", type=Path, default=ROOT / "resources" / "demo-src")
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "demo" / "demo_cat.mp4")
    args = parser.parse_args()
    photo = load_image(args.src / "chelsea.png")
    clips = sorted(args.src.glob("*.wav"))
    audio = audio_track(clips)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_mp4(args.out, photo, audio)
    print(f"{args.out}: {len(audio) / SR:.1f} s, {args.out.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
