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
