"""Qt-free job control: model jobs run in child processes with JSON-line progress."""

from purrsight_app.jobs.runner import Job, JobState, finished_runs

__all__ = ["Job", "JobState", "finished_runs"]
