"""The real ``purrsight-model finetune`` from the app's controller (slow: packaged weights).

Skipped until the model side ships the ``finetune`` command (see the job contract). Runs
Phase 1 on a dozen tiny synthetic clips, then checks the contract's final event, the
installed bundle loading in the real runtime, and the hot swap.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from labelled_data import add_clips

from purrsight_app.finetune import FinetuneController, FinetunePlan, JobCallbacks, ModelSwitcher
from purrsight_app.paths import AppPaths
from purrsight_app.storage import active_model, labeled_clips

pytestmark = pytest.mark.slow


def _has_finetune() -> bool:
    out = subprocess.run([sys.executable, "-m", "purrsight_model.cli", "finetune", "--help"],
                         capture_output=True, text=True, timeout=120)
    return out.returncode == 0


@pytest.fixture(scope="module")
def finetune_available() -> None:
    pytest.importorskip("torch")
    if not _has_finetune():
        pytest.skip("purrsight-model has no finetune command yet")


def test_real_finetune_phase1_runs_and_swaps(finetune_available, app_store, app_writer) -> None:
    paths = AppPaths(app_store.path.parent).ensure()
    add_clips(app_writer, paths.data_dir, 12)
    ctl = FinetuneController(paths, lambda: app_writer, app_store.reader)
    pairs = labeled_clips(app_store.reader())
    prepared = ctl.prepare(pairs)
    estimate = ctl.estimate(FinetunePlan("1"), prepared.export.align)
    assert estimate.total > 0
    events, results = [], []
    job = ctl.start(FinetunePlan("1"), prepared, JobCallbacks(
        on_event=events.append, on_exit=lambda s, r: results.append(r)))
    state = job.wait(900)
    log = (prepared.run_dir / "job.log").read_text()
    assert state.status == "finished", log[-2000:]
    result = results[0]
    assert result.usable and result.n_test == prepared.export.splits.get("test", 0)
    assert "affective_state" in result.new and events[-1].phase == "evaluate"
    model_id, path = ctl.accept(result, current=None)

    class Session:
        runtime = None

        def set_models(self, loaded):
            self.runtime = loaded
    session = Session()
    ModelSwitcher(session, lambda: app_writer).switch(model_id, path)
    assert session.runtime.analyzer is not None
    assert active_model(app_store.reader()).id == model_id
