"""Resume after any kill: real `sweep crawl` processes stopped with SIGKILL and SIGINT at several
points, a database locked by another process, a disk that fills up — and every listing still
stored exactly once, by a rerun with --resume.

Kill points are measured in acknowledged requests (seen minus still pending in the frontier
file), so there is always work left when the kill lands.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.scheduler.frontier import frontier_path
from tests.helpers import ROOT, base_url_args, output, start_sweep, sweep, wait_for


def start_crawl(db, sandbox, platform: str, *extra: str) -> subprocess.Popen:
    return start_sweep("crawl", "--db", str(db), "--platform", platform, *base_url_args(sandbox.urls), *extra,
                       log=db.parent / f"crawl-{time.monotonic_ns()}.log")


def frontier_progress(db) -> tuple[int, int]:
    """(requests acknowledged, requests pending) of the crawl in the frontier file."""
    try:
        con = sqlite3.connect(f"file:{frontier_path(db)}?mode=ro", uri=True, timeout=5)
        seen = con.execute("SELECT count(*) FROM seen").fetchone()[0]
        pending = con.execute("SELECT count(*) FROM requests").fetchone()[0]
        con.close()
        return seen - pending, pending
    except sqlite3.Error:
        return 0, 0


def stop_when(proc: subprocess.Popen, db, acknowledged: int, sig: int, timeout: float = 300) -> str:
    def reached() -> bool:
        assert proc.poll() is None, f"the crawl ended before {acknowledged} requests:\n{output(proc)[-3000:]}"
        return frontier_progress(db)[0] >= acknowledged

    wait_for(reached, timeout, interval=0.02, what=f"{acknowledged} acknowledged requests")
    if sig == signal.SIGKILL:
        os.killpg(proc.pid, signal.SIGKILL)      # the crawl and its classifier process, as a dying machine would
    else:
        proc.send_signal(sig)                    # Ctrl-C: Scrapy's graceful shutdown
    proc.wait(timeout=120)
    return output(proc)


def platform_truth(catalogue, platform: str) -> set[str]:
    return {key for key in catalogue.ground_truth() if key.startswith(f"{platform}:")}


def assert_stored_exactly_once(db, expected: set[str]) -> None:
    con = sqlite3.connect(db)
    ids = [r[0] for r in con.execute("SELECT id FROM listings")]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected, f"missing {sorted(expected - set(ids))[:10]}, extra {sorted(set(ids) - expected)[:10]}"
    # one version and one classification each: nothing was written twice by a refetch
    assert con.execute("SELECT count(*) FROM listing_versions").fetchone()[0] == len(expected)
    assert con.execute("SELECT count(*) FROM classifications").fetchone()[0] == len(expected)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


# The forum: threads span pages, so a listing rides in a request's meta between them; its 307
# listings make more than one store batch, so listing pages are acknowledged mid-crawl.
@pytest.mark.parametrize("sig, points", [(signal.SIGKILL, (60, 300, 550)), (signal.SIGINT, (150, 450))],
                         ids=["SIGKILL", "SIGINT"])
def test_a_crawl_stopped_at_several_points_resumes_to_every_listing_exactly_once(
        sig, points, sandbox, model_path, catalogue, tmp_path):
    platform, db = "forum", tmp_path / "sweep.db"
    for n, point in enumerate(points):
        proc = start_crawl(db, sandbox, platform, *(["--resume"] if n else []))
        err = stop_when(proc, db, point, sig)
        assert proc.returncode != 0
        assert frontier_progress(db)[1] > 0, "nothing left to resume: the kill came too late"
        if sig == signal.SIGINT:
            assert "rerun with --resume" in err
    stored_before = sqlite3.connect(db).execute("SELECT count(*) FROM listings").fetchone()[0]
    truth = platform_truth(catalogue, platform)
    assert stored_before < len(truth)
    out = sweep("crawl", "--db", str(db), "--platform", platform, *base_url_args(sandbox.urls), "--resume")
    assert "resuming" not in out.stdout and "run " in out.stdout
    assert_stored_exactly_once(db, truth)
    assert frontier_progress(db) == (0, 0)               # finished: the frontier forgot the crawl


def test_without_resume_a_crawl_starts_afresh_and_says_what_it_discards(sandbox, model_path, catalogue, tmp_path):
    db = tmp_path / "sweep.db"
    stop_when(start_crawl(db, sandbox, "appstore"), db, 15, signal.SIGKILL)
    proc = sweep("crawl", "--db", str(db), "--platform", "appstore", *base_url_args(sandbox.urls))
    assert "discarding" in proc.stderr and "--resume" in proc.stderr
    assert_stored_exactly_once(db, platform_truth(catalogue, "appstore"))


def test_a_database_locked_by_another_process_is_waited_out(sandbox, model_path, catalogue, tmp_path):
    db = tmp_path / "sweep.db"
    log = open(tmp_path / "crawl.log", "w+")                 # a file: read while the crawl runs, never a full pipe
    crawl = subprocess.Popen(
        [sys.executable, "-m", "scrapy", "crawl", "forum", "-a", "profile=forum", "-a",
         f"base_url={sandbox.urls['forum']}", "-s", f"SWEEP_DB={db}", "-s", "SWEEP_STORE_BATCH=40",
         "-s", "SWEEP_STORE_BUSY_TIMEOUT=0.5", "-s", "SWEEP_STORE_RETRIES=100", "-s",
         "LOG_LEVEL=WARNING"],
        cwd=ROOT, text=True, stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "PYTHONPATH": str(ROOT)})

    def stored(n: int):
        def enough() -> bool:
            assert crawl.poll() is None, "the crawl ended early"
            try:
                return sqlite3.connect(db).execute("SELECT count(*) FROM listings").fetchone()[0] >= n
            except sqlite3.Error:
                return False
        return enough

    def noticed() -> bool:
        assert crawl.poll() is None, "the crawl ended while the database was locked"
        return "is locked by another process" in Path(log.name).read_text()

    wait_for(stored(40), 300, what="the crawl's first batch")
    holder = sqlite3.connect(db, isolation_level=None)       # another process's view: its own connection and lock
    holder.execute("BEGIN IMMEDIATE")
    wait_for(noticed, 120, what="the crawl to find the database locked")     # held past a busy timeout
    holder.execute("COMMIT")
    holder.close()
    crawl.wait(timeout=300)
    err = Path(log.name).read_text()
    assert crawl.returncode == 0, err[-3000:]
    assert "is locked by another process" in err and "listings kept" in err
    run = sqlite3.connect(db).execute("SELECT outcome, stats FROM crawl_runs").fetchone()
    assert run[0] == "ok" and json.loads(run[1])["platforms"]["forum"]["sweep/store/locked"] >= 1
    assert_stored_exactly_once(db, platform_truth(catalogue, "forum"))


@pytest.fixture
def small_disk(tmp_path):
    """A real 2 MB filesystem (tmpfs): a forum crawl fills it up half-way."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill up here (needs root): {proc.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_stops_the_crawl_cleanly_and_resume_stores_the_rest(small_disk, sandbox, model_path, catalogue):
    db = small_disk / "sweep.db"
    first = sweep("crawl", "--db", str(db), "--platform", "forum", *base_url_args(sandbox.urls), check=False)
    assert first.returncode != 0
    assert "the disk is full" in first.stderr and "stopping the crawl" in first.stderr
    assert "rerun with --resume" in first.stderr.splitlines()[-1]      # the CLI's own closing error says what to do
    assert "sqlite3.OperationalError" not in first.stderr          # a clear message, not a crash
    con = sqlite3.connect(db)
    stored = con.execute("SELECT count(*) FROM listings").fetchone()[0]
    assert stored < len(platform_truth(catalogue, "forum"))
    # nothing half-written: whole batches only, each listing with its version and classification
    assert con.execute("SELECT count(*) FROM listing_versions").fetchone()[0] == stored
    assert con.execute("SELECT count(*) FROM classifications").fetchone()[0] == stored
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)     # space freed
    sweep("crawl", "--db", str(db), "--platform", "forum", *base_url_args(sandbox.urls), "--resume")
    assert_stored_exactly_once(db, platform_truth(catalogue, "forum"))
