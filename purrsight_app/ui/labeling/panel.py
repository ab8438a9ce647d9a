"""LabelingPanel: the clip queue (most uncertain first), a player, one-tap labels.

Keyboard, following labeling-tool conventions: Space play/pause, 1–6 mood (0 clears it),
Enter save & next, Backspace previous, S skip, Ctrl+Z undo. Every save goes to the store
writer at once (``labels.LabelService``); moving to another clip (Back, a tap in the queue,
switching lists) saves pending changes first, Skip drops them. Ctrl+Z first reverts unsaved
changes, then undoes saves one by one. Queue loading,
decoding, import and export all run on Qt's thread pool; media can also be dropped here.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeyEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from purrsight_app.labels import LabelService, QueueItem, resolve_clip_path
from purrsight_app.labels.queries import QueueMode
from purrsight_app.labels.transfer import export_folder, import_sources
from purrsight_app.paths import AppPaths
from purrsight_app.pipeline.protocols import AnalyzerLike
from purrsight_app.ui.jobs import JobRunner
from purrsight_app.ui.labeling.fields import LabelFields
from purrsight_app.ui.labeling.player import ClipPlayer
from purrsight_app.ui.labeling.queue import QueueData, QueueList, load_queue, prediction_text
from purrsight_app.ui.theme import MUTED, TOUCH_PX
from purrsight_model.schema import AFFECTIVE_STATE, UNKNOWN

log = logging.getLogger(__name__)
COMPACT_WIDTH = 900
"""Below this panel width (an 800x480 screen) the queue shrinks to thumbnails and times."""
MOOD_KEYS = {getattr(Qt.Key, f"Key_{i + 1}"): s for i, s in enumerate(AFFECTIVE_STATE)}


@dataclass
class LabelingContext:
    """What the panel needs from the app (callables: the store opens after the window)."""

    paths: AppPaths
    reader: Callable[[], sqlite3.Connection | None]
    writer: Callable[[], object | None]
    analyzer: Callable[[], AnalyzerLike | None] = lambda: None


def _button(text: str, parent: QWidget, slot: Callable[[], None]) -> QPushButton:
    b = QPushButton(text, parent)
    b.setMinimumHeight(TOUCH_PX)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    b.clicked.connect(slot)
    return b


class LabelingPanel(QWidget):
    """See module docstring."""

    def __init__(self, ctx: LabelingContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.service = LabelService()
        self.mode: QueueMode = "todo"
        self.data = QueueData()
        self.index = -1
        self.dirty = False
        self.queue_jobs, self.io_jobs = JobRunner(self), JobRunner(self)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self._build()
        self._refresh_timer = QTimer(self, singleShot=True, interval=600)
        self._refresh_timer.timeout.connect(self.refresh)

    # --- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        self.todo_button = _button("To label", self, lambda: self.set_mode("todo"))
        self.done_button = _button("Labelled", self, lambda: self.set_mode("done"))
        for b in (self.todo_button, self.done_button):
            b.setCheckable(True)
        self.todo_button.setChecked(True)
        self.queue = QueueList(self)
        self.queue.itemClicked.connect(lambda _i: self.go(self.queue.currentRow()))
        self.import_button = _button("Import…", self, lambda: None)
        menu = QMenu(self.import_button)
        menu.addAction("Media files…", self._ask_import_files)
        menu.addAction("Folder…", self._ask_import_folder)
        menu.addAction("Labelled JSONL…", self._ask_import_jsonl)
        self.import_button.setMenu(menu)
        self.export_button = _button("Export…", self, self._ask_export)
        self._texts = {self.todo_button: ("To label", "To do"),
                       self.done_button: ("Labelled", "Done"),
                       self.import_button: ("Import…", "Add"),
                       self.export_button: ("Export…", "Export")}
        left = QWidget(self)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addLayout(self._row(self.todo_button, self.done_button))
        lv.addWidget(self.queue, 1)
        lv.addLayout(self._row(self.import_button, self.export_button))
        self.player = ClipPlayer(self)
        self.prediction = QLabel("", self)
        self.prediction.setStyleSheet(f"color: {MUTED};")
        self.prediction.setWordWrap(True)
        self.fields = LabelFields(self)
        self.fields.changed.connect(self._changed)
        # Enter in the description reaches keyPressEvent (QLineEdit passes Return on): save.
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.fields)
        self.scroll = scroll
        right = QWidget(self)
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.prediction)
        rv.addWidget(scroll, 1)
        self.body = QSplitter(Qt.Orientation.Horizontal, self)
        for w, stretch in ((left, 2), (self.player, 3), (right, 4)):
            self.body.addWidget(w)
            self.body.setStretchFactor(self.body.count() - 1, stretch)
        self.body.setChildrenCollapsible(False)
        self.body.setSizes([220, 330, 470])  # proportions: queue, player, labels
        self.prev_button = _button("◀ Back", self, self.previous)
        self.skip_button = _button("Skip (S)", self, self.skip)
        self.undo_button = _button("Undo", self, self.undo)
        self.save_button = _button("Save && next ▶", self, self.save_next)
        self.save_button.setObjectName("primary")
        self.status = QLabel("", self)
        self.status.setStyleSheet(f"color: {MUTED};")
        self.status.setWordWrap(True)
        bar = self._row(self.prev_button, self.skip_button, self.undo_button)
        bar.addWidget(self.status, 1)
        bar.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 4)
        layout.setSpacing(4)
        layout.addWidget(self.body, 1)
        layout.addLayout(bar)

    @staticmethod
    def _row(*widgets: QWidget) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for w in widgets:
            row.addWidget(w)
        return row

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        compact = self.width() < COMPACT_WIDTH
        if compact != self.queue.compact:
            self.queue.set_compact(compact)
            for button, texts in self._texts.items():
                button.setText(texts[1] if compact else texts[0])
            self.queue.fill(self.data, self.service.current)
            self.queue.setCurrentRow(self.index)
            self.body.setSizes([120, 220, 350] if compact else [220, 330, 470])

    # --- queue --------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.setFocus()
        if not self.data.items:
            self.refresh()

    def set_mode(self, mode: QueueMode) -> None:
        self.todo_button.setChecked(mode == "todo")
        self.done_button.setChecked(mode == "done")
        if mode != self.mode:
            self._leave_clip(save=True)
            self.mode, self.data = mode, QueueData()
            self.queue.clear()
            self.index = 0  # forces go(-1) to clear the player and the buttons
            self.go(-1, save=False)
            self.refresh()

    def refresh(self, announce: bool = True) -> None:
        """Reload the queue in the background, keeping the shown clip if it is still there;
        ``announce`` = say how many clips are queued (not after an import's own message)."""
        keep = self.current.clip.id if self.current else None
        mode, paths, writer = self.mode, self.ctx.paths, self.ctx.writer()

        def work() -> QueueData:
            if writer is not None:  # labels saved a moment ago must be in the query
                writer.flush(2)  # type: ignore[attr-defined]
            return load_queue(self.ctx.reader, mode, paths.data_dir)
        self.queue_jobs.submit(work, lambda data: self._loaded(data, keep, announce), self._say)

    def clip_recorded(self) -> None:
        """A new clip arrived (recorder or import): reload soon (after the commit)."""
        self._refresh_timer.start()

    def _loaded(self, data: QueueData, keep: str | None, announce: bool = True) -> None:
        for item in data.items:
            self.service.remember(item.clip.id, item.label)
        self.data = data
        self.queue.fill(data, self.service.current)
        ids = [i.clip.id for i in data.items]
        if keep in ids:  # same clip still shown: no reload, playback and edits go on
            self.index = ids.index(keep)
            self.queue.setCurrentRow(self.index)
        else:
            self.index = -1
            self.go(0 if ids else -1, save=False)
        what = "to label" if self.mode == "todo" else "labelled"
        if announce:
            self._say(f"{len(ids)} clips {what}" if ids else f"no clips {what} yet — "
                      "clips are recorded when your cat is active, or import some")

    @property
    def current(self) -> QueueItem | None:
        return self.data.items[self.index] if 0 <= self.index < len(self.data.items) else None

    def go(self, index: int, save: bool = True) -> None:
        """Show queue row ``index`` (-1 = nothing); saves pending changes first if asked."""
        if index == self.index and index >= 0:
            return
        self._leave_clip(save=save)
        self.index = index
        item = self.current
        self.queue.setCurrentRow(index)
        if item is not None:
            self.queue.scrollToItem(self.queue.item(index))
        self.fields.set_state(self.service.current(item.clip.id) if item else None)
        self.dirty = False
        self.prediction.setText(prediction_text(item) if item else "")
        path = resolve_clip_path(item.clip.path, self.ctx.paths.data_dir) if item else None
        self.player.load(path)
        self.setFocus()

    def _leave_clip(self, save: bool) -> None:
        if save and self.dirty and self.current is not None:
            self._save_current()
        self.dirty = False

    def _changed(self) -> None:
        self.dirty = self.current is not None

    # --- actions ------------------------------------------------------------------------
    def _save_current(self) -> bool:
        item = self.current
        if item is None:
            return False
        self.service.writer = self.ctx.writer()  # type: ignore[assignment]
        try:
            state = self.service.save(item.clip.id, self.fields.values(),
                                      self.fields.description.text())
        except (ValueError, RuntimeError) as exc:
            self._say(f"not saved: {exc}")
            return False
        self.dirty = False
        self.queue.update_row(self.index, item, state)
        return True

    def save_next(self) -> None:
        if not self._save_current():
            return
        self._say("saved ✓")
        if self.index + 1 < len(self.data.items):
            self.go(self.index + 1, save=False)
        else:
            self._say("saved ✓ — that was the last clip in the queue")
            self.setFocus()

    def previous(self) -> None:
        if self.index > 0:
            self.go(self.index - 1, save=True)

    def skip(self) -> None:
        if self.index + 1 < len(self.data.items):
            self.go(self.index + 1, save=False)
        else:
            self._leave_clip(save=False)
            self._say("end of the queue")

    def undo(self) -> None:
        item = self.current
        if self.dirty and item is not None:
            self.fields.set_state(self.service.current(item.clip.id))
            self.dirty = False
            self._say("unsaved changes undone")
            return
        self.service.writer = self.ctx.writer()  # type: ignore[assignment]
        try:
            undone = self.service.undo()
        except RuntimeError as exc:
            self._say(str(exc))
            return
        if undone is None:
            self._say("nothing to undo")
            return
        clip_id, state = undone
        ids = [i.clip.id for i in self.data.items]
        if clip_id in ids:
            i = ids.index(clip_id)
            self.queue.update_row(i, self.data.items[i], state)
            if i == self.index:
                self.fields.set_state(state)
            else:
                self.go(i, save=False)
        self._say("undone")

    def set_mood(self, state: str) -> None:
        if self.current is not None:
            self.fields.toggle("affective_state", state)

    # --- keyboard -----------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if ctrl and key == Qt.Key.Key_Z:
            self.undo()
        elif ctrl or bool(mods & Qt.KeyboardModifier.AltModifier):
            super().keyPressEvent(event)
            return
        elif key == Qt.Key.Key_Space:
            self.player.toggle()
        elif key in MOOD_KEYS:
            self.set_mood(MOOD_KEYS[key])
        elif key == Qt.Key.Key_0 and self.current is not None:
            self.fields.set_value("affective_state", UNKNOWN)
            self._changed()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.save_next()
        elif key == Qt.Key.Key_Backspace:
            self.previous()
        elif key == Qt.Key.Key_S:
            self.skip()
        elif key == Qt.Key.Key_Escape:
            self.setFocus()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    # --- import / export ----------------------------------------------------------------
    def import_paths(self, sources: Sequence[Path]) -> None:
        writer = self.ctx.writer()
        if writer is None:
            self._say("the history database is not open yet")
            return
        self._say("importing…")
        ctx = self.ctx
        self.io_jobs.submit(
            lambda: import_sources(list(sources), ctx.paths, writer, ctx.reader,  # type: ignore[arg-type]
                                   ctx.analyzer()),
            lambda summary: (self._say(summary.text()), self.refresh(announce=False)), self._say)

    def export_to(self, folder: Path) -> None:
        self._say("exporting…")
        ctx = self.ctx
        self.io_jobs.submit(
            lambda: export_folder(Path(folder), ctx.paths, ctx.reader),
            lambda r: self._say(f"exported {r.rows} labelled clips to {r.align.parent}"
                                + (f" ({len(r.skipped)} skipped)" if r.skipped else "")),
            self._say)

    def _ask_import_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Import media")
        if files:
            self.import_paths([Path(f) for f in files])

    def _ask_import_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder of media")
        if folder:
            self.import_paths([Path(folder)])

    def _ask_import_jsonl(self) -> None:
        file, _ = QFileDialog.getOpenFileName(self, "Import labelled clips", "",
                                              "JSONL (*.jsonl)")
        if file:
            self.import_paths([Path(file)])

    def _ask_export(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export labelled clips to")
        if folder:
            self.export_to(Path(folder))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.import_paths(paths)
            event.acceptProposedAction()

    def _say(self, text: str) -> None:
        self.status.setText(text)
