"""Data-dir resolution: explicit --data-dir, then $PURRSIGHT_DATA_DIR, then platformdirs."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

import pytest

from purrsight_app.paths import add_data_dir_argument, resolve_paths


def test_layout_is_created(tmp_path: Path):
    paths = resolve_paths(tmp_path / "d")
    assert paths.db_path == tmp_path / "d" / "purrsight.db"
    for sub in ("clips", "models", "runs", "logs"):
        assert (tmp_path / "d" / sub).is_dir()
    ts = datetime(2024, 5, 6, 12, 0).timestamp()
    assert paths.clip_dir_for(ts) == tmp_path / "d" / "clips" / "2024-05-06"


def test_override_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PURRSIGHT_DATA_DIR", str(tmp_path / "env"))
    assert resolve_paths(create=False).data_dir == tmp_path / "env"
    assert resolve_paths(tmp_path / "arg", create=False).data_dir == tmp_path / "arg"
    monkeypatch.delenv("PURRSIGHT_DATA_DIR")
    default = resolve_paths(create=False).data_dir
    assert not default.exists()  # create=False really creates nothing
    if sys.platform.startswith("linux"):  # conftest points XDG_DATA_HOME at a temp dir
        assert default == Path(os.environ["XDG_DATA_HOME"]) / "purrsight"


def test_cli_option(tmp_path: Path):
    parser = argparse.ArgumentParser()
    add_data_dir_argument(parser)
    assert parser.parse_args(["--data-dir", str(tmp_path)]).data_dir == str(tmp_path)
    assert parser.parse_args([]).data_dir is None
