"""The float YAMNet graph's multi-layer embedding (blocks -4 and -2 pooled, concatenated)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from purrsight_model.encoders.yamnet_graph import (
    EMBEDDING_OUTPUT,
    INPUT_NAME,
    build_float_graph,
    output_dims,
)
from purrsight_model.encoders.yamnet_taps import TAPS, pointwise_blocks

WIDTHS = (3, 4, 5, 6, 7)  # five 1x1 conv blocks; the taps pick the 2nd and 4th
CLASSES = 6


def _blocks_graph(rng: np.random.Generator, widths: tuple[int, ...] = WIDTHS
                  ) -> tuple[onnx.ModelProto, list[tuple]]:
    """log-mel [N,1,96,64] -> n x (Conv1x1 -> Relu) -> GAP -> Reshape -> Gemm -> Sigmoid."""
    nodes, inits, params, prev, c_in = [], [], [], "x", 1
    for k, c in enumerate(widths):
        w = rng.normal(0, 0.5, (c, c_in, 1, 1)).astype(np.float32)
        b = rng.normal(0, 0.1, c).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{k}"), numpy_helper.from_array(b, f"b{k}")]
        nodes += [helper.make_node("Conv", [prev, f"w{k}", f"b{k}"], [f"c{k}"]),
                  helper.make_node("Relu", [f"c{k}"], [f"r{k}"])]
        params.append((w[:, :, 0, 0], b))
        prev, c_in = f"r{k}", c
    fc = rng.normal(0, 0.5, (CLASSES, c_in)).astype(np.float32)
    inits += [numpy_helper.from_array(fc, "fc"),
              numpy_helper.from_array(np.zeros(CLASSES, np.float32), "fc_b"),
              numpy_helper.from_array(np.array([1, -1], np.int64), "shape")]
    nodes += [helper.make_node("GlobalAveragePool", [prev], ["g"]),
              helper.make_node("Reshape", ["g", "shape"], ["flat"]),
              helper.make_node("Gemm", ["flat", "fc", "fc_b"], ["logits"], transB=1),
              helper.make_node("Sigmoid", ["logits"], ["probs"])]
    graph = helper.make_graph(
        nodes, "blocks",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 96, 64])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, CLASSES])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model, params


def _reference(x: np.ndarray, params: list[tuple]) -> np.ndarray:
    """numpy forward: per-pixel 1x1 convs; pooled activations of the tapped blocks."""
    h, acts = x, []  # [N, C, H, W]
    for w, b in params:
        h = np.maximum(np.einsum("oc,nchw->nohw", w, h) + b[None, :, None, None], 0)
        acts.append(h.mean((2, 3)))  # [N, C]
    return np.concatenate([acts[t] for t in TAPS], axis=1)


def test_embedding_concatenates_the_tapped_blocks_pooled() -> None:
    rng = np.random.default_rng(0)
    model, params = _blocks_graph(rng)
    assert [c for _, c in pointwise_blocks(model.graph)] == list(WIDTHS)
    float_model = build_float_graph(model)
    assert output_dims(float_model) == (WIDTHS[TAPS[0]] + WIDTHS[TAPS[1]], CLASSES)
    x = rng.normal(0, 1, (3, 1, 96, 64)).astype(np.float32)
    sess = ort.InferenceSession(float_model.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    emb, scores = sess.run([EMBEDDING_OUTPUT, "scores"], {INPUT_NAME: x})
    np.testing.assert_allclose(emb, _reference(x, params), rtol=1e-4, atol=1e-5)
    assert scores.shape == (3, CLASSES)


def test_graph_without_enough_blocks_keeps_the_classifier_input() -> None:
    model, _ = _blocks_graph(np.random.default_rng(1), widths=(3, 4))
    float_model = build_float_graph(model)
    # fewer blocks than the taps need: the classifier input
    assert output_dims(float_model) == (4, CLASSES)
