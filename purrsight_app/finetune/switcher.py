"""Hot-swap the live models to a registered bundle (accept, or roll back), without restart.

Loading a bundle takes seconds, so ``switch`` is blocking and runs on a worker thread. The
store's active model changes only after the new ``Analyzer`` has loaded: a bundle that fails
to load leaves the previous model running and active, and the error goes back to the panel.
The analysis loop applies the new models between two windows (``swap_models``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from purrsight_app.pipeline.runtime_loader import LoadedRuntime, load_runtime
from purrsight_app.storage import SetActiveModel


class SwitchError(RuntimeError):
    """The bundle did not load; the previous model is still in use."""


class SessionLike(Protocol):
    runtime: LoadedRuntime | None

    def set_models(self, loaded: LoadedRuntime) -> None: ...


class WriterLike(Protocol):
    def submit(self, item: object): ...


Loader = Callable[[Path], LoadedRuntime]


def default_loader(path: Path) -> LoadedRuntime:
    return load_runtime(path)


class ModelSwitcher:
    """``switch(model_id, path)`` = load, then make active in the store, then swap."""

    def __init__(self, session: SessionLike, writer: Callable[[], WriterLike | None],
                 loader: Loader = default_loader) -> None:
        self.session, self._writer, self.loader = session, writer, loader

    def switch(self, model_id: str, path: Path, timeout: float = 10.0) -> LoadedRuntime:
        """Blocking; raises ``SwitchError`` when the bundle does not load or the store
        refuses (the running model is then unchanged)."""
        loaded = self.loader(Path(path))
        if loaded.analyzer is None:
            raise SwitchError(f"the new model did not load: {loaded.analyzer_error}")
        writer = self._writer()
        if writer is None:
            raise SwitchError("the history database is not open")
        try:
            writer.submit(SetActiveModel(model_id)).result(timeout)
        except Exception as exc:  # noqa: BLE001 - KeyError, timeout, disk errors
            raise SwitchError(f"could not make {model_id} the active model: {exc}") from exc
        self.session.set_models(loaded)
        return loaded
