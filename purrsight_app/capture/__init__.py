"""Qt-free capture: camera, microphone, file and demo sources feeding lock-protected rings.

Data flow: a source's thread (or PortAudio's callback) writes into ``FrameRing`` /
``AudioRing``; the analysis thread reads the newest frame and the last ~1 s of audio; the clip
recorder reads pre-roll with ``since``. Sources never raise to the caller: they report a
``SourceStatus`` and a message.
"""

from purrsight_app.capture.audio_ring import SAMPLE_RATE, AudioRing, rms, rms_dbfs
from purrsight_app.capture.camera import CameraConfig, CameraSource
from purrsight_app.capture.file_source import (
    DemoSource,
    FileSource,
    FileSourceConfig,
    iter_video_frames,
    list_media,
)
from purrsight_app.capture.frame_ring import Frame, FrameRing
from purrsight_app.capture.mic import MicConfig, MicSource
from purrsight_app.capture.resample import StreamResampler
from purrsight_app.capture.source import Source, SourceState, SourceStatus

__all__ = [
    "SAMPLE_RATE", "AudioRing", "CameraConfig", "CameraSource", "DemoSource", "FileSource",
    "FileSourceConfig", "Frame", "FrameRing", "MicConfig", "MicSource", "Source", "SourceState",
    "SourceStatus", "StreamResampler", "iter_video_frames", "list_media", "rms", "rms_dbfs",
]
