"""A finished run as the owner sees it: the new bundle and old-vs-new held-out metrics.

Read from the job's final progress event (contract: phase "evaluate", done, metrics with
"bundle", "old", "new", "n_test", "phases", "seconds"). A run stopped on request ends with
a "stopped…" message and has no comparison; it is never offered as a model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from purrsight_model import Progress
from purrsight_model.schema import LABEL_FIELDS

MAIN_FIELD = "affective_state"


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    bundle: Path | None
    old: dict[str, dict[str, float]] = field(default_factory=dict)
    new: dict[str, dict[str, float]] = field(default_factory=dict)
    n_test: int = 0
    phases: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    stopped: bool = False
    message: str = ""

    @property
    def usable(self) -> bool:
        """Finished (not stopped) with a bundle folder that is still on disk."""
        return not self.stopped and self.bundle is not None and self.bundle.is_dir()

    def metrics(self) -> dict[str, Any]:
        """JSON-able metrics for the run's and the model's rows."""
        return {"old": self.old, "new": self.new, "n_test": self.n_test,
                "phases": self.phases, "seconds": self.seconds}


def _fields(obj: Any) -> dict[str, dict[str, float]]:
    if not isinstance(obj, Mapping):
        return {}
    out = {}
    for name, vals in obj.items():
        if isinstance(vals, Mapping):
            out[str(name)] = {k: float(v) for k, v in vals.items()
                              if isinstance(v, int | float) and not isinstance(v, bool)}
    return out


def result_from_event(event: Progress | Mapping[str, Any], run_dir: Path) -> RunResult:
    """Parse the final event (a ``Progress`` or its dict form from ``job.json``)."""
    data = event.__dict__ if isinstance(event, Progress) else dict(event)
    metrics = data.get("metrics") or {}
    message = str(data.get("message") or "")
    bundle = metrics.get("bundle")
    path = None
    if bundle:
        path = Path(bundle)
        path = path if path.is_absolute() else run_dir / path
    secs = metrics.get("seconds") or {}
    return RunResult(
        run_dir=run_dir, bundle=path, old=_fields(metrics.get("old")),
        new=_fields(metrics.get("new")), n_test=int(metrics.get("n_test") or 0),
        phases=str(metrics.get("phases") or ""),
        seconds={str(k): float(v) for k, v in secs.items()} if isinstance(secs, Mapping)
        else {},
        stopped=message.lower().startswith("stopped"), message=message,
    )


@dataclass(frozen=True)
class ComparisonRow:
    field: str
    old_accuracy: float | None
    new_accuracy: float | None
    old_f1: float | None
    new_f1: float | None
    n: int


def comparison(result: RunResult) -> list[ComparisonRow]:
    """One row per evaluated field, the main field first, schema order after."""
    names = [f for f in (MAIN_FIELD, *LABEL_FIELDS) if f in result.old or f in result.new]
    names += sorted((set(result.old) | set(result.new)) - set(names))
    rows = []
    for name in dict.fromkeys(names):
        o, n = result.old.get(name, {}), result.new.get(name, {})
        rows.append(ComparisonRow(name, o.get("accuracy"), n.get("accuracy"),
                                  o.get("macro_f1"), n.get("macro_f1"),
                                  int(n.get("n", o.get("n", 0)))))
    return rows


def verdict(result: RunResult) -> str:
    """One sentence about the main field, for the owner."""
    if result.stopped:
        return "Training was stopped; the partial run is kept but not offered as a model."
    rows = {r.field: r for r in comparison(result)}
    main = rows.get(MAIN_FIELD)
    if main is not None and main.new_accuracy is not None and main.old_accuracy is None:
        return (f"Mood accuracy on your {result.n_test} held-out clips: "
                f"{main.new_accuracy:.0%} (no earlier model to compare with).")
    if main is None or main.old_accuracy is None or main.new_accuracy is None:
        return f"Evaluated on {result.n_test} held-out clips."
    delta = (main.new_accuracy - main.old_accuracy) * 100
    word = "better" if delta > 0.5 else ("worse" if delta < -0.5 else "about the same")
    return (f"Mood accuracy on your {result.n_test} held-out clips: "
            f"{main.old_accuracy:.0%} → {main.new_accuracy:.0%} ({word}).")
