"""The write transaction the takedown steps and the review queue share: taken up front
(``BEGIN IMMEDIATE``), so a read-then-write (plan a report, decide a recheck, link a relist, claim
a listing) cannot race another process between the read and the write."""
from __future__ import annotations

import contextlib


@contextlib.contextmanager
def immediate(db):
    """A write transaction taken up front, so read-then-insert cannot race another process."""
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextlib.contextmanager
def write_first(db):
    """db.atomic() that takes the write lock up front when it opens the transaction.

    sqlite-utils' atomic() opens with a deferred BEGIN; its upsert/update read the table first, so the
    transaction holds a read snapshot when it asks to write. If another connection committed in
    between (a cycle lock's heartbeat, every second in tests) SQLite refuses the upgrade at once with
    "database is locked", without waiting out busy_timeout. Inside an open transaction this is a
    savepoint, as atomic() is."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    with immediate(db):
        yield db
