"""Phase 1 evaluation on a whole split: per-head accuracy/macro-F1 and retrieval recall."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from purrsight_model import metrics
from purrsight_model.align.data import AlignArrays, make_batch
from purrsight_model.align.model import AlignModel

#: The call types the issue's target covers (rows whose label is one of these).
CALL_TYPES = ("purr", "hiss", "growl", "meow")


@dataclass
class Embedded:
    """Aligned vectors and head probabilities of every row of a split."""

    image: np.ndarray  # [N, 512] (zeros where absent)
    audio: np.ndarray  # [N, 512]
    text: np.ndarray  # [N, 512]
    probs: dict[str, np.ndarray]  # head -> [N, C]


@torch.no_grad()
def embed_all(model: AlignModel, arrays: AlignArrays, batch_size: int = 256) -> Embedded:
    """Run the model over all rows (eval mode, no augmentation)."""
    model.eval()
    parts: dict[str, list[np.ndarray]] = {"image": [], "audio": [], "text": []}
    probs: dict[str, list[np.ndarray]] = {h.name: [] for h in model.head_specs}
    for start in range(0, len(arrays), batch_size):
        batch = make_batch(arrays, np.arange(start, min(start + batch_size, len(arrays))))
        img = model.embed_image(batch.image, batch.image_mask) * batch.has_image[:, None]
        aud = model.embed_audio(batch.audio, batch.audio_mask, batch.audio_scores)
        aud = aud * batch.has_audio[:, None]
        parts["image"].append(img.numpy())
        parts["audio"].append(aud.numpy())
        parts["text"].append(model.embed_text(batch.text).numpy())
        logits_by_head = model.classify_media(img, batch.has_image, aud, batch.has_audio,
                                              batch.audio, batch.audio_mask, batch.audio_scores)
        for name, logits in logits_by_head.items():
            probs[name].append(torch.softmax(logits, -1).numpy())
    cat = {k: np.concatenate(v) if v else np.zeros((0, model.cfg.dim)) for k, v in parts.items()}
    return Embedded(
        image=cat["image"],
        audio=cat["audio"],
        text=cat["text"],
        probs={k: np.concatenate(v) for k, v in probs.items() if v},
    )


def evaluate_split(model: AlignModel, arrays: AlignArrays) -> dict[str, object]:
    """Metrics of a whole split (not one batch): heads and text<->audio/image retrieval."""
    emb = embed_all(model, arrays)
    out: dict[str, object] = {"n": len(arrays), "heads": {}, "retrieval": {}}
    for head in model.head_specs:
        y = arrays.targets[head.name]
        pred = emb.probs[head.name].argmax(-1)
        out["heads"][head.name] = metrics.classification_report(y, pred, head.classes)
        if head.name == "vocalization":
            out["call_type"] = call_type_report(y, pred, head.classes)
    for modality in ("audio", "image"):
        mask = getattr(arrays, f"{modality}_mask").any(-1) & arrays.text_mask
        if mask.sum() < 2:
            continue
        media, text = getattr(emb, modality)[mask], emb.text[mask]
        keys = [k for k, m in zip(arrays.label_keys, mask, strict=True) if m]
        sim = text @ media.T  # [Q, Q] text queries against media
        t2m, m2t = metrics.recall_at_k(sim), metrics.recall_at_k(sim.T)
        out["retrieval"][f"text->{modality}"] = {
            **t2m, "label_R@1": metrics.label_recall_at_1(sim, keys), "n": int(mask.sum())
        }
        out["retrieval"][f"{modality}->text"] = {
            **m2t, "label_R@1": metrics.label_recall_at_1(sim.T, keys), "n": int(mask.sum())
        }
    return out


def call_type_report(y: np.ndarray, pred: np.ndarray, classes: tuple[str, ...]) -> dict:
    """Vocalization on the rows labelled purr/hiss/growl/meow only (any predicted class
    counts, so calling a meow a trill is an error); macro-F1 over those four."""
    calls = [classes.index(c) for c in CALL_TYPES if c in classes]
    keep = np.isin(y, calls)
    return metrics.classification_report(np.where(keep, y, -1), pred, classes)


def selection_score(result: dict[str, object], min_support: int = 5) -> float:
    """One number for early stopping: mean head macro-F1, plus retrieval label R@1.

    Classes with fewer than ``min_support`` validation rows are left out of a head's
    macro-F1: one stray trill would otherwise swing the score more than real progress does.
    """
    heads = [_stable_f1(h, min_support) for h in result["heads"].values()  # type: ignore[union-attr]
             if h["n"]]
    retr = [r["label_R@1"] for r in result["retrieval"].values()]  # type: ignore[union-attr]
    score = float(np.nanmean(heads)) if heads else 0.0
    return score + (0.25 * float(np.mean(retr)) if retr else 0.0)


def _stable_f1(report: dict, min_support: int) -> float:
    support = np.asarray(report["confusion"]).sum(1)  # [C] rows per true class
    f1 = np.array([report["per_class_f1"][c] for c in report["classes"]])
    keep = support >= min_support
    return float(f1[keep].mean()) if keep.any() else float(report["macro_f1"])


def main(argv: list[str] | None = None) -> int:
    """``python -m purrsight_model.align.evaluate RUN --data X.jsonl --cache C --split test``:
    per-head accuracy / macro-F1 and call type of a Phase 1 run on one split, as JSON."""
    import argparse
    import json

    from purrsight_model.align.checkpoint import load_align_run
    from purrsight_model.align.dataset import arrays_from_batch, read_rows
    from purrsight_model.data.feature_batch import load_split
    from purrsight_model.data.feature_store import FeatureCache

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("run")
    ap.add_argument("--data", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--split", default="val")
    args = ap.parse_args(argv)
    model = load_align_run(args.run)
    rows = [r for r in read_rows(args.data) if r.split == args.split]
    batch = load_split(rows, FeatureCache(args.cache), max_frames=model.cfg.max_frames,
                       max_patches=model.cfg.max_patches)
    result = evaluate_split(model, arrays_from_batch(batch, rows, model.head_specs))
    short = {h: {"n": r["n"], "accuracy": round(r["accuracy"], 4),
                 "macro_f1": round(r["macro_f1"], 4)} for h, r in result["heads"].items()}
    if "call_type" in result:
        r = result["call_type"]
        short["call_type"] = {"n": r["n"], "accuracy": round(r["accuracy"], 4),
                              "macro_f1": round(r["macro_f1"], 4)}
    print(json.dumps({"run": str(args.run), "split": args.split, "rows": len(rows),
                      "heads": short}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
