"""The default model's own trained parts, stored small: int4/int8/fp16 weights + configs + metrics.

Layout of the committed source folder (``resources/models/default``)::

    align/config.yaml  align/model.pt (int4 matrices, fp16 rest)  align/metrics.json  Phase 1
    instruct/config.yaml  instruct/adapter.pt (projector int8 matrices, fp16 rest)  Phase 2
    instruct/metrics.json
    build.json         pins, file hashes, package versions, evaluation summary
    evaluation.json    the held-out evaluation of the built bundle
    MODEL_CARD.md

``unpack`` turns them back into run folders (fp32) that ``export_bundle`` accepts.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import torch
import yaml

from purrsight_model.align.packed_weights import EXACT_PREFIXES, expand, shrink

ALIGN, INSTRUCT = "align", "instruct"
ALIGN_FILES = ("config.yaml", "model.pt", "metrics.json")
INSTRUCT_FILES = ("config.yaml", "adapter.pt", "metrics.json")
#: How each weights file's large matrices are stored (``align.packed_weights``), and under
#: which key of the file their state dict sits. Chosen by fidelity on validation rows:
#: Phase 1 in int4 kept every head's validation accuracy (top class changed on 0.2-2 % of
#: rows); the projector in int8 kept its soft tokens at cosine 1.0000 (int4: 0.9995).
FORMATS = {"model.pt": ("state_dict", "int4"), "adapter.pt": ("projector", "int8")}


def _cast(obj: Any, dtype: torch.dtype) -> Any:
    """Floating tensors of a nested dict/list to ``dtype``, except ``EXACT_PREFIXES`` keys
    (linear probes: fp16 rounding of their mean would move inputs by whole stds), which stay
    fp32; everything else unchanged."""
    if isinstance(obj, torch.Tensor):
        return obj.to(dtype) if obj.is_floating_point() else obj
    if isinstance(obj, dict):
        return {k: v.float() if isinstance(k, str) and k.startswith(EXACT_PREFIXES)
                and isinstance(v, torch.Tensor) else _cast(v, dtype) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_cast(v, dtype) for v in obj)
    return obj


#: Config keys holding paths of the machine a run was trained on (blanked when packing).
LOCAL_PATH_KEYS = ("data", "cache", "runs_root", "align_run", "base", "folder")


def _blank_paths(section: Any) -> None:
    if isinstance(section, dict):
        for key in LOCAL_PATH_KEYS:
            if key in section:
                section[key] = ""


def _copy_weights(src: Path, dest: Path, dtype: torch.dtype, packed: bool = False) -> None:
    """Copy a weights file with its floats cast to ``dtype``; with ``packed`` its large
    matrices are stored as ``FORMATS`` says, otherwise packed ones come back as floats."""
    blob = torch.load(src, map_location="cpu", weights_only=False)
    if isinstance(blob, dict):
        _blank_paths(blob.get("config"))
        key, fmt = FORMATS.get(src.name, ("", ""))
        if isinstance(blob.get(key), dict):
            state = expand(blob[key])
            blob[key] = shrink(state, fmt) if packed else state
    torch.save(_cast(blob, dtype), dest)


def _portable_config(src: Path, dest: Path) -> None:
    """Drop machine-specific paths (data, cache, runs, LM cache folder) from a run config."""
    doc = yaml.safe_load(src.read_text(encoding="utf-8")) or {}
    for section in doc.values():
        _blank_paths(section)
    dest.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def _pack_run(run: Path, dest: Path, names: tuple[str, ...]) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        if not (run / name).is_file():
            raise FileNotFoundError(f"{run / name} is missing")
        if name.endswith(".pt"):
            _copy_weights(run / name, dest / name, torch.float16, packed=True)
        elif name == "config.yaml":
            _portable_config(run / name, dest / name)
        else:
            shutil.copyfile(run / name, dest / name)


def pack(align_run: Path, instruct_run: Path | None, dest: Path) -> None:
    """Write the small source parts of a Phase 1 (+ Phase 2) run pair into ``dest``: large
    matrices packed as ``FORMATS`` says (``align.packed_weights``), the rest fp16."""
    _pack_run(align_run, dest / ALIGN, ALIGN_FILES)
    if instruct_run is not None:
        _pack_run(instruct_run, dest / INSTRUCT, INSTRUCT_FILES)


def unpack(src: Path, work: Path, llm: str = "") -> tuple[Path, Path | None]:
    """fp32 run folders from packed parts; returns (align run, instruct run or None).

    ``llm``: LM folder to record in the Phase 2 config (default: the packaged LM).
    """
    runs: list[Path | None] = []
    for sub, names in ((ALIGN, ALIGN_FILES), (INSTRUCT, INSTRUCT_FILES)):
        if not (src / sub / names[1]).is_file():
            runs.append(None)
            continue
        out = work / sub
        out.mkdir(parents=True, exist_ok=True)
        for name in names:
            if name.endswith(".pt"):
                _copy_weights(src / sub / name, out / name, torch.float32)
            elif (src / sub / name).is_file():
                shutil.copyfile(src / sub / name, out / name)
        runs.append(out)
    if llm and runs[1] is not None:
        path = runs[1] / "config.yaml"
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc["instruct"]["llm"] = llm
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    if runs[0] is None:
        raise FileNotFoundError(f"{src} holds no Phase 1 weights ({ALIGN}/model.pt)")
    return runs[0], runs[1]


def source_digest(src: Path) -> str:
    """sha256 over the packed weights, configs and build record (what a bundle is built from)."""
    h = hashlib.sha256()
    record = src / "build.json"
    if record.is_file():
        h.update(record.read_bytes())
    for sub, names in ((ALIGN, ALIGN_FILES), (INSTRUCT, INSTRUCT_FILES)):
        for name in names:
            path = src / sub / name
            if path.is_file() and name != "metrics.json":
                h.update(f"{sub}/{name}\0".encode())
                h.update(path.read_bytes())
    return h.hexdigest()
