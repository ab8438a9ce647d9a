"""PySide6 widgets: main window with panel navigation, live view + overlay, timeline.

Widgets only paint and handle input. Frames and results are read from the Qt-free session
(rings, ``LivePipeline.latest``); database queries and model calls run on worker threads.
"""
