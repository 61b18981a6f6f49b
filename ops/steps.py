"""The takedown steps of a cycle, after the crawl, in order; each is called ``(db_path, config, clock)``.

Real callables, imported here: a step that does not exist is an import error when Sweep starts,
never a step silently skipped.
"""
from __future__ import annotations

from common.config import Config
from store.db import open_db
from takedown.endpoints.notify import notify
from takedown.endpoints.store import collect
from takedown.evidence import capture_flagged
from takedown.recheck import recheck_due
from takedown.reports import file_confirmed


def collect_endpoints(db_path, config: Config, clock) -> dict:
    """Abused endpoints from the config files of code-host listings (what `sweep endpoints` reads)."""
    db = open_db(db_path)
    try:
        return collect(db, clock)
    finally:
        db.close()


def notify_endpoints(db_path, config: Config, clock) -> dict:
    """One endpoint-abuse report per newly seen owning domain, into the outbox (`sweep endpoints --notify`)."""
    db = open_db(db_path)
    try:
        return notify(db, config.section("endpoints"), clock)
    finally:
        db.close()


STEPS = (("evidence", capture_flagged),
         ("reports", file_confirmed),
         ("endpoints", collect_endpoints),
         ("notify", notify_endpoints),
         ("recheck", recheck_due))
