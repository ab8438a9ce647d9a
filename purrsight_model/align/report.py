"""Plots of a finished Phase 1 run: loss/validation curves and confusion matrices."""

from __future__ import annotations

import json
from pathlib import Path

from purrsight_model.metrics import save_confusion_png


def write_run_report(out: Path, final: dict) -> None:
    """Write ``plots/curves.png`` from log.jsonl and one confusion PNG per head."""
    for name, result in final.get("heads", {}).items():
        if result.get("n"):
            save_confusion_png(result, name, out / "plots" / f"confusion_{name}.png")
    log = out / "log.jsonl"
    if not log.exists():
        return
    records = [json.loads(line) for line in log.read_text("utf-8").splitlines() if line.strip()]
    if not records:
        return
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.2))
    ax1, ax2 = fig.subplots(1, 2)
    epochs = [r["epoch"] for r in records]
    ax1.plot(epochs, [r["loss"] for r in records], marker="o")
    ax1.set(title="training loss (last step of epoch)", xlabel="epoch")
    ax2.plot(epochs, [r["val_score"] for r in records], marker="o", color="tab:green")
    ax2.set(title="validation score", xlabel="epoch")
    fig.tight_layout()
    (out / "plots").mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "plots" / "curves.png", dpi=100)
