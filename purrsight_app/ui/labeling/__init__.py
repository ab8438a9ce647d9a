"""Labeling panel: clip queue, player with a spectrogram strip, one-tap schema labels."""

from purrsight_app.ui.labeling.panel import LabelingContext, LabelingPanel

__all__ = ["LabelingContext", "LabelingPanel"]
