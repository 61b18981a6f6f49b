"""Classifier worker processes die with their parent (classifier/die_with_parent.py): a real `sweep crawl`
of the sandbox and a real `sweep classify --workers 2`, each killed with SIGKILL while its model
processes are alive; every one of those is gone soon after, instead of living on as an orphan."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys

import psutil
import pytest

from tests.helpers import ROOT, base_url_args, start_sweep as start, wait_for


def model_workers(proc: subprocess.Popen) -> list[psutil.Process]:
    """The pool's workers: forked children running the parent's own command line."""
    parent = psutil.Process(proc.pid)
    try:
        cmdline = parent.cmdline()
        return [c for c in parent.children() if c.cmdline() == cmdline]
    except psutil.NoSuchProcess:
        return []


def gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE     # dead, not reaped yet by whoever adopted it
    except psutil.NoSuchProcess:
        return True


def kill_and_expect_orphans_to_exit(proc: subprocess.Popen, workers: list[psutil.Process]) -> None:
    try:
        assert proc.poll() is None, "it finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)              # the parent alone: no chance to shut its pool down
        proc.wait(10)
        wait_for(lambda: all(gone(w) for w in workers), 15, what=f"workers {[w.pid for w in workers]} exit")
    finally:
        for w in workers:
            if not gone(w):
                w.kill()
        try:
            os.killpg(proc.pid, signal.SIGKILL)        # whatever else the crawl started (Chromium)
        except ProcessLookupError:
            pass


def stored(db) -> int:
    try:
        return sqlite3.connect(db).execute("SELECT count(*) FROM listings").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_crawl_killed_mid_crawl_takes_its_classifier_worker_with_it(sandbox, model_path, tmp_path):
    db = tmp_path / "sweep.db"
    proc = start("crawl", "--db", str(db), *base_url_args(sandbox.urls), stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)
    workers = wait_for(lambda: model_workers(proc), 120, what="the crawl starts its classifier worker")
    wait_for(lambda: stored(db) > 0, 120, what="the crawl stores its first listings")       # mid-crawl
    kill_and_expect_orphans_to_exit(proc, workers)


def test_sweep_classify_killed_takes_its_workers_with_it(model_path, tmp_path):
    proc = start("classify", "--in", "-", "--out", str(tmp_path / "out.jsonl"), "--workers", "2",
                 stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    line = json.dumps({"title": "二手手机 九成新", "description": "自用一年，无拆修，微信 abc_demo"},
                      ensure_ascii=False)
    proc.stdin.write(((line + "\n") * 300).encode())     # more than one batch: the pool starts; stdin stays open
    proc.stdin.flush()
    workers = wait_for(lambda: len(model_workers(proc)) == 2 and model_workers(proc), 60, what="two workers start")
    kill_and_expect_orphans_to_exit(proc, workers)
    proc.stdin.close()


@pytest.mark.parametrize("parent_pid_matches", [True, False])
def test_a_worker_whose_parent_is_already_gone_exits_at_once(parent_pid_matches):
    code = ("import os, sys; from classifier.die_with_parent import die_with_parent; "
            f"die_with_parent(os.getppid() + {0 if parent_pid_matches else 1}); print('alive')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (out.returncode, out.stdout.strip()) == ((0, "alive") if parent_pid_matches else (1, ""))
