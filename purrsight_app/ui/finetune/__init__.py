"""Fine-tuning panel: dataset summary, honest ETA, live progress, old-vs-new, roll back."""

from purrsight_app.ui.finetune.panel import FinetuneContext, FinetunePanel

__all__ = ["FinetuneContext", "FinetunePanel"]
