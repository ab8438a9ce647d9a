"""Source picker: big buttons for camera, microphone, both, demo, a file or a folder.

Returns a source spec string (the same grammar as ``--source`` and the settings file).
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from purrsight_app.ui.theme import TOUCH_PX
from purrsight_model.media import AUDIO_EXTS, IMAGE_EXTS, VIDEO_EXTS

CHOICES = (
    ("Camera + microphone", "camera+mic"),
    ("Camera only", "camera"),
    ("Microphone only", "mic"),
    ("Demo", "demo"),
)


def media_filter() -> str:
    """File-dialog filter listing every playable extension."""
    exts = " ".join(f"*{e}" for e in sorted(VIDEO_EXTS | AUDIO_EXTS | IMAGE_EXTS))
    return f"Media ({exts});;All files (*)"


class SourcePicker(QDialog):
    """Modal chooser; ``spec`` holds the choice after ``exec()`` returns Accepted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose a source")
        self.spec: str | None = None
        grid = QGridLayout()
        buttons = [(label, spec) for label, spec in CHOICES]
        for i, (label, spec) in enumerate(buttons):
            b = QPushButton(label, self)
            b.setMinimumHeight(TOUCH_PX + 8)
            b.clicked.connect(lambda _=False, s=spec: self._choose(s))
            grid.addWidget(b, i // 2, i % 2)
        file_btn = QPushButton("A file…", self)
        folder_btn = QPushButton("A folder…", self)
        for j, (b, fn) in enumerate(((file_btn, self._pick_file), (folder_btn, self._pick_dir))):
            b.setMinimumHeight(TOUCH_PX + 8)
            b.clicked.connect(fn)
            grid.addWidget(b, 2, j)
        cancel = QPushButton("Cancel", self)
        cancel.setMinimumHeight(TOUCH_PX)
        cancel.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Where should PurrSight watch and listen?", self))
        layout.addLayout(grid)
        layout.addWidget(cancel)

    def _choose(self, spec: str) -> None:
        self.spec = spec
        self.accept()

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Play a media file", "", media_filter())
        if path:
            self._choose(path)

    def _pick_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Play a folder of media")
        if path:
            self._choose(path)
