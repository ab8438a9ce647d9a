"""The installed PySide6 must not miscount references to None (6.12.0 on Python 3.11 does,
and the app then aborts after seconds of painting)."""

from __future__ import annotations

import sys

import pytest

from purrsight_app.ui.qt_check import broken_binding_message, none_refcount_drift


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from 3.12")
def test_void_qt_calls_keep_none_refcount(qapp) -> None:
    assert none_refcount_drift() > -0.5, broken_binding_message()
    assert broken_binding_message() is None
