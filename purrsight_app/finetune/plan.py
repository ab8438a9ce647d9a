"""The owner's fine-tune choices and the command lines they become (see the job contract:
``purrsight-model finetune ...`` and ``purrsight-model estimate ...``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Phases = Literal["1", "12"]
PHASE_ORDER: dict[str, tuple[str, ...]] = {
    "1": ("features", "align", "export", "evaluate"),
    "12": ("features", "align", "instruct", "export", "evaluate"),
}
"""Progress phases a run goes through, in order (for the overall progress and ETA)."""


@dataclass(frozen=True)
class FinetunePlan:
    """What to train, from what."""

    phases: Phases = "12"
    """"1" = alignment only (minutes); "12" = alignment then report tuning (longer)."""
    base_bundle: Path | None = None
    """The model in use now; None = start from the packaged encoders."""
    mix_data: Path | None = None
    """Shipped real cat data mixed in so the model does not forget other cats."""
    overrides: tuple[str, ...] = ()
    """Extra ``key=value`` recipe overrides (``--set``)."""

    def __post_init__(self) -> None:
        if self.phases not in PHASE_ORDER:
            raise ValueError(f"phases must be '1' or '12', not {self.phases!r}")

    def to_config(self) -> dict[str, object]:
        """JSON-able form for the run's row in the store."""
        return {"phases": self.phases,
                "base_bundle": None if self.base_bundle is None else str(self.base_bundle),
                "mix_data": None if self.mix_data is None else str(self.mix_data),
                "overrides": list(self.overrides)}


def finetune_args(plan: FinetunePlan, align: Path, instruct: Path | None,
                  run_dir: Path) -> list[str]:
    """Arguments after the program name (``Job`` appends ``--json``)."""
    args = ["finetune", "--data", str(align)]
    if instruct is not None and plan.phases == "12":
        args += ["--instruct", str(instruct)]
    args += ["--out", str(run_dir), "--phases", plan.phases]
    if plan.base_bundle is not None:
        args += ["--base-bundle", str(plan.base_bundle)]
    if plan.mix_data is not None:
        args += ["--mix-data", str(plan.mix_data)]
    for item in plan.overrides:
        args += ["--set", item]
    return args


def estimate_args(plan: FinetunePlan, align: Path) -> list[str]:
    """``estimate --data ALIGN --phases P`` (prints one JSON line)."""
    return ["estimate", "--data", str(align), "--phases", plan.phases]
