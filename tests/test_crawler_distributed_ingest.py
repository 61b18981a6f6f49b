"""`sweep ingest`, the one writer of a distributed crawl: a real redis-server, a real SQLite file,
the bundled model, and a real `sweep ingest` process killed with SIGKILL."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict

import pytest

from crawler.distributed.keys import Keys
from crawler.items import Listing
from crawler.distributed.ingest import Ingest, IngestError
from tests.conftest import ROOT, sweep

KEYS = Keys("sweep")


@pytest.fixture(scope="module")
def listings(catalogue) -> list[dict]:
    """Forum threads as a worker pushes them (raw: ingest validates and normalises again)."""
    rows = list(catalogue.threads.values())
    return [asdict(Listing(row.key, row.platform, row.pid, row.kind, f"http://127.0.0.1/thread-{row.pid}-1-1.html",
                           title=row.title, description=row.description, seller_name=row.author,
                           crawled_at="2025-01-01T00:00:00+00:00")) for row in rows]


@pytest.fixture
def redis(redis_url):
    import redis as redis_lib

    return redis_lib.Redis.from_url(redis_url)


def push(redis, rows) -> None:
    redis.rpush(KEYS.items, *[json.dumps(r, ensure_ascii=False) for r in rows])
    redis.hset(KEYS.platforms, "forum", json.dumps({"name": "forum", "kind": "forum", "base_url": "http://127.0.0.1",
                                                    "path": "", "enabled": True}))


def make_ingest(redis, db, model_path, **kwargs) -> Ingest:
    ingest = Ingest(redis, str(db), str(model_path), KEYS, **kwargs)
    ingest.open()
    return ingest


def counts(db) -> tuple[int, int, int, int]:
    con = sqlite3.connect(db)
    try:
        row = tuple(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("listings", "listing_versions", "classifications"))
        distinct = con.execute("SELECT count(DISTINCT id) FROM listings").fetchone()[0]
    except sqlite3.OperationalError:          # the database is still being created
        return (0, 0, 0, 0)
    finally:
        con.close()
    return (*row, distinct)


def test_a_batch_is_classified_stored_and_only_then_acknowledged(redis, listings, model_path, tmp_path):
    db = tmp_path / "sweep.db"
    push(redis, listings[:50])
    ingest = make_ingest(redis, db, model_path, batch_size=20)
    assert ingest.step() == 20
    assert counts(db) == (20, 20, 20, 20)
    assert redis.llen(KEYS.items) == 30 and redis.llen(KEYS.items_processing) == 0
    while ingest.step(wait=0):
        pass
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM listings WHERE flagged = 1").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM listings WHERE label IS NULL").fetchone()[0] == 0
    ingest.run(exit_when_idle=0.1)               # no worker alive, nothing left: the crawl's run closes
    assert con.execute("SELECT outcome FROM crawl_runs").fetchone()[0] == "ok"
    ingest.close()


def test_the_same_listing_from_two_workers_is_stored_once(redis, listings, model_path, tmp_path):
    db = tmp_path / "sweep.db"
    push(redis, listings[:10] + listings[:10])                 # two workers fetched the same threads
    ingest = make_ingest(redis, db, model_path, batch_size=15)
    while ingest.step(wait=0):
        pass
    assert counts(db) == (10, 10, 10, 10)
    assert ingest.run_stats["sweep/items_duplicate"] == 10
    ingest.close()


def test_a_batch_taken_by_an_ingest_that_died_is_put_back(redis, listings, model_path, tmp_path):
    db = tmp_path / "sweep.db"
    push(redis, listings[:30])
    dead = make_ingest(redis, db, model_path, batch_size=30)
    dead._take(keys=[KEYS.items, KEYS.items_processing], args=[30])          # took the batch, then died
    dead._close_stages()
    redis.delete(KEYS.ingest_lock)
    assert redis.llen(KEYS.items_processing) == 30 and counts(db)[0] == 0
    ingest = make_ingest(redis, db, model_path, batch_size=30)
    assert redis.llen(KEYS.items_processing) == 0 and redis.llen(KEYS.items) == 30
    ingest.step()
    assert counts(db) == (30, 30, 30, 30)
    ingest.close()


def test_a_batch_committed_but_not_acknowledged_is_not_stored_twice(redis, listings, model_path, tmp_path):
    db = tmp_path / "sweep.db"
    push(redis, listings[:30])
    dead = make_ingest(redis, db, model_path, batch_size=30)
    raw = dead._take(keys=[KEYS.items, KEYS.items_processing], args=[30])
    dead.commit(dead.process(raw))                       # committed … and killed before the acknowledgement
    dead._close_stages()
    redis.delete(KEYS.ingest_lock)
    ingest = make_ingest(redis, db, model_path, batch_size=30)
    ingest.step()
    assert counts(db) == (30, 30, 30, 30)
    assert ingest.run_stats["sweep/items_seen"] == 30     # recognised by content hash: only last_seen changes
    ingest.close()


def test_a_second_ingest_is_refused(redis, model_path, tmp_path):
    first = make_ingest(redis, tmp_path / "a.db", model_path)
    with pytest.raises(IngestError, match="another `sweep ingest` is running"):
        make_ingest(redis, tmp_path / "b.db", model_path)
    first.close()


def hold_lock(db) -> sqlite3.Connection:
    """Another process's view of the database: its own connection, holding the write lock."""
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_database_locked_by_another_process_is_waited_out(redis, listings, model_path, tmp_path):
    db = tmp_path / "sweep.db"
    push(redis, listings[:5])
    ingest = make_ingest(redis, db, model_path, batch_size=5, busy_timeout=0.2, retries=100)
    ingest.step()                                          # the database exists; now someone else takes its lock
    push(redis, listings[5:15])
    holder = hold_lock(db)
    pauses = []
    pause = ingest._sleep

    def release_then_pause(seconds):        # ingest met the lock and pauses: only now the holder lets go
        if not pauses:
            holder.execute("COMMIT")
        pauses.append(seconds)
        pause(seconds)

    ingest._sleep = release_then_pause
    while ingest.step(wait=0):
        pass
    holder.close()
    assert pauses and ingest.run_stats["sweep/store/locked"] == len(pauses)
    assert counts(db) == (15, 15, 15, 15)
    assert redis.llen(KEYS.items) + redis.llen(KEYS.items_processing) == 0
    ingest.close()


def test_a_lock_that_outlasts_the_retries_stops_ingest_with_the_batch_still_in_redis(redis, listings, model_path,
                                                                                      tmp_path):
    db = tmp_path / "sweep.db"
    push(redis, listings[:5])
    ingest = make_ingest(redis, db, model_path, batch_size=10, busy_timeout=0.05, retries=2)
    ingest.step()
    push(redis, listings[5:15])
    holder = hold_lock(db)
    try:
        with pytest.raises(IngestError, match="still locked after 2 retries"):
            ingest.step()
    finally:
        holder.rollback()
        holder.close()
    assert ingest.run_stats["sweep/store/locked"] == 3          # the first attempt and two retries
    assert counts(db)[0] == 5 and redis.llen(KEYS.items) + redis.llen(KEYS.items_processing) == 10
    ingest.close()
    again = make_ingest(redis, db, model_path, batch_size=10)    # the lock is gone: a rerun stores them
    while again.step(wait=0):
        pass
    assert counts(db) == (15, 15, 15, 15)
    again.close()


def test_a_full_disk_stops_ingest_with_the_batch_still_in_redis(redis, listings, model_path, tmp_path):
    db = tmp_path / "sweep.db"
    push(redis, listings[:5])
    ingest = make_ingest(redis, db, model_path, batch_size=50)
    ingest.step()
    push(redis, listings[5:55])
    writer = ingest.store_stage.store.db                             # the store stage's connection writes listings
    pages = writer.execute("PRAGMA page_count").fetchone()[0]
    writer.execute(f"PRAGMA max_page_count = {pages}")               # SQLite's own "database or disk is full"
    with pytest.raises(IngestError, match="the disk is full"):
        ingest.step()
    assert counts(db)[0] == 5                                        # nothing of the failed batch written
    assert redis.llen(KEYS.items_processing) + redis.llen(KEYS.items) == 50
    assert ingest.run_stats["sweep/store/disk_full"] == 1
    ingest.close()
    again = make_ingest(redis, db, model_path, batch_size=50)          # space freed: a rerun stores them
    while again.step(wait=0):
        pass
    assert counts(db) == (55, 55, 55, 55)
    again.close()


def test_sweep_ingest_killed_with_sigkill_loses_nothing(redis, redis_url, listings, model_path, tmp_path):
    db = tmp_path / "sweep.db"
    push(redis, listings * 2)                                        # every thread twice: a big backlog
    args = ["ingest", "--redis", redis_url, "--db", str(db), "--batch", "25", "--exit-when-idle", "1"]
    proc = subprocess.Popen([sys.executable, "-m", "cli", *args], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 120
    while not os.path.exists(db) or counts(db)[0] < 75:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert counts(db)[0] < len(listings)
    out = sweep(*args)
    assert "ingested" in out.stdout
    n = len(listings)
    assert counts(db) == (n, n, n, n)
    assert redis.llen(KEYS.items) == 0 and redis.llen(KEYS.items_processing) == 0


def test_a_missing_model_fails_at_open_and_leaves_nothing_open(redis, tmp_path):
    from classifier.artifact import ArtifactError

    ingest = Ingest(redis, str(tmp_path / "sweep.db"), str(tmp_path / "no-model.skops"), KEYS)
    with pytest.raises((ArtifactError, OSError)):
        ingest.open()
    assert ingest.stages == []
    ingest.close()                                   # what the CLI does after a failed open
    assert redis.get(KEYS.ingest_lock) is None
