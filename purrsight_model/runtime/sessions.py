"""onnxruntime sessions configured for the machine the app runs on."""

from __future__ import annotations

import os
from pathlib import Path

from purrsight_model.runtime.bundle import BundleError


def default_threads() -> int:
    """Cores this process may use (affinity-aware), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def make_session(path: Path, threads: int | None = None, *, spin: bool = False):
    """CPU session with ``threads`` intra-op threads (None = all cores), one inter-op thread.

    ``spin=False`` stops idle worker threads from busy-waiting between calls: the analysis
    worker runs a few times per second beside the GUI, so burning a core while idle costs
    more than the ~0.1 ms it saves per call.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = threads or default_threads()
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own classes (InvalidProtobuf, Fail, ...)
        raise BundleError(f"onnxruntime cannot load {path}: {exc}") from exc


def input_names(session) -> set[str]:
    return {i.name for i in session.get_inputs()}


def limit_blas_threads(n: int | None = 1) -> bool:
    """Cap numpy's BLAS (OpenBLAS) threads for the whole process; True if applied.

    The per-window numpy work (log-mel: a [96, 257] x [257, 64] matmul) is tiny, and on a
    busy 2-core machine OpenBLAS's worker threads fight onnxruntime's and the GUI's: measured
    here 25 ms per matmul with 2 BLAS threads vs 0.2 ms with 1 (log-mel 24.7 vs 2.7 ms).
    Uses ``threadpoolctl`` when installed; setting ``OPENBLAS_NUM_THREADS=1`` before numpy is
    imported has the same effect without it.
    """
    if n is None:
        return False
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    threadpool_limits(limits=n, user_api="blas")
    return True
