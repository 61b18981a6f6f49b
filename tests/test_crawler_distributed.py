"""Distributed crawling: the sandbox, a real redis-server, two `sweep worker` processes and one
`sweep ingest` — one worker killed with SIGKILL mid-crawl — and every catalogue listing stored
exactly once."""
from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess

import pytest

from crawler.distributed.keys import Keys
from crawler.distributed.queue import ReliableQueue
from crawler.profile import load_profiles
from tests.helpers import base_url_args, output, start_sweep, wait_for

KEYS = Keys("sweep")


@pytest.fixture
def redis(redis_url):
    import redis as redis_lib

    return redis_lib.Redis.from_url(redis_url)


STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_process_outlives_its_test():
    """A failed test must not leave a worker or an ingest running: it would hold the next test's lock."""
    yield
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def start(tmp_path, name: str, *args: str) -> subprocess.Popen:
    proc = start_sweep(*args, log=tmp_path / f"{name}.log")
    STARTED.append(proc)
    return proc


def held_by(redis, pid: int) -> dict[str, int]:
    """Requests each processing list of the worker process ``pid`` holds."""
    lists = [k.decode() for k in redis.scan_iter(match=KEYS.processing_pattern())]
    return {k: redis.llen(k) for k in lists if f"-{pid}-" in KEYS.worker_of(k)}


class FakeSpider:
    name = "forum"


def test_a_dead_workers_requests_go_back_on_the_queue_and_only_then(redis):
    queue = ReliableQueue(redis, FakeSpider(), KEYS.requests("forum"), processing_key=KEYS.processing("forum", "w1"))
    for n in range(3):
        assert queue.push_unseen(f"request-{n}".encode(), KEYS.dupefilter("forum"), f"fp{n}")
    assert not queue.push_unseen(b"request-0 again", KEYS.dupefilter("forum"), "fp0")
    popped = [queue.pop_data(), queue.pop_data()]
    assert len(queue) == 1 and redis.llen(queue.processing) == 2
    queue.ack(popped[:1])
    redis.set(KEYS.heartbeat("w1"), "forum", px=60000)
    assert queue.requeue(queue.processing, KEYS.heartbeat("w1")) == -1      # alive: its requests stay its own
    redis.delete(KEYS.heartbeat("w1"))
    assert queue.requeue(queue.processing, KEYS.heartbeat("w1")) == 1       # dead: back on the queue
    assert sorted(redis.lrange(queue.key, 0, -1)) == [b"request-1", b"request-2"]


def test_two_workers_one_killed_mid_crawl_store_every_listing_exactly_once(
        redis, redis_url, sandbox, model_path, catalogue, tmp_path):
    db = tmp_path / "sweep.db"
    worker = ["worker", "--redis", redis_url, "--timeout", "3", *base_url_args(sandbox.urls)]
    doomed, survivor = start(tmp_path, "worker1", *worker), start(tmp_path, "worker2", *worker)
    ingest = start(tmp_path, "ingest", "ingest", "--redis", redis_url, "--db", str(db), "--exit-when-idle", "5")
    def under_way() -> bool:
        assert doomed.poll() is None, output(doomed)[-3000:]
        return sum(held_by(redis, doomed.pid).values()) >= 10 and redis.llen(KEYS.items) + _stored(db) >= 50

    wait_for(under_way, 300, interval=0.02, what="the workers to hold requests and produce listings")
    os.killpg(doomed.pid, signal.SIGKILL)               # the worker, its Chromium and all: no goodbye
    doomed.wait()
    # Counted only once it is dead: until then it keeps acknowledging. Its heartbeat outlives it
    # by up to --timeout (3 s), so nobody has taken its requests back yet.
    held = sum(held_by(redis, doomed.pid).values())
    assert survivor.wait(timeout=600) == 0, output(survivor)[-3000:]
    assert ingest.wait(timeout=120) == 0, output(ingest)[-3000:]
    taken_back = sum(int(n) for n in re.findall(r"(\d+) requests taken back", output(survivor)))
    # The survivor's crawl health: the five checks a worker can judge, per platform, all passed.
    platforms = len(load_profiles())
    assert len(re.findall(r"; finished; monitors 5 of 5 OK", output(survivor))) == platforms, output(survivor)[-3000:]
    assert held and taken_back >= held                  # everything it held was fetched again, by the survivor
    con = sqlite3.connect(db)
    ids = [r[0] for r in con.execute("SELECT id FROM listings")]
    assert len(ids) == len(set(ids))
    truth = set(catalogue.ground_truth())
    assert set(ids) == truth, f"missing {sorted(truth - set(ids))[:10]}"
    assert con.execute("SELECT count(*) FROM listing_versions").fetchone()[0] == len(truth)
    assert con.execute("SELECT count(*) FROM classifications").fetchone()[0] == len(truth)
    run = con.execute("SELECT outcome, platforms FROM crawl_runs").fetchall()
    assert [r[0] for r in run] == ["ok"]
    assert not [k for k in redis.scan_iter(match="sweep:*") if k != KEYS.platforms.encode()]   # nothing left over


def _stored(db) -> int:
    try:
        return sqlite3.connect(db).execute("SELECT count(*) FROM listings").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_worker_whose_platform_fails_says_which_check_failed_and_exits_non_zero(redis_url, tmp_path):
    """Every request to the platform is refused: the worker still finishes, and its monitors say so."""
    with socket.socket() as probe:          # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    proc = start(tmp_path, "worker", "worker", "--redis", redis_url, "--platform", "forum",
                 "--base-url", f"forum=http://127.0.0.1:{closed}")
    assert proc.wait(timeout=120) == 1, output(proc)[-3000:]
    out = output(proc)
    assert "forum: monitor error_ratio failed:" in out and "forum: monitor retry_ratio failed:" in out, out[-3000:]
    share = int(re.search(r"\d+ of \d+ requests failed \((\d+)%", out).group(1))
    assert share >= 80          # every page failed (robots.txt, also refused, is not a page error)
    assert "; finished; monitors 3 of 5 OK" in out       # it did finish, no extraction raised, nothing unrendered
