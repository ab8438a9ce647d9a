"""Torch-free inference: numpy + onnxruntime only (enforced by tests and import-linter)."""

from purrsight_model.runtime.observation import OVERLAY_HEADS, Observation

__all__ = ["OVERLAY_HEADS", "Observation"]
