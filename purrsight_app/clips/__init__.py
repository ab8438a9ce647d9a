"""Qt-free clips: event-triggered recording with pre-roll, thumbnails, media import.

``ClipRecorder`` turns events (and the Live view's record button) into MP4 clips with audio,
written on its own thread; ``import_media`` brings existing files in; both put
``ClipRecord`` rows on the store writer, with the model's prediction and margin so the
labeling queue can suggest the most uncertain clips first.
"""

from purrsight_app.clips.config import ClipConfig
from purrsight_app.clips.encoder import ClipEncodeError, ClipEncoder
from purrsight_app.clips.importer import ImportResult, import_media, import_one, predict_media
from purrsight_app.clips.prediction import PredictionTally, window_margin
from purrsight_app.clips.probe import MediaInfo, probe
from purrsight_app.clips.recorder import ClipRecorder, RecorderStats
from purrsight_app.clips.thumbs import thumbnail_for_media, waveform_image, write_thumbnail

__all__ = [
    "ClipConfig", "ClipEncodeError", "ClipEncoder", "ClipRecorder", "ImportResult", "MediaInfo",
    "PredictionTally", "RecorderStats", "import_media", "import_one", "predict_media", "probe",
    "thumbnail_for_media", "waveform_image", "window_margin", "write_thumbnail",
]
