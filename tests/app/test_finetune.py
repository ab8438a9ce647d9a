"""Fine-tuning without Qt: contract arguments, estimate, ETA, results, registry, and the
controller driving a stand-in child process (finish, accept + swap, discard, cancel)."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest
from fakes import FakeAnalyzer
from labelled_data import CHILD_ENV, add_clips

from purrsight_app.finetune import (
    Estimate,
    EstimateError,
    EtaTracker,
    FinetuneController,
    FinetuneError,
    FinetunePlan,
    JobCallbacks,
    ModelSwitcher,
    SwitchError,
    comparison,
    estimate_args,
    finetune_args,
    format_duration,
    read_progress,
    training_available,
    verdict,
)
from purrsight_app.finetune.estimate import parse_estimate
from purrsight_app.finetune.registry import RegistryError, base_record, install_bundle
from purrsight_app.finetune.results import result_from_event
from purrsight_app.paths import AppPaths
from purrsight_app.pipeline.runtime_loader import LoadedRuntime
from purrsight_app.storage import active_model, get_run, labeled_clips, list_models
from purrsight_model import Progress


def test_plan_becomes_contract_arguments(tmp_path) -> None:
    plan = FinetunePlan("12", base_bundle=Path("/m/base"), mix_data=Path("/d"),
                        overrides=("epochs=2",))
    args = finetune_args(plan, Path("a.jsonl"), Path("i.jsonl"), Path("/runs/r1"))
    assert args == ["finetune", "--data", "a.jsonl", "--instruct", "i.jsonl", "--out",
                    "/runs/r1", "--phases", "12", "--base-bundle", "/m/base", "--mix-data",
                    "/d", "--set", "epochs=2"]
    phase1 = finetune_args(FinetunePlan("1"), Path("a.jsonl"), Path("i.jsonl"), Path("r"))
    assert "--instruct" not in phase1 and "--base-bundle" not in phase1
    assert estimate_args(plan, Path("a.jsonl")) == ["estimate", "--data", "a.jsonl",
                                                    "--phases", "12"]
    with pytest.raises(ValueError):
        FinetunePlan("2")  # type: ignore[arg-type]


def test_estimate_parsing_and_durations() -> None:
    est = parse_estimate('log line\n{"seconds": {"features": 30, "align": 600}, "total": 630}')
    assert est.total == 630 and est.seconds["align"] == 600
    assert est.describe() == "about 10 min (features 30 s, align 10 min)"
    with pytest.raises(EstimateError):
        parse_estimate("no json here")
    assert format_duration(4000) == "1 h 07 min" and format_duration(None) == "–"


def test_eta_uses_measured_rate_and_corrects_the_estimate() -> None:
    now = [0.0]
    eta = EtaTracker(["features", "align", "export"],
                     Estimate({"features": 10, "align": 100, "export": 10}, 120),
                     clock=lambda: now[0])
    assert eta.remaining_s is None and eta.fraction == 0
    eta.update(Progress("features", 0, 10))
    now[0] = 20.0  # features took twice the estimate
    eta.update(Progress("align", 0, 50))
    assert eta.remaining_s == pytest.approx(2 * (100 + 10))
    now[0] = 30.0
    eta.update(Progress("align", 10, 50))  # 1 s per step measured
    assert eta.remaining_s == pytest.approx(40 + 2 * 10)
    assert eta.fraction == pytest.approx((10 + 100 * 0.2) / 120)


def test_results_comparison_and_verdict(tmp_path) -> None:
    final = Progress("evaluate", 1, 1, done=True, metrics={
        "bundle": "bundle", "n_test": 7, "phases": "1", "seconds": {"align": 60},
        "old": {"affective_state": {"accuracy": 0.5, "macro_f1": 0.4, "n": 7},
                "vocalization": {"accuracy": 0.2, "n": 7}},
        "new": {"affective_state": {"accuracy": 0.75, "macro_f1": 0.7, "n": 7}}})
    result = result_from_event(final, tmp_path)
    assert result.bundle == tmp_path / "bundle" and not result.usable  # folder missing
    rows = comparison(result)
    assert [r.field for r in rows] == ["affective_state", "vocalization"]
    assert rows[1].new_accuracy is None and rows[0].n == 7
    assert "50% → 75% (better)" in verdict(result)
    stopped = result_from_event({"message": "stopped on request", "metrics": {}}, tmp_path)
    assert stopped.stopped and "stopped" in verdict(stopped)


def test_install_bundle_and_base_registration(tmp_path) -> None:
    run_bundle = tmp_path / "run" / "bundle"
    run_bundle.mkdir(parents=True)
    (run_bundle / "manifest.json").write_text("{}")
    path = install_bundle(run_bundle, tmp_path / "models", "ft-1")
    assert (path / "manifest.json").is_file() and not run_bundle.exists()
    with pytest.raises(RegistryError, match="already exists"):
        install_bundle(path, tmp_path / "models", "ft-1")
    with pytest.raises(RegistryError, match="not a bundle"):
        install_bundle(tmp_path / "run", tmp_path / "models", "ft-2")
    base = base_record(tmp_path / "packaged", [])
    assert base is not None and not base.active and base.id.startswith("base-packaged-")
    assert base_record(None, []) is None


def test_training_availability(monkeypatch) -> None:
    ok, _ = training_available("json")
    assert ok
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    ok, hint = training_available()
    assert not ok and 'pip install "purrsight[train]"' in hint


@pytest.fixture
def rig(app_store, app_writer, tmp_path):
    """A data dir with 10 labelled clips and a controller using the stand-in child."""
    paths = AppPaths(app_store.path.parent).ensure()
    add_clips(app_writer, paths.data_dir, 10)

    def reader():
        return app_store.reader()
    ctl = FinetuneController(paths, lambda: app_writer, reader, module="finetune_child",
                             env=CHILD_ENV)
    return ctl, paths, app_store, app_writer


def run_to_end(ctl, plan, pairs, env=None) -> tuple[list, object, object]:
    if env:
        ctl.env.update(env)
    events, exits = [], []
    prepared = ctl.prepare(pairs)
    job = ctl.start(plan, prepared, JobCallbacks(on_event=events.append,
                                                 on_exit=lambda s, r: exits.append((s, r))))
    return events, exits, (prepared, job)


def test_controller_runs_accepts_and_swaps(rig) -> None:
    ctl, paths, store, writer = rig
    pairs = labeled_clips(store.reader())
    est = ctl.estimate(FinetunePlan("12"), ctl.prepare_estimate(pairs).align)
    assert est.total == pytest.approx(127.0)
    events, exits, (prepared, job) = run_to_end(ctl, FinetunePlan("1"), pairs)
    state = job.wait(60)
    assert state.status == "finished" and exits and exits[0][1].usable
    assert [e.phase for e in events][:2] == ["features", "align"] and events[-1].done
    assert "instruct" not in {e.phase for e in events}  # phase 1 only
    args = json.loads((prepared.run_dir / "args.json").read_text())
    assert args["phases"] == "1" and args["instruct"] is None
    assert len(read_progress(prepared.run_dir)) == len(events)
    result = exits[0][1]
    assert result.n_test == prepared.export.splits.get("test")
    writer.flush(5)
    row = get_run(store.reader(), prepared.run_id)
    assert row.status == "finished" and row.metrics["new"]["affective_state"]["accuracy"] == 0.8
    assert [r.run_dir for r in ctl.pending()] == [prepared.run_dir]  # offered after restart
    model_id, path = ctl.accept(result, current=paths.data_dir / "old-bundle")
    assert (path / "manifest.json").is_file() and ctl.pending() == []

    class Session:
        runtime = None

        def set_models(self, loaded):
            self.runtime = loaded
    session = Session()
    fake = FakeAnalyzer(state="playful")
    switcher = ModelSwitcher(session, lambda: writer,
                             loader=lambda p: LoadedRuntime(fake, None, p))
    switcher.switch(model_id, path)
    assert session.runtime.analyzer is fake
    conn = store.reader()
    assert active_model(conn).id == model_id
    assert {m.id.split("-")[0] for m in list_models(conn)} == {"ft", "base"}
    assert get_run(conn, prepared.run_id).status == "accepted"
    broken = ModelSwitcher(session, lambda: writer,
                           loader=lambda p: LoadedRuntime(analyzer_error="corrupt"))
    with pytest.raises(SwitchError, match="corrupt"):
        broken.switch("base-x", path)
    assert active_model(store.reader()).id == model_id  # unchanged after a failed swap


def test_controller_cancel_keeps_partial_run(rig) -> None:
    ctl, paths, store, writer = rig
    pairs = labeled_clips(store.reader())
    events, exits, (prepared, job) = run_to_end(ctl, FinetunePlan("12"), pairs,
                                                env={"FT_STEPS": "400", "FT_DELAY": "0.02"})
    deadline = time.time() + 30
    while not any(e.phase == "align" for e in events) and time.time() < deadline:
        time.sleep(0.02)
    ctl.cancel()
    state = job.wait(30)
    assert state.status == "cancelled" and exits[0][1].stopped
    assert (prepared.run_dir / "partial.json").is_file()
    writer.flush(5)
    assert get_run(store.reader(), prepared.run_id).status == "cancelled"
    assert ctl.pending() == [] and active_model(store.reader()) is None


def test_controller_refuses_empty_data_and_reports_child_errors(rig, tmp_path) -> None:
    ctl, paths, store, writer = rig
    with pytest.raises(FinetuneError, match="0 usable labelled clips; label at least 8"):
        ctl.prepare([])
    pairs = labeled_clips(store.reader())
    prepared = ctl.prepare(pairs)
    prepared.export.align.write_text("{broken\n")  # the child refuses it (exit 2)
    exits = []
    job = ctl.start(FinetunePlan("1"), prepared,
                    JobCallbacks(on_exit=lambda s, r: exits.append(s)))
    assert job.wait(60).status == "failed" and exits[0].returncode == 2
    assert "bad dataset" in (prepared.run_dir / "job.log").read_text()
    with pytest.raises(EstimateError, match="estimate failed"):
        ctl.estimate(FinetunePlan("1"), prepared.export.align)


def test_rows_left_running_by_a_closed_app_are_settled(rig) -> None:
    from purrsight_app.jobs import JobState
    from purrsight_app.storage import RunRecord

    ctl, paths, store, writer = rig
    run_dir = paths.runs_dir / "orphan"
    JobState("finetune", [], status="running", pid=999_999_999).save(run_dir)
    writer.put(RunRecord("orphan", "finetune", "running", started=1.0, path=str(run_dir)))
    writer.flush(5)
    assert ctl.pending() == []
    writer.flush(5)
    assert get_run(store.reader(), "orphan").status == "failed"
