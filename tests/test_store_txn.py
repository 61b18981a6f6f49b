"""The run and platform writes take the write lock up front, so a concurrent writer (a cycle lock's
heartbeat) makes them wait, not fail with "database is locked"."""
from __future__ import annotations

import sqlite3
import threading

from crawler.profile import load_profiles
from store.db import open_db
from store.listings import Store


def test_run_and_platform_writes_wait_for_a_busy_writer_instead_of_failing(tmp_path):
    path = tmp_path / "busy.db"
    store = Store(open_db(path))
    profiles = load_profiles()[:2]
    store.register_platforms(profiles)
    stop, errors = threading.Event(), []

    def heartbeat():                       # another process's lock heartbeat, as fast as it can go
        con = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            while not stop.is_set():
                con.execute("UPDATE platforms SET enabled = enabled WHERE name = ?", [profiles[0].name])
        except sqlite3.Error as exc:       # pragma: no cover - reported below
            errors.append(exc)
        finally:
            con.close()

    beat = threading.Thread(target=heartbeat)
    beat.start()
    try:
        for _ in range(200):
            store.register_platforms(profiles)
            run_id = store.start_run([p.name for p in profiles])
            store.finish_run(run_id, "ok", {"n": 1})
    finally:
        stop.set()
        beat.join()
    assert not errors
    assert store.db.execute("SELECT count(*) FROM crawl_runs WHERE outcome = 'ok'").fetchone()[0] == 200
