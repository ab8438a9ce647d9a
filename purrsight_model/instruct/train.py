"""Phase 2: instruction-tune the projector (+ LoRA) to write schema-valid JSON reports."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from purrsight_model.align.train import lr_at
from purrsight_model.decoding import HFTokenizer, grammar_for, mask_unobserved, tokenize_report
from purrsight_model.instruct import checkpoint as ckpt
from purrsight_model.instruct.config import InstructConfig
from purrsight_model.instruct.evaluate import evaluate_reports
from purrsight_model.instruct.features import SoftInputs
from purrsight_model.instruct.llm import LoadedLLM, load_llm
from purrsight_model.instruct.lora import add_lora, layer_names
from purrsight_model.instruct.model import Example, ReportModel
from purrsight_model.instruct.projector import Projector
from purrsight_model.instruct.prompt import prompt_ids
from purrsight_model.progress import Progress, StopFlag, TrainingError
from purrsight_model.schema import Report


@dataclass
class InstructData:
    """Soft inputs and target reports of the training and held-out rows."""

    train: SoftInputs
    train_reports: list[Report]
    val: SoftInputs
    val_reports: list[Report]
    align_run: str


def build_examples(cfg: InstructConfig, inputs: SoftInputs, reports: list[Report],
                   tokenizer: HFTokenizer) -> list[Example]:
    """Prompt ids + target ids per row (markers without their input are masked to unknown)."""
    grammar = grammar_for(tokenizer)
    examples = []
    for i, report in enumerate(reports):
        modalities = inputs.modalities(i)
        target = mask_unobserved(report.model_copy(update={"modalities_used": modalities}))
        tokens = tokenize_report(target, grammar, max_text_tokens=cfg.max_text_tokens)
        hints = inputs.hints[i] if cfg.hints else None
        prompt = prompt_ids(modalities, cfg.k_tokens, tokenizer, hints=hints)
        examples.append(Example(prompt, tokens.ids, tokens.loss_mask))
    return examples


def build_model(cfg: InstructConfig, llm: LoadedLLM, align_dim: int) -> ReportModel:
    """Frozen LM with LoRA adapters on the last ``lora_layers`` blocks, plus a projector."""
    torch.manual_seed(cfg.seed)
    if cfg.lora_rank > 0:
        names = layer_names(llm.model, cfg.lora_targets, cfg.lora_layers)
        if not names:
            raise TrainingError(f"no {cfg.lora_targets} layers found in {llm.name}")
        add_lora(llm.model, names, cfg.lora_rank, cfg.lora_alpha)
    projector = Projector(align_dim, llm.hidden_size, cfg.k_tokens, cfg.projector_hidden)
    model = ReportModel(llm.model, projector)
    if cfg.base:
        init_from_base(model, cfg.base)
    return model


def init_from_base(model: ReportModel, base: str) -> int:
    """Load an earlier run's projector + LoRA tensors where shapes match; returns how many."""
    blob = ckpt.load_weights(base)
    own = model.state_dict()
    earlier = {f"projector.{k}": v for k, v in blob["projector"].items()}
    earlier.update({f"lm.{k}": v for k, v in blob["lora"].items()})
    fits = {k: v.to(own[k].dtype) for k, v in earlier.items()
            if k in own and own[k].shape == v.shape}
    model.load_state_dict(fits, strict=False)
    return len(fits)


def train_instruct(
    cfg: InstructConfig,
    out_dir: str | Path,
    *,
    data: InstructData | None = None,
    llm: LoadedLLM | None = None,
    stop: StopFlag | None = None,
) -> Iterator[Progress]:
    """Train Phase 2, yielding progress; saves projector + LoRA only (not the LM)."""
    out = Path(out_dir)
    torch.set_num_threads(cfg.threads)
    if data is None:
        from purrsight_model.instruct.dataset import load_instruct_data

        data = load_instruct_data(cfg)
    if len(data.train) < 1:
        raise TrainingError("Phase 2 has no training rows with cached features")
    yield Progress("instruct", 0, 0, message=f"Phase 1 run: {data.align_run}")
    llm = llm or load_llm(cfg.llm or None)
    tokenizer = HFTokenizer.from_transformers(llm.tokenizer)
    model = build_model(cfg, llm, data.train.image.shape[-1])
    examples = build_examples(cfg, data.train, data.train_reports, tokenizer)
    ckpt.write_config(cfg, out, data.align_run, llm)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    steps_per_epoch = math.ceil(len(examples) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    pad_id = tokenizer.token_to_id("<|endoftext|>") or 0
    step = 0
    for epoch in range(cfg.epochs):
        model.train()
        order = np.random.default_rng(cfg.seed + epoch).permutation(len(examples))
        for start in range(0, len(order), cfg.batch_size):
            if stop is not None and stop.is_set():
                ckpt.save_weights(model, out)
                yield Progress("instruct", step, total, done=True,
                               message="stopped on request; partial weights kept")
                return
            idx = order[start : start + cfg.batch_size]
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total, cfg)  # same warmup + cosine as Phase 1
            vectors, present = data.train.tensors(idx)
            loss = model.loss([examples[i] for i in idx], vectors, present, pad_id)
            if not torch.isfinite(loss):
                raise TrainingError(f"Phase 2 loss is not finite at step {step}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            step += 1
            ckpt.append_log(out, {"epoch": epoch + 1, "step": step, "loss": float(loss.detach())})
            yield Progress("instruct", step, total, loss=float(loss.detach()))
    ckpt.save_weights(model, out)
    yield Progress("instruct", step, total, message="evaluating held-out reports")
    metrics = evaluate_reports(model, tokenizer, data.val, data.val_reports, cfg)
    metrics.update(train_rows=len(examples), steps=step, align_run=data.align_run)
    ckpt.write_metrics(out, metrics)
    yield Progress("instruct", step, total, metrics=metrics, done=True, message="finished")
