"""PurrSight desktop app: capture, pipeline, storage, jobs (Qt-free) and the PySide6 UI."""
