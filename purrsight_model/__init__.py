"""PurrSight model package: schema, encoders, training, export and the torch-free runtime.

Never imports Qt. The app may import only the names re-exported here and from
``purrsight_model.runtime`` (enforced by ``tests/test_boundaries.py``).
"""

from purrsight_model.progress import Progress, StopFlag, TrainingError
from purrsight_model.schema import SCHEMA_VERSION, Report, ReportError, parse_report

__all__ = [
    "SCHEMA_VERSION",
    "Progress",
    "Report",
    "ReportError",
    "StopFlag",
    "TrainingError",
    "parse_report",
]
__version__ = "0.1.0"
