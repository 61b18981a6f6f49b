"""The cycle lock in the database: refused while a live holder has it, taken over from a killed
process (really killed) or from one whose heartbeat went quiet, and lost when taken over."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from common.clock import ManualClock
from ops.lock import DatabaseLock, LockHeld, process_alive, read_holder
from tests.conftest import ROOT

T0 = datetime(2025, 1, 1, 6, 0, tzinfo=UTC)


HOLDER = """
import sys, time
from common.clock import ManualClock
from ops.lock import DatabaseLock
lock = DatabaseLock(sys.argv[1], "cycle", heartbeat=0, purpose="test holder")
lock.acquire()
print("held", flush=True)
time.sleep(120)      # killed by the test long before
"""


@pytest.fixture
def holder_process(tmp_path):
    db = tmp_path / "lock.db"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(db)], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout.readline().strip() == "held"
        yield db, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_second_holder_is_refused_until_release(tmp_path):
    db = tmp_path / "lock.db"
    first = DatabaseLock(db, purpose="cycle 1")
    assert first.acquire() is None
    with pytest.raises(LockHeld) as refused:
        DatabaseLock(db).acquire()
    assert refused.value.holder.pid == os.getpid() and "cycle 1" in str(refused.value)
    first.release()
    assert read_holder(db) is None
    with DatabaseLock(db) as second:
        assert read_holder(db).token == second.token


def test_lock_of_a_live_process_is_refused(holder_process):
    db, proc = holder_process
    with pytest.raises(LockHeld) as refused:
        DatabaseLock(db).acquire()
    assert refused.value.holder.pid == proc.pid


def test_lock_of_a_killed_process_is_taken_over(holder_process):
    db, proc = holder_process
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not process_alive(proc.pid)
    lock = DatabaseLock(db)
    stale = lock.acquire()                       # heartbeat is fresh: the dead pid alone makes it stale
    assert stale is not None and stale.pid == proc.pid and stale.purpose == "test holder"
    assert read_holder(db).pid == os.getpid()
    lock.release()


def test_a_killed_but_unreaped_process_counts_as_dead(tmp_path):
    db = tmp_path / "lock.db"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(db)], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout.readline().strip() == "held"
        os.kill(proc.pid, signal.SIGKILL)
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)     # dead, still a zombie (not reaped)
        assert DatabaseLock(db).acquire().pid == proc.pid
    finally:
        proc.wait()


def test_a_quiet_heartbeat_is_taken_over_and_the_old_holder_learns_it_lost(tmp_path):
    db = tmp_path / "lock.db"
    clock = ManualClock(T0)
    old = DatabaseLock(db, stale_after=600, heartbeat=0, clock=clock)
    old.acquire()
    clock.advance(seconds=599)
    with pytest.raises(LockHeld):
        DatabaseLock(db, stale_after=600, clock=clock).acquire()      # this process is alive and not quiet yet
    clock.advance(seconds=2)
    new = DatabaseLock(db, stale_after=600, clock=clock)
    assert new.acquire().token == old.token
    assert old.beat() is False and old.lost
    old.release()                                  # releasing a lost lock leaves the new holder alone
    assert read_holder(db).token == new.token


def test_a_reused_pid_is_not_mistaken_for_the_holder(tmp_path):
    db = tmp_path / "lock.db"
    DatabaseLock(db).acquire()
    con = sqlite3.connect(db)
    con.execute("UPDATE locks SET pid_started = pid_started - 1000")      # same pid, another process's start time
    con.commit()
    con.close()
    assert DatabaseLock(db).acquire() is not None


def test_heartbeat_thread_keeps_the_lock_fresh(tmp_path):
    db = tmp_path / "lock.db"
    beaten = threading.Event()

    ticks = iter(range(1000))

    def ticking() -> datetime:                 # a plain callable clock: a minute further at every call
        now = T0 + timedelta(minutes=next(ticks))
        if now > T0 + timedelta(minutes=3):
            beaten.set()
        return now

    lock = DatabaseLock(db, heartbeat=0.02, clock=ticking)
    with lock:
        assert beaten.wait(10)
        heartbeat = datetime.fromisoformat(read_holder(db).heartbeat_at)
        assert heartbeat > datetime.fromisoformat(read_holder(db).acquired_at)
    assert not lock.lost and read_holder(db) is None
