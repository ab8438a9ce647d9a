"""ONNX export, INT8 quantization (kept only where it measures better) and bundle writing.

Uses torch (to trace the trained modules); the bundle it writes is read by the torch-free
``purrsight_model.runtime``.
"""

from purrsight_model.export.bundle import export_bundle
from purrsight_model.export.common import ExportError
from purrsight_model.export.sources import EncoderSources, packaged_sources

__all__ = ["EncoderSources", "ExportError", "export_bundle", "packaged_sources"]
