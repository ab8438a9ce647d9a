"""Classification and retrieval metrics in numpy (used by training, evaluation, the app)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """[C, C] counts, rows = true class, columns = predicted class."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true.astype(int), y_pred.astype(int)), 1)
    return cm


def macro_f1(cm: np.ndarray) -> float:
    """Macro-F1 over the classes that occur in the truth (absent classes are left out)."""
    tp = np.diag(cm).astype(float)
    support = cm.sum(1)
    predicted = cm.sum(0)
    present = support > 0
    if not present.any():
        return float("nan")
    denom = support + predicted
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return float(f1[present].mean())


def classification_report(
    y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]
) -> dict[str, object]:
    """Accuracy, macro-F1, per-class F1 and the confusion matrix of labelled rows (y >= 0)."""
    keep = y_true >= 0
    y_true, y_pred = y_true[keep], y_pred[keep]
    cm = confusion(y_true, y_pred, len(classes))
    tp = np.diag(cm).astype(float)
    denom = cm.sum(1) + cm.sum(0)
    per_class = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return {
        "n": int(keep.sum()),
        "accuracy": float((y_true == y_pred).mean()) if len(y_true) else float("nan"),
        "macro_f1": macro_f1(cm),
        "per_class_f1": {c: round(float(f), 4) for c, f in zip(classes, per_class, strict=True)},
        "classes": list(classes),
        "confusion": cm.tolist(),
    }


def recall_at_k(sim: np.ndarray, ks: Sequence[int] = (1, 5)) -> dict[str, float]:
    """Query i's match is item i. sim: [Q, Q] similarities -> {"R@k": fraction}."""
    order = np.argsort(-sim, axis=1)  # [Q, Q]
    rank = np.argmax(order == np.arange(len(sim))[:, None], axis=1)  # [Q]
    return {f"R@{k}": float((rank < k).mean()) for k in ks}


def label_recall_at_1(sim: np.ndarray, keys: Sequence[str]) -> float:
    """Fraction of queries whose top item carries the same label key (captions repeat)."""
    keys_arr = np.asarray(keys)
    return float((keys_arr[np.argmax(sim, axis=1)] == keys_arr).mean())


def save_confusion_png(report: dict[str, object], title: str, path: Path) -> None:
    """Write a confusion-matrix heat map (matplotlib, Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    cm = np.asarray(report["confusion"])
    classes = list(report["classes"])  # type: ignore[arg-type]
    size = max(4.0, 0.55 * len(classes) + 2)
    fig = Figure(figsize=(size, size))
    ax = fig.add_subplot()
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                color="white" if v > cm.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title}  acc={report['accuracy']:.3f}  macro-F1={report['macro_f1']:.3f}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
