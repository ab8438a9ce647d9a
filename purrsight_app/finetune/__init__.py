"""Qt-free fine-tuning: job arguments per the model-side contract, ETA, results, registry.

The app never imports the training code: ``FinetuneController`` runs
``python -m purrsight_model.cli finetune ...`` as a child process (``jobs.Job``), reads its
JSON progress, records the run in the store, and installs an accepted bundle under
``models/`` where ``ModelSwitcher`` hot-swaps it into the live pipeline.
"""

from purrsight_app.finetune.availability import TRAIN_HINT, training_available
from purrsight_app.finetune.controller import (
    FinetuneController,
    FinetuneError,
    JobCallbacks,
    Prepared,
)
from purrsight_app.finetune.estimate import Estimate, EstimateError, format_duration
from purrsight_app.finetune.eta import EtaTracker
from purrsight_app.finetune.plan import PHASE_ORDER, FinetunePlan, estimate_args, finetune_args
from purrsight_app.finetune.registry import RegistryError, install_bundle
from purrsight_app.finetune.results import ComparisonRow, RunResult, comparison, verdict
from purrsight_app.finetune.runlog import read_progress
from purrsight_app.finetune.switcher import ModelSwitcher, SwitchError

__all__ = [
    "PHASE_ORDER", "TRAIN_HINT", "ComparisonRow", "Estimate", "EstimateError", "EtaTracker",
    "FinetuneController", "FinetuneError", "FinetunePlan", "JobCallbacks", "ModelSwitcher",
    "Prepared", "RegistryError", "RunResult", "SwitchError", "comparison", "estimate_args",
    "finetune_args", "format_duration", "install_bundle", "read_progress",
    "training_available", "verdict",
]
