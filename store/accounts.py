"""The accounts file: reviewer accounts, session revocation and login-throttle counters,
kept apart from the listings database.

``sweep.db`` → ``sweep-accounts.db`` beside it (``$SWEEP_ACCOUNTS_DB`` puts it elsewhere),
created mode 0600, so the listings database can be shared with analysts (``datasette
sweep.db``) without password hashes in it. An accounts file that others can read is refused
with the ``chmod`` to run. A database of the old layout, with a ``users`` table, has it
moved here the first time it is opened (``review_002`` in store/migrations/reviews.py); the audit log
rows about reviewers stay in the listings database.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from common.files import create_with_mode
from common.errors import SweepError

ENV = "SWEEP_ACCOUNTS_DB"
MODE = 0o600
migrations = Migrations("sweep-accounts")
_COLUMNS = ("name", "role", "password_hash", "created_at", "disabled", "sessions_valid_after")


class AccountsFileError(SweepError, RuntimeError):
    pass


def accounts_path(db_path: str | Path, environ=os.environ) -> Path:
    """Where the accounts of the listings database at ``db_path`` live."""
    if environ.get(ENV):
        return Path(environ[ENV])
    db_path = Path(db_path)
    return db_path.with_name(f"{db_path.stem}-accounts{db_path.suffix or '.db'}")


def database_file(db: sqlite_utils.Database) -> str:
    """The file behind an open database ("" for an in-memory one)."""
    return next((row[2] for row in db.execute("PRAGMA database_list") if row[1] == "main"), "")


def open_accounts(path: str | Path, migrate: bool = True) -> sqlite_utils.Database:
    """Open (creating mode 0600 if needed) and migrate the accounts file."""
    path = Path(path)
    if not create_with_mode(path, MODE):
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise AccountsFileError(f"{path} holds password hashes but others can read it (mode {mode:o}); "
                                    f"run `chmod 600 {path}`")
    db = sqlite_utils.Database(str(path))
    db.execute("PRAGMA busy_timeout = 30000")
    db.execute("PRAGMA journal_mode = WAL")        # -wal and -shm files take the file's mode
    db.execute("PRAGMA synchronous = NORMAL")
    if migrate:
        migrations.apply(db)
    return db


@migrations()
def accounts_001_users(db: sqlite_utils.Database) -> None:
    """Accounts; ``sessions_valid_after`` revokes older sessions (cookies are signed, not stored);
    the ``failed_*`` and ``locked_until`` columns are the per-account login throttle (see
    review/web/throttle.py), here so that nothing but time clears them."""
    db["users"].create({"name": str, "role": str, "password_hash": str, "created_at": str, "disabled": int,
                        "sessions_valid_after": str, "failed_logins": int, "failed_since": str,
                        "failed_audited": int, "locked_until": str}, pk="name",
                       defaults={"disabled": 0, "failed_logins": 0, "failed_audited": 0})


def move_accounts_out(db: sqlite_utils.Database) -> int:
    """Move the ``users`` table of an old-layout listings database into its accounts file.

    Copied and committed there first, then dropped here with secure_delete (the freed pages
    are zeroed, not left holding the hashes) and the WAL truncated. A crash in between leaves
    the rows in both; the next open copies nothing new (INSERT OR IGNORE) and drops the table.
    """
    if not db["users"].exists():
        return 0
    rows = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM users").fetchall()
    if rows:
        if not database_file(db):
            raise AccountsFileError("an in-memory database cannot move its accounts to a file")
        accounts = open_accounts(accounts_path(database_file(db)))
        try:
            with accounts.atomic():
                accounts.conn.executemany(f"INSERT OR IGNORE INTO users ({', '.join(_COLUMNS)}) "
                                          f"VALUES ({', '.join('?' * len(_COLUMNS))})", rows)
        finally:
            accounts.close()
    db.execute("PRAGMA secure_delete = ON")
    with db.atomic():
        db["users"].drop()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return len(rows)
