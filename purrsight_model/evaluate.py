"""Evaluate a bundle on any folder laid out like ``shared/data`` (a manifest.csv per set).

Runs the torch-free runtime on each clip (whole clip, as training saw it) and reports per
head accuracy / macro-F1 / confusion, CatMeows macro-F1 grouped by cat, call type on clips
whose file name evidences it, zero-shot cat detection, and report validity + field accuracy.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from purrsight_model import metrics
from purrsight_model.data.converters import convert, instruct_record
from purrsight_model.media import MediaError, load_audio, load_image, load_video
from purrsight_model.schema import UNKNOWN, ReportError, parse_report

log = logging.getLogger(__name__)

#: Call types the targets are stated for (where a file name gives them).
CALL_TYPES = ("purr", "hiss", "growl", "meow")


@dataclass
class Prediction:
    """What the runtime said about one evaluation row."""

    row: dict[str, Any]
    heads: dict[str, dict[str, float]]
    cat_score: float
    report: Any = None  # schema.Report, when reports were generated for this row


def select_rows(data_dir: str | Path, split: str) -> list[dict[str, Any]]:
    """Rows of every known set under ``data_dir``; ``split`` = "all" or one split name."""
    conv = convert(data_dir)
    rows = [r for set_rows in conv.align.values() for r in set_rows]
    return rows if split == "all" else [r for r in rows if r.get("split") == split]


def run_clip(analyzer: Any, row: dict[str, Any]) -> Any:
    """Observation of one row's media (image, audio or video) through analyze_clip."""
    if "image" in row:
        return analyzer.analyze_clip([load_image(row["image"])], None)
    if "audio" in row:
        return analyzer.analyze_clip(None, load_audio(row["audio"]))
    clip = load_video(row["video"])
    return analyzer.analyze_clip(list(clip.frames), clip.audio)


def predict(bundle: str | Path, rows: list[dict[str, Any]], max_reports: int,
            threads: int | None = None) -> Iterator[Prediction]:
    """Yield a prediction per readable row; reports for an evenly spread subset."""
    from purrsight_model.runtime import Analyzer, Reporter

    analyzer = Analyzer.load(bundle, threads=threads)
    reporter = Reporter.load(bundle, threads=threads) if max_reports > 0 else None
    report_rows = set(np.linspace(0, len(rows) - 1, min(max_reports, len(rows))).astype(int)
                      ) if reporter is not None and rows else set()
    for i, row in enumerate(rows):
        try:
            obs = run_clip(analyzer, row)
        except MediaError as exc:
            log.warning("skipped unreadable clip: %s", exc)
            continue
        report = reporter.report([obs]) if i in report_rows and reporter is not None else None
        yield Prediction(row, obs.heads, obs.cat_score, report)


def head_metrics(preds: list[Prediction]) -> dict[str, Any]:
    """Per head: accuracy, macro-F1, confusion over rows labelled for it."""
    out: dict[str, Any] = {}
    names = {h for p in preds for h in p.heads}
    for head in sorted(names):
        classes = tuple(next(p.heads[head] for p in preds if head in p.heads))
        index = {c: i for i, c in enumerate(classes)}
        y, yhat = [], []
        for p in preds:
            truth = {**p.row.get("labels", {}), **p.row.get("tasks", {})}.get(head, UNKNOWN)
            if head in p.heads and truth in index:
                y.append(index[truth])
                yhat.append(index[max(p.heads[head], key=p.heads[head].__getitem__)])
        if y:
            out[head] = metrics.classification_report(np.array(y), np.array(yhat), classes)
    return out


def call_type_metrics(preds: list[Prediction]) -> dict[str, Any] | None:
    """Macro-F1 over purr/hiss/growl/meow where the labels evidence the call type."""
    y, yhat = [], []
    for p in preds:
        truth = p.row.get("labels", {}).get("vocalization", UNKNOWN)
        probs = p.heads.get("vocalization")
        if truth in CALL_TYPES and probs:
            y.append(CALL_TYPES.index(truth))
            best = max(CALL_TYPES, key=lambda c: probs.get(c, 0.0))  # among the 4 call types
            yhat.append(CALL_TYPES.index(best))
    if not y:
        return None
    return metrics.classification_report(np.array(y), np.array(yhat), CALL_TYPES)


def grouped_macro_f1(preds: list[Prediction], set_name: str, head: str) -> dict[str, Any] | None:
    """Macro-F1 of one set's task pooled over its held-out cats, plus per-cat accuracy."""
    rows = [p for p in preds if p.row.get("source") == set_name
            and head in p.heads and head in p.row.get("tasks", {})]
    if not rows:
        return None
    classes = tuple(rows[0].heads[head])
    per_cat: dict[str, list[bool]] = defaultdict(list)
    y, yhat = [], []
    for p in rows:
        truth, guess = p.row["tasks"][head], max(p.heads[head], key=p.heads[head].__getitem__)
        y.append(classes.index(truth))
        yhat.append(classes.index(guess))
        per_cat[str(p.row.get("group"))].append(truth == guess)
    report = metrics.classification_report(np.array(y), np.array(yhat), classes)
    report["cats"] = len(per_cat)
    report["per_cat_accuracy"] = {k: round(float(np.mean(v)), 3) for k, v in sorted(per_cat.items())}
    return report


def report_metrics(preds: list[Prediction]) -> dict[str, Any] | None:
    """Validity and field agreement of generated reports vs the label-derived reports."""
    pairs = [(p.report, instruct_record(p.row)["report"]) for p in preds if p.report is not None]
    if not pairs:
        return None
    valid, agree = 0, defaultdict(list)
    for got, ref in pairs:
        try:
            parse_report(got.to_json())
            valid += 1
        except ReportError:
            continue
        for field, value in ref.items():
            if field in ("summary", "advice", "confidence", "modalities_used") or value == UNKNOWN:
                continue
            agree[field].append(getattr(got, field) == value)
    return {"n": len(pairs), "validity": valid / len(pairs),
            "field_accuracy": {f: {"accuracy": float(np.mean(v)), "n": len(v)}
                               for f, v in sorted(agree.items())}}


def evaluate(bundle: str | Path, data_dir: str | Path, *, split: str = "all",
             max_reports: int = 60, threads: int | None = None) -> dict[str, Any]:
    """All metrics of ``bundle`` on ``data_dir`` (see the module docstring)."""
    start = time.perf_counter()
    rows = select_rows(data_dir, split)
    preds = list(predict(bundle, rows, max_reports, threads))
    cat = np.array([p.cat_score for p in preds])
    return {
        "bundle": str(bundle), "data": str(data_dir), "split": split,
        "rows": len(rows), "evaluated": len(preds),
        "heads": head_metrics(preds),
        "catmeows_grouped_by_cat": grouped_macro_f1(preds, "catmeows", "catmeows_context"),
        "call_type": call_type_metrics(preds),
        "cat_detected_rate": float((cat >= 0.5).mean()) if len(cat) else None,
        "reports": report_metrics(preds),
        "seconds": round(time.perf_counter() - start, 1),
    }


def evaluate_rows(bundle: str | Path, rows: list[dict[str, Any]],
                  threads: int | None = None) -> dict[str, Any]:
    """Compact per-head accuracy/macro-F1 of ``bundle`` on JSONL-style rows (no reports)."""
    preds = list(predict(bundle, rows, max_reports=0, threads=threads))
    return {head: {"accuracy": r["accuracy"], "macro_f1": r["macro_f1"], "n": r["n"]}
            for head, r in head_metrics(preds).items()}
