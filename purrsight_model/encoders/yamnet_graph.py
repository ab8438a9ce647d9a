"""Build (once) and cache YAMNet's float ONNX graph from the packaged w8a8 export.

The float graph is a deterministic function of the source file, so it is written to
``<cache>/yamnet/<source sha256[:16]>-r<RECIPE>/`` with a ``meta.json`` holding both hashes;
later loads verify the hash and reuse it. Files are written to a temp name and renamed, so
two processes building at once cannot leave a half-written graph behind.

Graph contract (what the runtime and the exporter rely on):
input ``log_mel`` float32 [N, 1, 96, 64] (``frontends.log_mel_patches``), outputs
``embedding`` [N, D] (YAMNet: blocks 11 + 13 pooled, D = 1536, see ``yamnet_taps``; graphs
without those blocks: the tensor feeding the classifier), ``scores`` [N, 521] (sigmoid) and
``logits`` [N, 521].
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from purrsight_model.encoders.base import EncoderError, sha256_file
from purrsight_model.encoders.yamnet_taps import tap_nodes, weight_dims

RECIPE = 2  # bump when the conversion changes: the cache key and the version change with it
INPUT_NAME = "log_mel"
EMBEDDING_OUTPUT = "embedding"
SCORES_OUTPUT = "scores"
LOGITS_OUTPUT = "logits"
FLOAT_FILE = "yamnet_float.onnx"
META_FILE = "meta.json"


@dataclass(frozen=True)
class YamnetFiles:
    """Paths of a prepared YAMNet cache entry."""

    float_path: Path
    """Float graph with the contract above."""
    source_path: Path
    """The packaged/original file it was derived from."""
    source_sha256: str
    float_sha256: str
    quantized_path: Path | None
    """The extracted original (w8a8) graph, kept for comparisons; None for float sources."""
    embedding_dim: int = 1536
    num_classes: int = 521


def default_cache_dir() -> Path:
    """``platformdirs.user_cache_dir('purrsight')``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("purrsight"))


def prepare_yamnet(
    source: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None
) -> YamnetFiles:
    """Return the cached float graph for ``source`` (.zip or .onnx), building it if needed."""
    src = Path(source)
    if not src.is_file():
        raise EncoderError(f"YAMNet model not found: {src}")
    src_sha = sha256_file(src)
    entry = Path(cache_dir or default_cache_dir()) / "yamnet" / f"{src_sha[:16]}-r{RECIPE}"
    cached = _load_entry(entry, src, src_sha)
    if cached is not None:
        return cached
    entry.mkdir(parents=True, exist_ok=True)
    return _build_entry(entry, src, src_sha)


def _build_entry(entry: Path, src: Path, src_sha: str) -> YamnetFiles:
    """Convert ``src`` into ``entry``; a failed build leaves no scratch files behind."""
    from purrsight_model.encoders.qdq import count_qdq

    scratch = Path(tempfile.mkdtemp(dir=entry, prefix="extract-")) if src.suffix == ".zip" else None
    try:
        onnx_path = _extract(src, scratch) if scratch is not None else src
        model = _load_onnx(onnx_path, src)
        is_quantized = count_qdq(model) > 0
        float_model = build_float_graph(model, src)
        if scratch is not None:
            onnx_path = _keep_source(scratch, onnx_path, entry / "source")
    finally:
        if scratch is not None and scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    quantized = onnx_path if is_quantized else None
    float_sha = _atomic_save(float_model, entry / FLOAT_FILE)
    emb_dim, n_classes = output_dims(float_model)
    meta = {
        "source": str(src),
        "source_sha256": src_sha,
        "float_sha256": float_sha,
        "recipe": RECIPE,
        "quantized": str(quantized) if quantized else None,
        "embedding_dim": emb_dim,
        "num_classes": n_classes,
    }
    _atomic_write_text(entry / META_FILE, json.dumps(meta, indent=2))
    return YamnetFiles(entry / FLOAT_FILE, src, src_sha, float_sha, quantized, emb_dim, n_classes)


def _load_entry(entry: Path, src: Path, src_sha: str) -> YamnetFiles | None:
    """A verified cache entry, or None when absent/stale/corrupt (it is then rebuilt)."""
    try:
        meta = json.loads((entry / META_FILE).read_text())
        float_path = entry / FLOAT_FILE
        if meta.get("source_sha256") != src_sha or sha256_file(float_path) != meta["float_sha256"]:
            return None
        quantized = Path(meta["quantized"]) if meta.get("quantized") else None
        if quantized is not None and not quantized.is_file():
            quantized = None
        return YamnetFiles(
            float_path,
            src,
            src_sha,
            meta["float_sha256"],
            quantized,
            int(meta["embedding_dim"]),
            int(meta["num_classes"]),
        )
    except (OSError, ValueError, KeyError, EncoderError):
        return None


def _keep_source(scratch: Path, onnx_path: Path, final: Path) -> Path:
    """Move the extracted original into place (another process may have won the race)."""
    rel = onnx_path.relative_to(scratch)
    shutil.rmtree(final, ignore_errors=True)
    try:
        scratch.rename(final)
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
    return final / rel


def _extract(zip_path: Path, dest: Path) -> Path:
    """Extract the single .onnx (+ external data) of a zip, refusing paths outside ``dest``."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            names = zf.namelist()
            for name in names:
                target = (dest / name).resolve()
                if not target.is_relative_to(dest.resolve()):
                    raise EncoderError(f"unsafe path {name!r} in {zip_path}")
            zf.extractall(dest)
    except (zipfile.BadZipFile, OSError) as exc:
        raise EncoderError(f"cannot extract YAMNet zip {zip_path}: {exc}") from exc
    found = sorted(dest.rglob("*.onnx"))
    if len(found) != 1:
        raise EncoderError(f"expected one .onnx inside {zip_path}, found {len(found)}")
    return found[0]


def _load_onnx(path: Path, src: Path):  # -> onnx.ModelProto
    import onnx

    try:
        return onnx.load(str(path))
    except Exception as exc:  # protobuf raises several unrelated types on garbage
        raise EncoderError(f"cannot parse ONNX model {src}: {exc}") from exc


def build_float_graph(model, src: Path | str = "<model>"):  # onnx.ModelProto -> ModelProto
    """Strip Q/DQ, expose embedding/scores/logits, rename the input and free the batch dim."""
    import onnx

    from purrsight_model.encoders.qdq import strip_qdq

    stripped = strip_qdq(model)
    try:
        graph = _expose_outputs(stripped, src)
        onnx.checker.check_model(graph)
    except (onnx.checker.ValidationError, ValueError) as exc:
        raise EncoderError(f"{src} does not look like YAMNet: {exc}") from exc
    return graph


def _expose_outputs(model, src: Path | str):  # onnx.ModelProto -> ModelProto
    from onnx import TensorProto, helper

    graph = model.graph
    _rename_colliding(graph)
    if len(graph.input) != 1 or len(graph.output) != 1:
        raise ValueError(
            f"expected 1 input and 1 output, got {len(graph.input)}/{len(graph.output)}"
        )
    dims = [d.dim_value or d.dim_param for d in graph.input[0].type.tensor_type.shape.dim]
    if len(dims) != 4 or dims[1:] != [1, 96, 64]:
        raise ValueError(f"expected an input of log-mel patches [N, 1, 96, 64], got {dims}")
    heads = [n for n in graph.node if n.op_type in ("Gemm", "MatMul")]
    if not heads:
        raise ValueError("no Gemm/MatMul classifier found")
    emb_tensor = heads[-1].input[0]
    emb_dim, n_classes = _head_dims(heads[-1], graph)
    old_in, old_out = graph.input[0].name, graph.output[0].name
    producer = next(n for n in graph.node if old_out in n.output)
    nodes = [helper.make_node("Identity", [INPUT_NAME], [old_in], name="input_alias"), *graph.node]
    taps = tap_nodes(graph, EMBEDDING_OUTPUT)
    if taps is None:
        nodes.append(
            helper.make_node("Identity", [emb_tensor], [EMBEDDING_OUTPUT], name="embedding_out")
        )
    else:
        nodes.extend(taps[0])
        emb_dim = taps[1]
    if producer.op_type == "Sigmoid":
        nodes.append(helper.make_node("Identity", [old_out], [SCORES_OUTPUT], name="scores_out"))
        nodes.append(
            helper.make_node("Identity", [producer.input[0]], [LOGITS_OUTPUT], name="logits_out")
        )
    else:
        nodes.append(helper.make_node("Sigmoid", [old_out], [SCORES_OUTPUT], name="scores_out"))
        nodes.append(helper.make_node("Identity", [old_out], [LOGITS_OUTPUT], name="logits_out"))
    inits = [_free_batch_in_reshape(i, graph) for i in graph.initializer]
    new_graph = helper.make_graph(
        nodes,
        "yamnet_float",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", 1, 96, 64])],
        [
            helper.make_tensor_value_info(EMBEDDING_OUTPUT, TensorProto.FLOAT, ["N", emb_dim]),
            helper.make_tensor_value_info(SCORES_OUTPUT, TensorProto.FLOAT, ["N", n_classes]),
            helper.make_tensor_value_info(LOGITS_OUTPUT, TensorProto.FLOAT, ["N", n_classes]),
        ],
        inits,
    )
    new_model = helper.make_model(new_graph, opset_imports=model.opset_import)
    new_model.ir_version = model.ir_version
    new_model.producer_name = "purrsight yamnet-float"
    new_model.doc_string = f"YAMNet float graph without Q/DQ (purrsight recipe {RECIPE})"
    return new_model


def _rename_colliding(graph) -> None:  # GraphProto, edited in place
    """Move source tensors whose names clash with the contract names out of the way."""
    taken = {INPUT_NAME, EMBEDDING_OUTPUT, SCORES_OUTPUT, LOGITS_OUTPUT}
    for name in taken:
        new = f"{name}__src"
        for node in graph.node:
            node.input[:] = [new if n == name else n for n in node.input]
            node.output[:] = [new if n == name else n for n in node.output]
        for item in (*graph.input, *graph.output, *graph.initializer, *graph.value_info):
            if item.name == name:
                item.name = new


def _head_dims(head, graph) -> tuple[int, int]:  # (NodeProto, GraphProto)
    """(embedding dim, classes) from the classifier's constant weight matrix."""
    from onnx import helper

    dims = weight_dims(head, graph)
    if dims is None or len(dims) != 2:
        raise ValueError("the classifier weight is not a constant matrix")
    trans_b = any(a.name == "transB" and helper.get_attribute_value(a) for a in head.attribute)
    rows, cols = dims
    return (cols, rows) if head.op_type == "Gemm" and trans_b else (rows, cols)


def output_dims(model) -> tuple[int, int]:  # ModelProto -> (embedding dim, classes)
    """Embedding and class counts declared on a float graph's outputs."""
    dims = {o.name: o.type.tensor_type.shape.dim[1].dim_value for o in model.graph.output}
    return dims[EMBEDDING_OUTPUT], dims[SCORES_OUTPUT]


def _free_batch_in_reshape(init, graph):  # TensorProto -> TensorProto
    """A Reshape target like [1, -1] pins batch 1; [0, -1] copies the batch dim instead."""
    from onnx import numpy_helper

    is_shape = any(n.op_type == "Reshape" and n.input[1] == init.name for n in graph.node)
    if not is_shape:
        return init
    shape = numpy_helper.to_array(init)
    if shape.ndim == 1 and shape.size >= 2 and shape[0] == 1 and -1 in shape[1:]:
        return numpy_helper.from_array(
            np.concatenate([[0], shape[1:]]).astype(shape.dtype), init.name
        )
    return init


def _atomic_save(model, path: Path) -> str:
    """Write the model (weights inline) via a temp file + rename; return its sha256."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        with open(tmp, "wb") as fh:
            fh.write(model.SerializeToString())
        digest = sha256_file(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return digest


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def clear_cache(cache_dir: str | os.PathLike[str] | None = None) -> None:
    """Remove every cached YAMNet entry (they are rebuilt on the next load)."""
    shutil.rmtree(Path(cache_dir or default_cache_dir()) / "yamnet", ignore_errors=True)
