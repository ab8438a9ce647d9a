"""Timeline panel: history charts, event list and details, search, export."""

from purrsight_app.ui.timeline.panel import TimelinePanel

__all__ = ["TimelinePanel"]
