"""Phase 2 (instruction tuning) configuration."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class InstructConfig:
    """Everything that defines a Phase 2 run."""

    data: str = ""
    """Instruction JSONL (media paths + "report" objects, with "split")."""
    cache: str = ""
    """Feature cache folder (the same one Phase 1 used)."""
    align_run: str = ""
    """Phase 1 run folder; empty = the latest finished run under ``runs_root``."""
    runs_root: str = ""
    """Where Phase 1 runs live when ``align_run`` is empty (default: the user's runs folder)."""
    llm: str = ""
    """Local HF folder or .gguf of the LM; empty = the packaged SmolLM2-135M-Instruct."""
    k_tokens: int = 4
    """Soft-prompt tokens per modality (image, audio)."""
    projector_hidden: int = 1024
    """Hidden width of the projector MLPs."""
    hints: bool = True
    """Also state Phase 1's head predictions as text in the prompt."""
    lora_rank: int = 8
    """LoRA rank (0 disables LoRA: projector only)."""
    lora_alpha: float = 16.0
    """LoRA scaling numerator."""
    lora_layers: int = 4
    """LoRA only on the last N transformer blocks (cheap on a Pi)."""
    lora_targets: tuple[str, ...] = ("q_proj", "v_proj")
    """Linear layer names that get adapters."""
    epochs: int = 2
    """Passes over the training rows."""
    batch_size: int = 8
    """Rows per optimiser step."""
    lr: float = 1e-3
    """Peak learning rate (AdamW) for projector and adapters."""
    warmup_steps: int = 10
    """Linear warmup steps before cosine decay."""
    max_train_rows: int = 400
    """Cap on training rows (class-stratified sample), keeps Phase 2 within budget on a CPU."""
    eval_rows: int = 60
    """Held-out rows decoded with the constrained decoder at the end."""
    max_text_tokens: int = 24
    """Upper bound on tokens of each free-text field when decoding."""
    seed: int = 0
    """Seed for sampling rows, weights and shuffling."""
    base: str = ""
    """Earlier Phase 2 run (or a bundle's ``src/instruct``) whose projector + LoRA weights
    start this run (tensors whose shapes differ start fresh); empty = from scratch."""
    threads: int = 2
    """torch intra-op threads."""

    def replace(self, **changes: Any) -> InstructConfig:
        return replace(self, **changes)
