"""YAMNet audio encoder on onnxruntime (no torch), plus the original w8a8 graph for comparison.

Feature extraction at training time and the live runtime run the same float ONNX graph on the
same numpy log-mel patches, so embeddings match bit for bit between the two.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from purrsight_model.encoders.base import AudioFeatures, EncoderError, version_id
from purrsight_model.encoders.yamnet_graph import (
    EMBEDDING_OUTPUT,
    INPUT_NAME,
    SCORES_OUTPUT,
    YamnetFiles,
)
from purrsight_model.frontends import TARGET_SR, log_mel_patches

EMBED_DIM = 1536  # blocks 11 + 13 pooled (yamnet_taps); the instance reads the graph
BATCH = 64  # patches per ORT call: bounds memory on long files


def make_session(path: Path, threads: int = 0, optimize: bool = True):  # -> ort.InferenceSession
    """CPU onnxruntime session; ``threads`` = intra-op threads (0 = ORT default).

    ``optimize=False`` disables graph rewrites: a QDQ graph then runs with its literal
    quantize/dequantize semantics instead of ORT's fused integer kernels (which round
    differently, see ``QuantizedYamnet``).
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if not optimize:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if threads > 0:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception classes for bad files
        raise EncoderError(f"onnxruntime cannot load {path}: {exc}") from exc


class YamnetEncoder:
    """0.96 s log-mel patches -> 1536-d multi-layer embeddings + 521 AudioSet probabilities."""

    kind = "yamnet"
    dim = EMBED_DIM
    sample_rate = TARGET_SR

    def __init__(self, files: YamnetFiles, threads: int = 0) -> None:
        self.files = files
        self.dim = files.embedding_dim
        self.num_classes = files.num_classes
        self.version = version_id(self.kind, files.float_sha256)
        self.session = make_session(files.float_path, threads)

    def encode(self, waveform: np.ndarray) -> AudioFeatures:
        """Mono float32 16 kHz waveform -> per-patch features (hop 0.48 s)."""
        patches = log_mel_patches(waveform)  # [P, 96, 64]
        return self.encode_patches(patches)

    def encode_patches(self, patches: np.ndarray) -> AudioFeatures:
        """[P, 96, 64] (or [P, 1, 96, 64]) log-mel patches -> features."""
        x = np.asarray(patches, dtype=np.float32)
        if x.ndim == 3:
            x = x[:, None]
        if x.ndim != 4 or x.shape[1:] != (1, 96, 64):
            raise ValueError(f"expected log-mel patches [P, 96, 64], got {patches.shape}")
        embs, scores = [], []
        for start in range(0, x.shape[0], BATCH):
            emb, score = self.session.run(
                [EMBEDDING_OUTPUT, SCORES_OUTPUT], {INPUT_NAME: x[start : start + BATCH]}
            )
            embs.append(emb)
            scores.append(score)
        if not embs:
            return AudioFeatures(
                np.zeros((0, self.dim), np.float32), np.zeros((0, self.num_classes), np.float32)
            )
        return AudioFeatures(
            np.concatenate(embs).astype(np.float32), np.concatenate(scores).astype(np.float32)
        )


class QuantizedYamnet:
    """The original w8a8 graph (uint8 in/out, batch 1) behind a float interface, for comparisons.

    By default ORT fuses the Q/DQ pairs into integer kernels (the fast path a deployment would
    use); ``reference=True`` runs the literal QDQ arithmetic, which the float graph matches up
    to activation rounding.
    """

    def __init__(self, path: Path, threads: int = 0, reference: bool = False) -> None:
        import onnx
        from onnx import numpy_helper

        self.session = make_session(path, threads, optimize=not reference)
        inits = {
            i.name: i for i in onnx.load(str(path), load_external_data=False).graph.initializer
        }
        try:
            self._in = [
                float(numpy_helper.to_array(inits[k])) for k in ("audio_scale", "audio_zero_point")
            ]
            self._out = [
                float(numpy_helper.to_array(inits[k]))
                for k in ("class_scores_scale", "class_scores_zero_point")
            ]
        except KeyError as exc:
            raise EncoderError(
                f"{path} lacks the w8a8 input/output quantization parameters"
            ) from exc
        self.input_name = self.session.get_inputs()[0].name

    def logits(self, patches: np.ndarray) -> np.ndarray:
        """[P, 96, 64] float log-mel -> [P, 521] dequantized logits (one patch per call)."""
        scale, zp = self._in
        q = np.clip(np.rint(patches / scale) + zp, 0, 255).astype(np.uint8)  # [P, 96, 64]
        out = [
            self.session.run(None, {self.input_name: q[i][None, None]})[0]
            for i in range(q.shape[0])
        ]
        o_scale, o_zp = self._out
        return ((np.concatenate(out).astype(np.float32) - o_zp) * o_scale).astype(np.float32)

    def scores(self, patches: np.ndarray) -> np.ndarray:
        """[P, 521] sigmoid probabilities."""
        return (0.5 * (1.0 + np.tanh(0.5 * self.logits(patches)))).astype(np.float32)
