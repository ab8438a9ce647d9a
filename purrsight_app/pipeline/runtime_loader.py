"""Find a model bundle and load the runtime lazily, turning every failure into a reason.

The app must start (live video, audio level) even when there is no bundle yet or the runtime
package is incomplete, and say why on screen ("model not available: <reason>"). So nothing
here raises: ``load_runtime`` returns a ``LoadedRuntime`` whose ``analyzer``/``reporter`` may be
None with a human-readable ``*_error``. The classes are looked up by name on
``purrsight_model.runtime`` (``Analyzer``, ``Reporter``) so this module has no import-time
dependency on them.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from purrsight_app.pipeline.protocols import AnalyzerLike, ReporterLike

log = logging.getLogger(__name__)

RUNTIME_MODULE = "purrsight_model.runtime"
THREADS: dict[str, int | None] = {"Analyzer": None, "Reporter": 1}
"""onnxruntime threads per model: the Reporter (seconds per report) gets one core so the
analysis loop keeps its pace while a report is being written; None = runtime default."""
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class LoadedRuntime:
    """The outcome of loading: models that loaded, and why the others did not."""

    analyzer: AnalyzerLike | None = None
    reporter: ReporterLike | None = None
    bundle: Path | None = None
    analyzer_error: str = ""
    reporter_error: str = ""

    @property
    def status_line(self) -> str:
        """One line for the live view ("" when everything loaded)."""
        if self.analyzer is None:
            return f"model not available: {self.analyzer_error}"
        if self.reporter is None:
            return f"reports not available: {self.reporter_error}"
        return ""


def _runtime_module() -> Any:
    return importlib.import_module(RUNTIME_MODULE)


def find_bundle(
    explicit: str | os.PathLike[str] | None,
    models_dir: Path | None,
    active: str | os.PathLike[str] | None = None,
) -> tuple[Path | None, str]:
    """Pick a bundle: ``explicit``, then the store's ``active`` one, then the newest folder
    with a manifest under ``models_dir``, then the runtime's packaged default. Returns
    (path or None, reason when None)."""
    for chosen, what in ((explicit, "--bundle"), (active, "active model")):
        if chosen:
            p = Path(chosen).expanduser()
            if (p / MANIFEST).is_file():
                return p, ""
            return None, f"{what} {p} has no {MANIFEST}"
    if models_dir is not None and models_dir.is_dir():
        found = sorted((d for d in models_dir.iterdir() if (d / MANIFEST).is_file()),
                       key=lambda d: (d / MANIFEST).stat().st_mtime)
        if found:
            return found[-1], ""
    default = _packaged_default()
    if default is not None:
        return default, ""
    where = f" in {models_dir}" if models_dir is not None else ""
    return None, f"no model bundle found{where}"


def _packaged_default() -> Path | None:
    try:
        fn = getattr(_runtime_module(), "default_bundle", None)
        path = fn() if callable(fn) else None
    except Exception as exc:  # noqa: BLE001 - an absent default is not an error
        log.info("no packaged default bundle: %s", exc)
        return None
    return Path(path) if path else None


def _accepts_threads(fn: Callable[..., Any]) -> bool:
    try:
        return "threads" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _load_one(name: str, bundle: Path) -> tuple[Any | None, str]:
    try:
        module = _runtime_module()
    except Exception as exc:  # noqa: BLE001
        return None, f"runtime cannot be imported ({type(exc).__name__}: {exc})"
    cls = getattr(module, name, None)
    if cls is None or not callable(getattr(cls, "load", None)):
        return None, f"this build of {RUNTIME_MODULE} has no {name}"
    kwargs = {"threads": THREADS[name]} if _accepts_threads(cls.load) else {}
    try:
        return cls.load(bundle, **kwargs), ""
    except Exception as exc:  # noqa: BLE001 - broken bundle: say so, keep the app running
        log.warning("%s.load(%s) failed: %s", name, bundle, exc)
        return None, f"{name} could not load {bundle.name}: {exc}"


def load_runtime(
    bundle: str | os.PathLike[str] | None = None,
    models_dir: Path | None = None,
    *,
    active: str | os.PathLike[str] | None = None,
    loader: Callable[[str, Path], tuple[Any | None, str]] = _load_one,
) -> LoadedRuntime:
    """Find a bundle and load ``Analyzer`` and ``Reporter`` from it (never raises)."""
    path, reason = find_bundle(bundle, models_dir, active)
    if path is None:
        return LoadedRuntime(analyzer_error=reason, reporter_error=reason)
    analyzer, a_err = loader("Analyzer", path)
    reporter, r_err = loader("Reporter", path)
    return LoadedRuntime(analyzer, reporter, path, a_err, r_err)
