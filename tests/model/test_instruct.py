"""Phase 2 with a tiny random Llama-style LM and a tiny BPE tokenizer (no real weights)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from purrsight_model.decoding.tiny import build_tiny_tokenizer
from purrsight_model.instruct import checkpoint as ckpt
from purrsight_model.instruct.config import InstructConfig
from purrsight_model.instruct.dataset import resolve_align_run
from purrsight_model.instruct.features import SoftInputs
from purrsight_model.instruct.llm import LLMError, load_llm
from purrsight_model.instruct.train import InstructData, train_instruct
from purrsight_model.progress import StopFlag, TrainingError
from purrsight_model.schema import Report, parse_report

STATES = ("content", "anxious", "aggressive")


@pytest.fixture(scope="module")
def tiny_llm_dir(tmp_path_factory):
    """A random 2-layer GQA Llama and its tokenizer saved as a local HF folder."""
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = build_tiny_tokenizer(600)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok.backend, eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", bos_token="<|im_start|>")
    cfg = LlamaConfig(vocab_size=tok.vocab_size, hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=512, tie_word_embeddings=True,
                      initializer_range=0.3)  # big enough for peaked logits
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny_llm")
    LlamaForCausalLM(cfg).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def synthetic_inputs(n: int, seed: int) -> tuple[SoftInputs, list[Report]]:
    """Aligned vectors whose first dims encode the affective state; audio missing on some."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    image = rng.standard_normal((n, 512)).astype(np.float32) * 0.1
    image[np.arange(n), y] += 3.0
    audio = rng.standard_normal((n, 512)).astype(np.float32)
    has_audio = rng.random(n) < 0.5
    inputs = SoftInputs(image, audio * has_audio[:, None], np.ones(n, bool), has_audio,
                        [{} for _ in range(n)])
    reports = [Report(affective_state=STATES[k], ears="flattened" if k == 2 else "forward",
                      vocalization="hiss" if k == 2 else "unknown",
                      summary=f"The cat looks {STATES[k]}.", advice="Watch calmly.",
                      confidence=0.6) for k in y]
    return inputs, reports


def tiny_cfg(**kw) -> InstructConfig:
    # A random frozen LM barely responds to soft prompts alone: adapt every linear here.
    base = dict(k_tokens=2, projector_hidden=32, lora_rank=8, lora_layers=0, epochs=12,
                lora_targets=("q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"),
                batch_size=8, lr=1e-2, warmup_steps=2, eval_rows=12, max_text_tokens=6,
                threads=1,
                hints=False)
    return InstructConfig(**{**base, **kw})


def test_local_folder_llm_loads_frozen(tiny_llm_dir) -> None:
    llm = load_llm(tiny_llm_dir)
    assert llm.hidden_size == 32
    assert not any(p.requires_grad for p in llm.model.parameters())
    with pytest.raises(LLMError, match="does not exist"):
        load_llm(tiny_llm_dir / "nope")


def test_phase2_learns_and_always_emits_valid_reports(tiny_llm_dir, tmp_path) -> None:
    train, train_reports = synthetic_inputs(48, 0)
    val, val_reports = synthetic_inputs(12, 1)
    data = InstructData(train, train_reports, val, val_reports, align_run="synthetic")
    events = list(train_instruct(tiny_cfg(), tmp_path, data=data, llm=load_llm(tiny_llm_dir)))
    losses = [e.loss for e in events if e.loss is not None]
    assert np.mean(losses[-6:]) < 0.6 * np.mean(losses[:6])
    final = events[-1]
    assert final.done and final.metrics["validity"] == 1.0
    for sample in final.metrics["samples"]:
        parse_report(sample)
    blob = ckpt.load_weights(tmp_path)
    assert set(blob) >= {"projector", "lora", "lora_names"}
    assert all("lora_" in k for k in blob["lora"])  # adapters only, never LM weights
    assert json.loads((tmp_path / "metrics.json").read_text())["n"] == 12
    # ears (flattened iff aggressive) is only knowable from each row's image vector: the
    # projector must carry per-row information for this to beat the 2/3 majority guess.
    assert final.metrics["fields"]["ears"]["accuracy"] >= 0.85


def test_reports_never_invent_audio_markers(tiny_llm_dir, tmp_path) -> None:
    train, reports = synthetic_inputs(16, 2)
    val, val_reports = synthetic_inputs(12, 3)
    val.has_audio[:] = False
    data = InstructData(train, reports, val, val_reports, align_run="synthetic")
    final = list(train_instruct(tiny_cfg(epochs=1), tmp_path, data=data,
                                llm=load_llm(tiny_llm_dir)))[-1]
    assert all(s["vocalization"] == "unknown" and s["modalities_used"] == ["image"]
               for s in final.metrics["samples"])


def test_stop_keeps_partial_weights(tiny_llm_dir, tmp_path) -> None:
    train, reports = synthetic_inputs(32, 4)
    data = InstructData(train, reports, train, reports, align_run="synthetic")
    stop = StopFlag()
    events = []
    for event in train_instruct(tiny_cfg(), tmp_path, data=data, llm=load_llm(tiny_llm_dir),
                                stop=stop):
        events.append(event)
        if event.step == 2:
            stop.set()
    assert events[-1].done and "stopped" in events[-1].message
    assert (tmp_path / "adapter.pt").exists() and not (tmp_path / "metrics.json").exists()


def test_phase2_finds_latest_phase1_run(tmp_path) -> None:
    with pytest.raises(TrainingError, match="run Phase 1 first"):
        resolve_align_run(InstructConfig(runs_root=str(tmp_path)))
    for name in ("old", "new"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.pt").write_bytes(b"x")
    import os
    os.utime(tmp_path / "old" / "model.pt", (1, 1))
    assert resolve_align_run(InstructConfig(runs_root=str(tmp_path))).name == "new"
    explicit = InstructConfig(runs_root=str(tmp_path), align_run=str(tmp_path / "old"))
    assert resolve_align_run(explicit).name == "old"


def test_a_run_can_start_from_an_earlier_runs_weights(tiny_llm_dir, tmp_path) -> None:
    from purrsight_model.instruct.train import build_model

    train, reports = synthetic_inputs(16, 5)
    data = InstructData(train, reports, train, reports, align_run="synthetic")
    first = tmp_path / "first"
    list(train_instruct(tiny_cfg(epochs=1, eval_rows=1), first, data=data,
                        llm=load_llm(tiny_llm_dir)))
    saved = ckpt.load_weights(first)
    warm = build_model(tiny_cfg(base=str(first)), load_llm(tiny_llm_dir), 512)
    cold = build_model(tiny_cfg(seed=1), load_llm(tiny_llm_dir), 512)
    state, fresh = warm.state_dict(), cold.state_dict()
    for k, v in saved["projector"].items():
        assert torch.equal(state[f"projector.{k}"], v)
        assert not torch.equal(fresh[f"projector.{k}"], v)
    for k, v in saved["lora"].items():
        assert torch.equal(state[f"lm.{k}"], v)
    # a different projector size: those tensors start fresh, the adapters still load
    other = build_model(tiny_cfg(base=str(first), projector_hidden=16), load_llm(tiny_llm_dir),
                        512)
    assert all(torch.equal(other.state_dict()[f"lm.{k}"], v) for k, v in saved["lora"].items())
