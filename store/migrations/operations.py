"""Steps adding what operations keep: the cycle lock and each crawl's monitor results (listed in __init__.py)."""
from __future__ import annotations

import sqlite_utils



def ops_001_locks(db: sqlite_utils.Database) -> None:
    """Named locks in the database (ops/lock.py): one row per held lock.

    ``token`` identifies the holder; ``pid``/``pid_started``/``host`` let another process on the
    same host tell a dead holder from a live one; ``heartbeat_at`` ages a holder that hung or
    lives on another host.
    """
    db["locks"].create({"name": str, "token": str, "pid": int, "pid_started": float, "host": str,
                        "acquired_at": str, "heartbeat_at": str, "purpose": str}, pk="name")


def ops_002_monitor_results(db: sqlite_utils.Database) -> None:
    """Each crawl monitor check (crawler/monitors.py) of each platform, stored with its run."""
    db["monitor_results"].create({"id": int, "run_id": int, "platform": str, "monitor": str, "status": str,
                                  "message": str}, pk="id", foreign_keys=[("run_id", "crawl_runs", "id")])
    db["monitor_results"].create_index(["run_id", "platform"])
