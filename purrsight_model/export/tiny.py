"""Tiny random stand-ins with the real contracts, so export and runtime tests run in seconds.

- ``TinyImageNet``: conv net -> (pooled [N, 12], 1000 ImageNet logits), like MobileNetV2.
- ``tiny_yamnet_graph``: ONNX with YAMNet's contract (log_mel [N,1,96,64] -> embedding [N,10],
  scores/logits [N,521]), so the zero-shot class indices are real.
- ``tiny_text_source``: a 1-layer BERT with a WordPiece ``tokenizer.json``.
- ``tiny_align_run`` / ``tiny_llm_folder``: a random Phase 1 run folder and a random 2-layer
  GQA Llama with a byte-level BPE tokenizer (for Phase 2 runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from purrsight_model.align import checkpoint as ackpt
from purrsight_model.align.config import AlignConfig, HeadSpec
from purrsight_model.align.model import AlignModel, FeatureDims
from purrsight_model.export.sources import EncoderSources
from purrsight_model.export.text import TextSource
from purrsight_model.schema import AFFECTIVE_STATE, AROUSAL, VOCALIZATION

DIMS = FeatureDims(image=12, audio=10, audio_scores=521, text=8)
HEADS = (HeadSpec("affective_state", "labels", AFFECTIVE_STATE),
         HeadSpec("vocalization", "labels", VOCALIZATION),
         HeadSpec("arousal", "labels", AROUSAL))


class TinyImageNet(nn.Module):
    """Two strided convs + mean pool + a 1000-way head."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, 4, 1), nn.BatchNorm2d(8), nn.ReLU6(),
                                      nn.Conv2d(8, DIMS.image, 3, 2, 1), nn.ReLU6())
        self.classifier = nn.Linear(DIMS.image, 1000)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = self.features(x).mean(dim=(2, 3))  # [N, 12]
        return pooled, self.classifier(pooled)


def tiny_yamnet_graph(path: Path, seed: int = 0) -> Path:
    """Random linear 'YAMNet' with the float graph's input/output names."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((96 * 64, DIMS.audio)) * 0.01).astype(np.float32)
    w2 = (rng.standard_normal((DIMS.audio, DIMS.audio_scores)) * 0.5).astype(np.float32)
    b2 = np.full(DIMS.audio_scores, -1.0, np.float32)
    nodes = [helper.make_node("Flatten", ["log_mel"], ["flat"], axis=1),
             helper.make_node("MatMul", ["flat", "w1"], ["h"]),
             helper.make_node("Relu", ["h"], ["embedding"]),
             helper.make_node("MatMul", ["embedding", "w2"], ["z"]),
             helper.make_node("Add", ["z", "b2"], ["logits"]),
             helper.make_node("Sigmoid", ["logits"], ["scores"])]
    graph = helper.make_graph(
        nodes, "tiny_yamnet",
        [helper.make_tensor_value_info("log_mel", TensorProto.FLOAT, ["N", 1, 96, 64])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", DIMS.audio]),
         helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", DIMS.audio_scores]),
         helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", DIMS.audio_scores])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2"),
         numpy_helper.from_array(b2, "b2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def tiny_text_source(folder: Path) -> TextSource:
    """1-layer BERT (hidden 8) and a WordPiece tokenizer.json trained on a few sentences."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel

    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    texts = ["a cat hissing near the door", "the cat purrs on the sofa", "meow at the window",
             "a relaxed cat being brushed", "growling and hissing at a dog"]
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=120,
                                                             special_tokens=specials,
                                                             show_progress=False))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    tok.save(str(folder / "tokenizer.json"))
    torch.manual_seed(1)
    cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=DIMS.text,
                     num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
                     max_position_embeddings=64)
    return TextSource(BertModel(cfg).eval(), folder / "tokenizer.json", 32, "tiny-text-0")


def tiny_sources(folder: Path) -> EncoderSources:
    """All three tiny encoders (weights seeded, so two calls build the same models)."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    image = TinyImageNet().eval()
    audio = tiny_yamnet_graph(folder / "tiny_yamnet.onnx")
    return EncoderSources(image=image, image_version="tiny-image-0", audio_graph=audio,
                          audio_version="tiny-audio-0", text=tiny_text_source(folder / "text"))


def tiny_align_run(folder: Path, seed: int = 0) -> Path:
    """A random (untrained) Phase 1 run folder with the tiny feature sizes."""
    cfg = AlignConfig(dim=16, hidden=32, dropout=0.0, max_frames=4, max_patches=6, seed=seed,
                      probe_heads=("vocalization",))
    torch.manual_seed(seed)
    model = AlignModel(cfg, DIMS, HEADS)
    with torch.no_grad():
        for p in model.parameters():  # larger weights: peaked, input-dependent head outputs
            if p.dim() > 1:
                p.mul_(3.0)
        for probe in model.probes.values():  # a random "fitted" probe: the graph carries it
            torch.nn.init.normal_(probe.linear.weight, std=0.5)
            torch.nn.init.normal_(probe.linear.bias)
            probe.fitted.fill_(1.0)
    ackpt.write_config(cfg, folder)
    ackpt.save_model(model, folder)
    # as if every head had labels with both modalities: no head is left out of any window
    evidence = {h.name: ["image", "audio"] for h in HEADS}
    ackpt.write_metrics(folder, {"n": 0, "note": "tiny random run for tests",
                                 "evidence": evidence})
    return folder


def tiny_llm_folder(folder: Path, hidden: int = 32, max_positions: int = 512) -> Path:
    """A random 2-layer GQA Llama + tiny BPE tokenizer saved as a local HF folder."""
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from purrsight_model.decoding.tiny import build_tiny_tokenizer

    tok = build_tiny_tokenizer(600)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok.backend, eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", bos_token="<|im_start|>")
    cfg = LlamaConfig(vocab_size=tok.vocab_size, hidden_size=hidden,
                      intermediate_size=2 * hidden, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=max_positions,
                      tie_word_embeddings=True, initializer_range=0.3)
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def tiny_instruct_run(folder: Path, align_run: Path, llm_folder: Path, *, epochs: int = 2,
                      hints: bool = True, seed: int = 0) -> Path:
    """A short Phase 2 run (projector + LoRA on every linear) on synthetic 16-d vectors."""
    from purrsight_model.instruct.config import InstructConfig
    from purrsight_model.instruct.features import SoftInputs
    from purrsight_model.instruct.llm import load_llm
    from purrsight_model.instruct.train import InstructData, train_instruct
    from purrsight_model.schema import Report

    rng = np.random.default_rng(seed)
    n = 24
    y = rng.integers(0, 3, n)
    vecs = rng.standard_normal((2, n, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=-1, keepdims=True)
    has_audio = rng.random(n) < 0.6
    states = ("content", "anxious", "aggressive")
    hint_rows = [{"affective_state": (states[k], 0.8)} for k in y]
    inputs = SoftInputs(vecs[0], vecs[1] * has_audio[:, None], np.ones(n, bool), has_audio,
                        hint_rows)
    reports = [Report(affective_state=states[k], ears="forward", summary="The cat rests.",
                      advice="Let it be.", confidence=0.6) for k in y]
    cfg = InstructConfig(k_tokens=2, projector_hidden=32, lora_rank=4, lora_layers=0,
                         lora_targets=("q_proj", "v_proj", "up_proj"), epochs=epochs,
                         batch_size=8, lr=1e-2, warmup_steps=1, eval_rows=2,
                         max_text_tokens=6, threads=1, hints=hints, seed=seed)
    data = InstructData(inputs, reports, inputs, reports, align_run=str(align_run))
    for _ in train_instruct(cfg, folder, data=data, llm=load_llm(llm_folder)):
        pass
    return folder


@dataclass(frozen=True)
class TinyBuild:
    """Everything a tiny end-to-end export produced."""

    sources: EncoderSources
    align_run: Path
    instruct_run: Path | None
    bundle: Path


_BUILDS: dict[tuple[bool, bool | str], TinyBuild] = {}


def build_tiny_bundle(root: Path, *, report: bool = True, quantize: bool | str = True
                      ) -> TinyBuild:
    """Tiny runs + exported bundle under ``root``; reused within a process (treat as
    read-only: copy the bundle before corrupting it)."""
    from purrsight_model.export.bundle import export_bundle

    key = (report, quantize)
    cached = _BUILDS.get(key)
    if cached is not None and (cached.bundle / "manifest.json").is_file():
        return cached
    root.mkdir(parents=True, exist_ok=True)
    sources = tiny_sources(root / "src")
    align_run = tiny_align_run(root / "align")
    instruct_run = None
    if report:
        instruct_run = tiny_instruct_run(root / "instruct", align_run,
                                         tiny_llm_folder(root / "llm"))
    bundle = export_bundle(align_run, instruct_run, root / "bundle", sources=sources,
                           quantize=quantize, threads=1)
    _BUILDS[key] = TinyBuild(sources, align_run, instruct_run, bundle)
    return _BUILDS[key]
