"""Registered models: install a run's bundle into ``models/``, keep every previous one.

A bundle accepted by the owner is moved out of its run folder into ``models/<model-id>/``
(a rename on the same disk; copied otherwise), so discarding or cleaning runs can never
delete a model in use. The model in use before the first fine-tune (often the packaged
default) is registered too, inactive, so the owner can always roll back to it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from purrsight_app.storage import ModelRecord, ModelRow


class RegistryError(RuntimeError):
    """A bundle that could not be installed (the message names the folder)."""


def model_id_for(run_id: str, clock: float | None = None) -> str:
    """``ft-20240501-1432-<run>``: sortable by date and traceable to its run."""
    stamp = time.strftime("%Y%m%d-%H%M", time.localtime(clock if clock is not None
                                                         else time.time()))
    return f"ft-{stamp}-{run_id.rsplit('-', 1)[-1][:8]}"


def install_bundle(bundle: Path, models_dir: Path, model_id: str) -> Path:
    """Move ``bundle`` to ``models_dir/model_id`` (copy across devices); return the new path."""
    dest = models_dir / model_id
    if dest.exists():
        raise RegistryError(f"{dest} already exists")
    if not (bundle / "manifest.json").is_file():
        raise RegistryError(f"{bundle} is not a bundle (no manifest.json)")
    models_dir.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(bundle, dest)
    except OSError:
        try:
            shutil.copytree(bundle, dest)
        except OSError as exc:
            shutil.rmtree(dest, ignore_errors=True)
            raise RegistryError(f"cannot install {bundle} into {models_dir}: {exc}") from exc
        shutil.rmtree(bundle, ignore_errors=True)
    return dest


def base_model_id(path: Path) -> str:
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]
    return f"base-{path.name[:40]}-{digest}"


def base_record(current: Path | None, known: Iterable[ModelRow]) -> ModelRecord | None:
    """A row for the model in use when it is not registered yet (None if it is, or if no
    model is in use)."""
    if current is None:
        return None
    resolved = str(current.resolve())
    if any(m.path and str(Path(m.path).resolve()) == resolved for m in known):
        return None
    return ModelRecord(id=base_model_id(current), path=resolved, active=False,
                       metrics={"note": "the model in use before fine-tuning"})


def new_model_record(model_id: str, path: Path, metrics: dict[str, Any],
                     run_id: str) -> ModelRecord:
    """The accepted model, inactive until the hot swap has loaded it."""
    return ModelRecord(id=model_id, path=str(path), active=False,
                       metrics={**metrics, "run_id": run_id})
