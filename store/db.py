"""The one SQLite file: connection settings, and its schema brought up to date on open.

Plain tables (browse them with ``datasette sweep.db``). The schema is the ordered list of steps
in store/migrations/ (add a change there, as a new step at the end).

A file that cannot be used — read-only, in a read-only directory, not SQLite, corrupted, or
migrated by a newer Sweep — is
found here, when it is opened, and raised as ``DatabaseUnusable`` with what is wrong and what
to do; the CLI prints that one line (cli/main.py). Nothing is written to such a file.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from common.files import create_with_mode
from store.migrations import UnknownMigration, apply as apply_migrations
from store.migrations import migrations  # noqa: F401 — the sqlite-utils set, for tests and tools
from common.errors import SweepError

DEFAULT_DB = "sweep.db"
MODE = 0o640


class DatabaseUnusable(SweepError):
    """The database file cannot be used as it is; the message says why and what to do."""


def _check_access(path: Path) -> None:
    """Refuse, before SQLite touches anything, a file or directory this process cannot write."""
    if str(path) == ":memory:":
        return
    if path.is_dir():
        raise DatabaseUnusable(f"{path} is a directory, not a database file (point --db at a file)")
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if file.exists() and not os.access(file, os.R_OK):
            raise DatabaseUnusable(f"cannot read {file}: permission denied (check its permissions)")
        if file.exists() and not os.access(file, os.W_OK):
            raise DatabaseUnusable(f"cannot write {file}: the file is read-only (check its permissions)")
    # SQLite creates the database and its -wal/-shm files beside it, so the directory must be writable.
    if all(Path(f"{path}{suffix}").exists() for suffix in ("", "-wal", "-shm")):
        return
    folder = path.parent
    if not folder.is_dir():
        raise DatabaseUnusable(f"cannot create {path}: the directory {folder} does not exist "
                               f"(create it or point --db elsewhere)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseUnusable(f"cannot write {path}: its directory {folder} is read-only and SQLite keeps "
                               f"{path.name}-wal and -shm beside it (check its permissions or point --db elsewhere)")


def _unusable(path: Path, exc: sqlite3.DatabaseError) -> DatabaseUnusable | None:
    text = str(exc).lower()
    if "not a database" in text or "malformed" in text or "disk image" in text:
        return DatabaseUnusable(f"{path} is not a SQLite database or is corrupted "
                                f"(restore it from a backup or point --db elsewhere)")
    if "readonly" in text or "read-only" in text:
        return DatabaseUnusable(f"cannot write {path}: the file or its file system is read-only "
                                f"(check its permissions)")
    if "unable to open" in text:
        return DatabaseUnusable(f"cannot open {path} or its -wal/-shm files (check the file and directory "
                                f"permissions, or point --db elsewhere)")
    return None


def open_db(path: str | Path = DEFAULT_DB, migrate: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the database; WAL so readers never block the writer.

    A new file is made mode 0640 (its -wal/-shm files follow): group-readable for analysts,
    never world-readable or writable. Accounts live in a file of their own (accounts_db.py).
    Raises DatabaseUnusable for a file that cannot be used (read-only, not SQLite, corrupted)."""
    path = Path(path)
    _check_access(path)
    if str(path) != ":memory:":
        try:
            create_with_mode(path, MODE)
        except OSError:             # a missing or read-only folder: SQLite reports it below, as before
            pass
    db = sqlite_utils.Database(str(path))
    try:
        db.execute("PRAGMA busy_timeout = 30000")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        if migrate:
            apply_migrations(db)
    except UnknownMigration as exc:
        db.close()
        raise DatabaseUnusable(f"{path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        db.close()
        unusable = _unusable(path, exc)
        if unusable is None:
            raise
        raise unusable from None
    return db
