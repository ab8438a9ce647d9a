"""Torch-free inference: numpy + onnxruntime + tokenizers only (enforced by tests and
import-linter).

``Analyzer.load(bundle).analyze(frame, audio) -> Observation``, ``.embed_text(str)``;
``Reporter.load(bundle).report(observations) -> Report``; ``load_bundle`` verifies a bundle
folder and raises ``BundleError`` for a corrupt or mismatched one.
"""

from purrsight_model.runtime.analyzer import Analyzer
from purrsight_model.runtime.bundle import Bundle, BundleError, default_bundle, load_bundle
from purrsight_model.runtime.observation import OVERLAY_HEADS, Observation
from purrsight_model.runtime.reporter import Reporter, WindowInputs, window_inputs
from purrsight_model.runtime.zeroshot import CALL_HEARD_MIN

__all__ = [
    "CALL_HEARD_MIN",
    "OVERLAY_HEADS",
    "Analyzer",
    "Bundle",
    "BundleError",
    "Observation",
    "Reporter",
    "WindowInputs",
    "default_bundle",
    "load_bundle",
    "window_inputs",
]
