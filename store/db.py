"""The one SQLite file: connection settings and the schema, as sqlite-utils migrations.

Plain tables (browse them with ``datasette sweep.db``). Add a schema change as a new
``@migrations()`` function at the end; never edit one that has shipped.

A file that cannot be used — read-only, in a read-only directory, not SQLite, corrupted — is
found here, when it is opened, and raised as ``DatabaseUnusable`` with what is wrong and what
to do; the CLI prints that one line (cli/main.py). Nothing is written to such a file.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from common.files import create_with_mode
from common.errors import SweepError

DEFAULT_DB = "sweep.db"
MODE = 0o640
migrations = Migrations("sweep")


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
            migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        db.close()
        unusable = _unusable(path, exc)
        if unusable is None:
            raise
        raise unusable from None
    return db


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db["platforms"].create({"name": str, "kind": str, "base_url": str, "profile_path": str, "enabled": int,
                            "first_seen": str}, pk="name")
    db["crawl_runs"].create({"id": int, "started_at": str, "finished_at": str, "outcome": str,
                             "platforms": str, "stats": str, "pid": int}, pk="id")
    db["sellers"].create({"id": str, "platform": str, "seller_id": str, "name": str, "url": str,
                          "first_seen": str, "last_seen": str}, pk="id")
    db["listings"].create({
        "id": str, "platform": str, "platform_id": str, "kind": str, "url": str, "title": str,
        "description": str, "price": float, "seller_id": str, "images": str, "extra": str,
        "content_hash": str, "version": int, "first_seen": str, "last_seen": str, "last_run_id": int,
        "state": str, "label": str, "score": float, "flagged": int,
    }, pk="id", foreign_keys=[("seller_id", "sellers", "id")], defaults={"state": "new", "version": 1})
    db["listings"].create_index(["platform"])
    db["listings"].create_index(["flagged", "score"])
    db["listings"].create_index(["seller_id"])
    db["listing_versions"].create({"id": int, "listing_id": str, "version": int, "content_hash": str,
                                   "title": str, "description": str, "price": float, "seen_at": str,
                                   "run_id": int}, pk="id", foreign_keys=[("listing_id", "listings", "id")])
    db["listing_versions"].create_index(["listing_id", "version"], unique=True)
    db["classifications"].create({"id": int, "listing_id": str, "version": int, "model_version": str,
                                  "label": str, "score": float, "flagged": int, "scores": str,
                                  "explanation": str, "classified_at": str}, pk="id",
                                 foreign_keys=[("listing_id", "listings", "id")])
    db["classifications"].create_index(["listing_id", "version"])
    db["contacts"].create({"id": int, "type": str, "value": str}, pk="id")
    db["contacts"].create_index(["type", "value"], unique=True)
    db["listing_contacts"].create({"listing_id": str, "contact_id": int}, pk=("listing_id", "contact_id"),
                                  foreign_keys=[("listing_id", "listings", "id"), ("contact_id", "contacts", "id")])
    # Search: jieba-free, exact-substring-capable index (see store/search.py for why).
    db.execute("CREATE VIRTUAL TABLE listing_fts USING fts5(listing_id UNINDEXED, tokens, tokenize='unicode61')")


@migrations()
def m002_run_tracking(db: sqlite_utils.Database) -> None:
    """Which run first saw a listing, and fast 'seen since' queries for rechecks."""
    db["listings"].add_column("first_run_id", int)
    db.execute("UPDATE listings SET first_run_id = last_run_id WHERE first_run_id IS NULL")
    db["listings"].create_index(["last_seen"])


@migrations()
def m003_states_and_audit(db: sqlite_utils.Database) -> None:
    """When a listing's state last changed, and the append-only audit log (who, what, when, why)."""
    db["listings"].add_column("state_changed_at", str)
    db["listings"].create_index(["state"])
    db["audit_log"].create({"id": int, "at": str, "actor": str, "action": str, "listing_id": str,
                            "detail": str}, pk="id")
    db["audit_log"].create_index(["listing_id"])
    db.execute("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
               "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
    db.execute("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
               "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


@migrations()
def m004_price_as_shown(db: sqlite_utils.Database) -> None:
    """The price as the page shows it, with its currency and unit (``price`` stays the amount)."""
    for table in ("listings", "listing_versions"):
        for column in ("price_text", "currency", "price_unit"):
            db[table].add_column(column, str)


# Each area keeps its schema changes in its own module (registered after the ones above).
from store import schema_classifier, schema_review, schema_takedown, schema_ops  # noqa: E402,F401
from store import schema_levers  # noqa: E402,F401
from store import schema_endpoints  # noqa: E402,F401
from store import schema_scale  # noqa: E402,F401
