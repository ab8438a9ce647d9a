"""Opening the database: pragmas, migrations with backups, corrupt files moved aside."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from purrsight_app.storage import Store, StoreError, connect, open_database
from purrsight_app.storage.migrations import MIGRATIONS

TABLES = {"observations", "obs_agg", "events", "reports", "reports_fts", "clips", "labels",
          "label_history", "runs", "models", "meta"}


def test_fresh_database_has_every_table_wal_and_version(tmp_path: Path):
    result = open_database(tmp_path / "p.db")
    assert result.created and result.message is None
    assert result.schema_version == len(MIGRATIONS)
    conn = connect(result.path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert names >= TABLES
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # INCREMENTAL
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    assert meta["schema_version"] == str(len(MIGRATIONS))
    assert meta["label_schema_version"]


def test_reopen_is_idempotent(tmp_path: Path):
    open_database(tmp_path / "p.db")
    again = open_database(tmp_path / "p.db")
    assert not again.created and again.migrated_from is None and again.backup_path is None


def _add_widgets(db: sqlite_utils.Database) -> None:
    db["widgets"].create({"id": int, "name": str}, pk="id")


def _add_widget_color(db: sqlite_utils.Database) -> None:
    db["widgets"].add_column("color", str)


def test_migration_backs_up_old_file_and_keeps_data(tmp_path: Path):
    path = tmp_path / "p.db"
    open_database(path, migrations=[*MIGRATIONS, _add_widgets])
    conn = connect(path)
    conn.execute("INSERT INTO widgets (id, name) VALUES (1, 'old')")
    conn.close()

    result = open_database(path, migrations=[*MIGRATIONS, _add_widgets, _add_widget_color])
    assert result.migrated_from == len(MIGRATIONS) + 1
    assert result.schema_version == len(MIGRATIONS) + 2
    assert result.backup_path is not None and result.backup_path.exists()
    assert "upgraded" in (result.message or "")
    # The backup is the pre-migration file: old schema, old data.
    bak = sqlite3.connect(result.backup_path)
    assert bak.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) + 1
    cols = [r[1] for r in bak.execute("PRAGMA table_info(widgets)")]
    assert cols == ["id", "name"]
    # The live file has the new column and the old row.
    conn = connect(path)
    assert [tuple(r) for r in conn.execute("SELECT name, color FROM widgets")] == [("old", None)]


def _broken(db: sqlite_utils.Database) -> None:
    db["half"].create({"id": int}, pk="id")
    raise sqlite3.OperationalError("simulated failure mid-migration")


def test_failed_migration_rolls_back_completely(tmp_path: Path):
    path = tmp_path / "p.db"
    open_database(path)
    with pytest.raises(StoreError):
        open_database(path, migrations=[*MIGRATIONS, _broken])
    conn = connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert "half" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}


def test_newer_schema_is_refused_not_clobbered(tmp_path: Path):
    path = tmp_path / "p.db"
    open_database(path)
    conn = connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        open_database(path)


def test_garbage_file_is_moved_aside_and_fresh_db_created(tmp_path: Path):
    path = tmp_path / "purrsight.db"
    path.write_bytes(b"this is not a database at all" * 100)
    store = Store.open(path)
    moved = store.open_result.corrupt_moved_to
    assert moved is not None and moved.name.startswith("purrsight.db.corrupt-")
    assert moved.read_bytes().startswith(b"this is not")
    assert store.notice and "damaged" in store.notice and moved.name in store.notice
    reader = store.reader()
    assert reader.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 0


@pytest.mark.parametrize("check", ["integrity", "quick", "auto"])
def test_damaged_pages_are_detected(tmp_path: Path, check: str):
    path = tmp_path / "p.db"
    open_database(path)
    conn = connect(path)
    conn.executemany("INSERT INTO events (id, start) VALUES (?, ?)",
                     [(f"e{i:05d}", float(i)) for i in range(3000)])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for p in range(2, len(data) // page):  # scribble over every page except the header page
        data[p * page + 10: p * page + 60] = b"\xff" * 50
    path.write_bytes(bytes(data))
    result = open_database(path, check=check)
    assert result.corrupt_moved_to is not None and result.message
    assert connect(path).execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0


def test_unwritable_folder_raises_store_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError):
        open_database(blocker / "sub" / "p.db")


def test_reader_connection_is_query_only(tmp_path: Path):
    store = Store.open(tmp_path / "p.db")
    with pytest.raises(sqlite3.OperationalError):
        store.reader().execute("INSERT INTO events (id, start) VALUES ('x', 1)")
