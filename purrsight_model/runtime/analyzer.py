"""``Analyzer``: one window (newest frame + ~1 s of audio) -> ``Observation``, torch-free.

Pipeline per window: numpy preprocessing (``frontends``) -> image encoder graph (embedding +
ImageNet cat score) and YAMNet graph (patch embeddings + AudioSet scores) -> aligner graph
(aligned vectors + head probabilities) -> zero-shot cues fused in. Safe to call from one
worker thread while another thread calls ``embed_text`` (a lock serialises them).

Audio that carries no cat does not steer the heads when there is a frame to look at: the
trained heads only ever saw cat sounds, and room noise drives them anywhere (measured on the
default model: a cat photo + white noise at -50 dBFS read "anxious 66 %, arousal high 85 %,
hiss"; the photo alone "content 84 %"; ``benchmarks/room_noise.py``). So below
``zeroshot.CALL_HEARD_MIN`` (the threshold under which no call is named either; the
``audio_gate`` argument) a window with a frame is aligned from the frame alone;
its level, ``cat_heard`` and call scores are still reported. Audio-only windows and clips are
always aligned from their audio.

A head is left out of a window read only from modalities its training labels never came with
(``head_evidence`` in the manifest; the default model's arousal labels are sounds only): its
output there is a guess the model was never taught, and a report says ``unknown`` for it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from purrsight_model import frontends
from purrsight_model.runtime import zeroshot
from purrsight_model.runtime.bundle import (
    ALIGNER,
    AUDIO_ENCODER,
    IMAGE_ENCODER,
    TEXT_ENCODER,
    TEXT_TOKENIZER,
    Bundle,
    BundleError,
    load_bundle,
)
from purrsight_model.runtime.observation import Observation
from purrsight_model.runtime.sessions import input_names, limit_blas_threads, make_session


def even_indices(n: int, cap: int) -> np.ndarray:
    """At most ``cap`` indices spread evenly over ``n`` (the feature cache's rule)."""
    if n <= cap:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, cap).round().astype(np.int64))


class Analyzer:
    """Loads a bundle's encoder + aligner graphs and analyses windows or whole clips."""

    def __init__(self, bundle: Bundle, threads: int | None = None,
                 blas_threads: int | None = 1, *,
                 audio_gate: float = zeroshot.CALL_HEARD_MIN) -> None:
        limit_blas_threads(blas_threads)
        self.bundle = bundle
        self.audio_gate = audio_gate  # cat_heard below which a frame's window ignores audio
        spec = bundle.section("aligner")
        self.dim = int(spec["dim"])
        self.max_frames, self.max_patches = int(spec["max_frames"]), int(spec["max_patches"])
        self.image_dim, self.audio_dim = int(spec["image_dim"]), int(spec["audio_dim"])
        self.audio_classes = int(spec["audio_classes"])
        self.heads = bundle.heads
        self.evidence = bundle.head_evidence
        zs = bundle.section("zero_shot")
        self.cat_classes = tuple(int(i) for i in zs["cat_classes"])
        self.calls = {str(k): int(v) for k, v in zs["calls"].items()}
        self.image = make_session(bundle.path(IMAGE_ENCODER), threads)
        self.audio = make_session(bundle.path(AUDIO_ENCODER), threads)
        self.aligner = make_session(bundle.path(ALIGNER), threads)
        self._aligner_inputs = input_names(self.aligner)
        self._text = None
        self._threads = threads
        self._lock = threading.Lock()

    @classmethod
    def load(cls, bundle: str | Path | Bundle, threads: int | None = None,
             blas_threads: int | None = 1, *,
             audio_gate: float = zeroshot.CALL_HEARD_MIN) -> Analyzer:
        """Verify and load a bundle folder (BundleError if corrupt or mismatched).

        ``threads``: onnxruntime intra-op threads (None = all cores). ``blas_threads``: cap on
        numpy's BLAS threads for this process (None leaves it alone; see
        ``sessions.limit_blas_threads``). ``audio_gate``: ``cat_heard`` below which a window
        with a frame is read from the frame alone (0 = always fuse; benchmarks compare).
        """
        return cls(bundle if isinstance(bundle, Bundle) else load_bundle(bundle), threads,
                   blas_threads, audio_gate=audio_gate)

    # --- encoders ---------------------------------------------------------------------

    def encode_frames(self, frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """uint8 RGB frames -> embeddings [F, Di] and ImageNet cat scores [F]."""
        pixels = frontends.preprocess_images(list(frames))  # [F, 3, 224, 224]
        emb, cat = self.image.run(["embedding", "cat_score"], {"pixels": pixels})
        return emb, cat

    def encode_audio(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """16 kHz mono -> patch embeddings [P, Da] and AudioSet scores [P, C]."""
        patches = frontends.log_mel_patches(audio)[:, None]  # [P, 1, 96, 64]
        emb, scores = self.audio.run(["embedding", "scores"], {"log_mel": patches})
        return emb, scores

    def _align(self, frames: np.ndarray | None, patches: np.ndarray | None,
               scores: np.ndarray | None) -> dict[str, np.ndarray]:
        """Encoder features of one window/clip -> aligner outputs for batch row 0."""
        f = np.zeros((1, 1, self.image_dim), np.float32) if frames is None else frames[None]
        p = np.zeros((1, 1, self.audio_dim), np.float32) if patches is None else patches[None]
        s = (np.zeros((1, p.shape[1], self.audio_classes), np.float32) if scores is None
             else scores[None])
        feed = {"image_frames": f, "image_mask": np.full(f.shape[:2], frames is not None,
                                                         np.float32),
                "audio_patches": p, "audio_mask": np.full(p.shape[:2], patches is not None,
                                                          np.float32),
                "audio_scores": s}
        names = [o.name for o in self.aligner.get_outputs()]
        outs = self.aligner.run(names, {k: v for k, v in feed.items()
                                        if k in self._aligner_inputs})
        return {n: o[0] for n, o in zip(names, outs, strict=True)}

    # --- public API ---------------------------------------------------------------------

    def analyze(self, frame: np.ndarray | None, audio: np.ndarray | None, ts: float | None = None,
                *, sr: int = frontends.TARGET_SR) -> Observation:
        """One window: the newest uint8 RGB frame [H, W, 3] and ~0.96 s of mono audio."""
        return self.analyze_clip(None if frame is None else [frame], audio, ts, sr=sr)

    def analyze_clip(self, frames: Sequence[np.ndarray] | None, audio: np.ndarray | None,
                     ts: float | None = None, *, sr: int = frontends.TARGET_SR) -> Observation:
        """A whole clip: up to ``max_frames`` frames and ``max_patches`` patches, evenly spread
        (how training saw clips); used for evaluation and imported media."""
        start = time.perf_counter()
        ts = time.time() if ts is None else ts
        frames = list(frames) if frames is not None and len(frames) else None
        wave = None if audio is None else np.asarray(audio, np.float32).reshape(-1)
        if wave is not None and wave.size == 0:
            wave = None
        if wave is not None and sr != frontends.TARGET_SR:
            wave = frontends.resample(wave, sr, frontends.TARGET_SR)
        with self._lock:
            return self._analyze(frames, wave, ts, start)

    def _analyze(self, frames: list[np.ndarray] | None, wave: np.ndarray | None, ts: float,
                 start: float) -> Observation:
        img_emb = cat = aud_emb = scores = None
        if frames is not None:
            frames = [frames[i] for i in even_indices(len(frames), self.max_frames)]
            img_emb, cat = self.encode_frames(frames)
        if wave is not None:
            aud_emb, scores = self.encode_audio(wave)
            keep = even_indices(len(aud_emb), self.max_patches)
            aud_emb, scores = aud_emb[keep], scores[keep]
        heard = math.nan if scores is None else zeroshot.cat_heard(scores, self.cat_classes)
        # No cat in the audio and a frame to look at: the frame decides (NaN: no cat classes).
        use_audio = wave is not None and not (frames is not None
                                              and heard < self.audio_gate)
        out = self._align(img_emb, aud_emb if use_audio else None,
                          scores if use_audio else None)
        read_from = {m for m, used in (("image", frames is not None), ("audio", use_audio)) if used}
        heads = {name: dict(zip(classes, map(float, out[f"prob_{name}"]), strict=True))
                 for name, classes in self.heads.items() if self._evidenced(name, read_from)}
        calls = {} if scores is None else zeroshot.call_scores(scores, self.calls)
        if "vocalization" in heads and calls:
            heads["vocalization"] = zeroshot.fuse_calls(heads["vocalization"], calls)
        has_any = frames is not None or wave is not None
        return Observation(
            ts=ts, has_image=frames is not None, has_audio=wave is not None, heads=heads,
            cat_visible=math.nan if cat is None else float(np.max(cat)),
            cat_heard=heard,
            calls=calls,
            audio_level_db=-120.0 if wave is None else zeroshot.level_dbfs(wave),
            embedding=out["fused_vec"].copy() if has_any else None,
            latency_ms=1e3 * (time.perf_counter() - start),
            image_vec=out["image_vec"].copy() if frames is not None else None,
            audio_vec=out["audio_vec"].copy() if use_audio else None,
        )

    def _evidenced(self, head: str, read_from: set[str]) -> bool:
        """Whether ``head`` was trained on labels that came with any modality the window was
        read from (always, when its evidence is unrecorded or nothing was read)."""
        evidence = self.evidence.get(head)
        return evidence is None or not read_from or bool(evidence & read_from)

    def embed_text(self, text: str) -> np.ndarray:
        """[dim] unit vector of a text query in the shared space (for searching observations)."""
        with self._lock:
            if self._text is None:
                self._text = _TextEncoder(self.bundle, self._threads)
            return self._text.encode(text)


class _TextEncoder:
    """tokenizers + the text graph, loaded on first use (the live view never needs it)."""

    def __init__(self, bundle: Bundle, threads: int | None) -> None:
        from tokenizers import Tokenizer

        if not (bundle.has(TEXT_ENCODER) and bundle.has(TEXT_TOKENIZER)):
            raise BundleError(f"bundle {bundle.root} has no text encoder")
        path = bundle.path(TEXT_TOKENIZER)
        try:
            self.tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises plain Exceptions
            raise BundleError(f"cannot load tokenizer {path}: {exc}") from exc
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=int(bundle.section("text")["max_tokens"]))
        self.session = make_session(bundle.path(TEXT_ENCODER), threads)

    def encode(self, text: str) -> np.ndarray:
        ids = np.array([self.tokenizer.encode(str(text)).ids], np.int64)  # [1, T]
        mask = np.ones_like(ids)
        (vec,) = self.session.run(["text_vec"], {"input_ids": ids, "attention_mask": mask})
        return vec[0]
