"""`sweep check-stream`: a Redis Stream consumer group on a real Redis; a consumer killed with SIGKILL
mid-batch leaves its entries pending and the others take them over — each decided exactly once."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import redis

from tests.conftest import ROOT
from tests.test_precheck_api import _seed

N = 1000


def _consumer(db, url, name, *extra):
    return subprocess.Popen([sys.executable, "-m", "cli", "check-stream", "--db", str(db), "--redis", url,
                             "--prefix", "t", "--consumer", name, *extra],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_killed_consumer_entries_are_claimed_and_decided_once(tmp_path, redis_url, model_path):
    db = tmp_path / "sweep.db"
    _seed(db)
    server = redis.Redis.from_url(redis_url)
    ids = []
    pipe = server.pipeline()
    for i in range(N):
        listing = {"title": f"二手 自行车 {i}", "description": "同城自提"} if i % 10 else \
            {"title": "闲置", "description": f"有意 QQ 123451234 编号{i}"}
        pipe.xadd("t:check:in", {"listing": json.dumps(listing, ensure_ascii=False)})
    pipe.xadd("t:check:in", {"listing": b"\x80\x03cos\nsystem\n"})          # a pickle: never run, reported
    pipe.xadd("t:check:in", {"other": "x"})
    ids = [i.decode() for i in pipe.execute()]

    a = _consumer(db, redis_url, "A", "--batch", str(N))     # takes everything at once
    try:
        deadline = time.monotonic() + 120
        while True:            # A has read the entries (they are pending on it) and not yet answered them
            assert a.poll() is None, a.stderr.read()
            consumers = {c["name"]: c["pending"] for c in server.xinfo_consumers("t:check:in", "t:check")} \
                if server.exists("t:check:in") and server.xinfo_groups("t:check:in") else {}
            if consumers.get(b"A" if isinstance(next(iter(consumers), ""), bytes) else "A", 0) > 0:
                break
            assert time.monotonic() < deadline, "consumer A never read the stream"
            time.sleep(0.002)
        a.send_signal(signal.SIGKILL)
        a.wait(10)
    finally:
        if a.poll() is None:
            a.kill()
    written_by_a = server.xlen("t:check:out") if server.exists("t:check:out") else 0
    assert written_by_a < len(ids), "A finished before it was killed; the test proves nothing"
    left_by_a = server.xpending("t:check:in", "t:check")["pending"]
    assert left_by_a > 0

    others = [_consumer(db, redis_url, name, "--batch", "100", "--claim-idle", "2", "--exit-when-idle", "3")
              for name in ("B", "C")]
    outputs = [p.communicate(timeout=300) for p in others]
    assert all(p.returncode == 0 for p in others), outputs

    out = server.xrange("t:check:out")
    entries = [e[1][b"entry"].decode() for e in out]
    assert sorted(entries) == sorted(ids), "every entry decided exactly once"
    assert server.xpending("t:check:in", "t:check")["pending"] == 0
    claimed = sum(int(o[0].split(", ")[2].split()[0]) for o in outputs)
    assert claimed >= left_by_a
    by_entry = {e[1][b"entry"].decode(): e[1] for e in out}
    assert b"error" in by_entry[ids[-1]] and b"error" in by_entry[ids[-2]]
    decisions = [json.loads(by_entry[i][b"decision"]) for i in ids[:N]]
    assert [d["decision"] for d in decisions[::10]] == ["block"] * (N // 10)
    assert all(d["decision"] == "allow" for j, d in enumerate(decisions) if j % 10)


def test_a_slow_consumer_drops_answers_to_entries_taken_over(redis_url, model_path):
    from classifier.predict import Classifier
    from precheck.banks import Banks
    from precheck.decide import Checker
    from precheck.stream import StreamChecker

    server = redis.Redis.from_url(redis_url)
    checker = Checker(Classifier.load(model_path), Banks())
    slow = StreamChecker(server, checker, prefix="o", consumer="slow", claim_idle_ms=0)
    quick = StreamChecker(server, checker, prefix="o", consumer="quick", claim_idle_ms=0)
    for i in range(5):
        server.xadd("o:check:in", {"listing": json.dumps({"title": f"二手 自行车 {i}"}, ensure_ascii=False)})
    taken = slow._read()                       # read, then stalled (a long GC pause, a slow disk ...)
    assert len(taken) == 5
    assert quick.step() == 5                   # took them over and answered
    assert slow.answer(taken) == 5 and slow.counts["lost"] == 5
    assert server.xlen("o:check:out") == 5, "the stalled consumer's answers are dropped, not duplicated"
    assert server.xpending("o:check:in", "o:check")["pending"] == 0
