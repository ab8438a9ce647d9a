"""INT8 variants of the exported graphs, one recipe per model family.

- CNN (image encoder): static QDQ, uint8 activations / int8 per-channel weights, ranges from
  a calibration set of real frames (dynamic INT8 makes CNNs 8-14x slower here), percentile
  99.99 ranges and 7-bit weights (``reduce_range``): measured on MobileNetV2 + catfaces3,
  full-range u8s8 weights saturate ORT's fused int8 conv kernels (feature cosine 0.93 fused vs
  0.98 simulated), 7-bit weights do not (0.977 both), percentile ranges add +0.01 (0.986).
  The ranges are saved as a JSON calibration cache: with it, the same INT8 graph can be
  rebuilt from the packaged weights without the calibration images.
- Transformer encoder (text): dynamic INT8 (weights int8, activations quantized on the fly).
- LLM decoder: weight-only 8-bit ``MatMulNBits`` (block 32, symmetric, accuracy_level 4 =
  int8 compute); static QDQ wrecks GPT-style decoders and dynamic INT8 changes the tokens.

Whether an INT8 variant is kept is decided by measurement (``export.choose``), not here.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from purrsight_model.export.common import ExportError, check_graph

log = logging.getLogger(__name__)

NBITS_BLOCK = 32
#: Activation ranges clip the top 0.01 % (MinMax lets rare outliers widen every step).
CALIB_PERCENTILE = 99.99
NBITS_ACCURACY_LEVEL = 4


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """ORT's quantizers log every skipped tensor on the root logger: keep that out of ours."""
    loggers = [logging.getLogger(n) for n in ("", "onnxruntime.quantization.matmul_nbits_quantizer")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


class FramesReader:
    """``CalibrationDataReader`` over preprocessed frames, one frame per call."""

    def __init__(self, frames: np.ndarray, input_name: str = "pixels") -> None:
        self.frames, self.input_name, self.i = frames, input_name, 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.i >= len(self.frames):
            return None
        self.i += 1
        return {self.input_name: self.frames[self.i - 1 : self.i]}

    def rewind(self) -> None:
        self.i = 0


def quantize_image_static(fp32: Path, out: Path, frames: np.ndarray | None,
                          cache: Path) -> Path:
    """Static QDQ u8s8 per-channel; ``frames`` [N, 3, 224, 224] calibrate (or ``cache``)."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = out.with_name(out.stem + ".pre.onnx")
    with quiet():
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
        reader = FramesReader(frames) if frames is not None else None
        quantize_static(str(pre), str(out), reader, quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        per_channel=True, reduce_range=True,
                        calibrate_method=CalibrationMethod.Percentile,
                        extra_options={"CalibPercentile": CALIB_PERCENTILE},
                        calibration_cache_path=str(cache))
    pre.unlink(missing_ok=True)
    check_graph(out)
    return out


def quantize_dynamic_int8(fp32: Path, out: Path) -> Path:
    """Dynamic INT8 of the MatMuls (transformer encoders), per-channel 7-bit weights.

    Measured on MiniLM + the Phase 1 text projection over 64 real captions: per-tensor gives
    cosine 0.998 mean / 0.990 min against fp32, per-channel + reduce_range 0.9994 / 0.998.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with quiet():
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True,
                         reduce_range=True, op_types_to_quantize=["MatMul"])
    check_graph(out)
    return out


def quantize_llm_nbits(fp32: Path, out: Path, bits: int = 8) -> Path:
    """Weight-only ``MatMulNBits`` (block 32, symmetric, accuracy_level 4)."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )

    model = onnx.load(str(fp32))
    cfg = DefaultWeightOnlyQuantConfig(block_size=NBITS_BLOCK, is_symmetric=True,
                                       accuracy_level=NBITS_ACCURACY_LEVEL, bits=bits)
    quantizer = MatMulNBitsQuantizer(model, bits=bits, block_size=NBITS_BLOCK,
                                     is_symmetric=True, accuracy_level=NBITS_ACCURACY_LEVEL,
                                     algo_config=cfg)
    with quiet():
        quantizer.process()
    n = sum(node.op_type == "MatMulNBits" for node in quantizer.model.model.graph.node)
    if n == 0:
        raise ExportError(f"no MatMul of {fp32} was quantized to MatMulNBits")
    quantizer.model.save_model_to_file(str(out), use_external_data_format=False)
    check_graph(out)
    log.info("%s: %d MatMulNBits nodes (%d-bit)", out.name, n, bits)
    return out
