"""The test suite's own helpers and tiers (tests/helpers.py, tests/conftest.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import MARKED
from tests.helpers import ROOT, wait_for


def test_wait_for_returns_the_first_truthy_value():
    calls = iter([None, 0, [], "ready"])
    assert wait_for(lambda: next(calls), timeout=5, interval=0) == "ready"


def test_wait_for_fails_at_its_deadline_naming_what_it_waited_for():
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"waited 0\.2s for the moon"):
        wait_for(lambda: False, timeout=0.2, interval=0.01, what="the moon")
    assert time.monotonic() - started >= 0.2


def test_wait_for_stops_at_once_when_the_condition_raises():
    def dead():
        raise AssertionError("the process died")

    started = time.monotonic()
    with pytest.raises(AssertionError, match="the process died"):
        wait_for(dead, timeout=60)
    assert time.monotonic() - started < 30


# Written here by hand, not read from conftest.TIERS: what `make test-fast` must never start.
HEAVY = {"sandbox", "fresh_sandbox", "fault_sandbox", "crawled_db", "probe_site", "browser", "evidenced_db",
         "redis_server", "redis_url", "small_corpus"}
COLLECT = """
import json, sys, pytest
class Probe:
    def pytest_collection_finish(self, session):
        self.items = {i.nodeid: sorted(i.fixturenames) for i in session.items}
probe = Probe()
code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "-m", sys.argv[1], "tests/"], plugins=[probe])
print("FIXTURES", json.dumps(probe.items))
sys.exit(code)
"""


@pytest.mark.slow                    # collects the whole suite
def test_the_fast_tier_starts_no_sandbox_chromium_redis_or_training():
    proc = subprocess.run([sys.executable, "-c", COLLECT, "not (crawl or browser or redis or training or slow)"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    fast = json.loads(proc.stdout.split("FIXTURES ", 1)[1].splitlines()[0])
    assert len(fast) > 1000                          # most of the suite
    assert not {nodeid: HEAVY & set(names) for nodeid, names in fast.items() if HEAVY & set(names)}
    marked = {f"{path}::{name}" for path, tests in MARKED.items() for name in tests}
    assert not {nodeid for nodeid in fast if nodeid.partition("[")[0] in marked}
