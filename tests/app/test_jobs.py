"""The child-process job runner: progress events, log, cancel, restart discovery."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from purrsight_app.jobs import Job, JobState, finished_runs

HERE = Path(__file__).parent


def make_job(tmp_path: Path, *args: str, events: list | None = None) -> Job:
    job = Job("align", list(args), tmp_path / "run", on_event=(events.append if events is not None
              else None), module="job_child", env={"PYTHONPATH": f"{HERE}{os.pathsep}" +
                                                   os.pathsep.join(sys.path)})
    job.argv = [a for a in job.argv if a != "--json"]  # the stand-in takes no flag
    return job


def test_progress_events_and_finished_state(tmp_path) -> None:
    events: list = []
    job = make_job(tmp_path, "5", events=events)
    job.start()
    state = job.wait(30)
    assert [e.step for e in events] == [1, 2, 3, 4, 5, 5]
    assert events[-1].done and state.status == "finished" and state.returncode == 0
    assert "a plain log line" in (tmp_path / "run" / "job.log").read_text()
    assert JobState.load(tmp_path / "run").status == "finished"


def test_cancel_stops_cleanly(tmp_path) -> None:
    events: list = []
    job = make_job(tmp_path, "400", events=events)
    job.start()
    deadline = time.time() + 20
    while not events and time.time() < deadline:
        time.sleep(0.02)
    job.cancel()
    state = job.wait(30)
    assert state.status == "cancelled" and state.returncode == 0
    assert events[-1].done and events[-1].step < 400


def test_failure_is_reported(tmp_path) -> None:
    job = make_job(tmp_path, "2", "fail")
    job.start()
    assert job.wait(30).status == "failed"


def test_restart_finds_finished_runs_and_marks_orphans(tmp_path) -> None:
    runs = tmp_path / "runs"
    JobState("align", [], status="finished", finished=2.0).save(runs / "a")
    JobState("align", [], status="finished", finished=5.0).save(runs / "b")
    JobState("align", [], status="finished", offered=True).save(runs / "c")
    JobState("align", [], status="running", pid=999_999_999).save(runs / "d")
    found = finished_runs(runs)
    assert [p.name for p, _ in found] == ["b", "a"]
    assert JobState.load(runs / "d").status == "failed"
