"""Nothing read from Redis runs code (crawler/distributed/wire.py, request_codec.py, listing_codec.py):
a real redis-server, real `sweep worker` crawls of the sandbox, a real `sweep ingest`.

A pickle that would create a marker file, malformed JSON, unknown callbacks, keys and types are
pushed where workers and ingest read: none is executed, each is counted and set aside, and the
crawl still stores every listing. Every request the spiders really make — on the clean sandbox and
through retries, redirects and browser retries on the fault sandbox — survives the JSON round trip
unchanged, so nothing is left out of the shared queue."""
from __future__ import annotations

import json
import os
import pickle
import re
import sqlite3
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from crawler.distributed.keys import Keys
from crawler.distributed.request_codec import RequestCodec
from crawler.distributed.scheduler import ReliableScheduler
from crawler.distributed.wire import Rejected
from crawler.items import Listing
from crawler.spiders.forum import ForumSpider
from crawler.distributed.ingest import Ingest
from tests.helpers import ROOT, base_url_args, sweep
from tests.fixtures_faults import write_profile

KEYS = Keys("sweep")


class Plant:
    """A pickle that runs a shell command when loaded — what an attacker would push."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def planted(marker: Path) -> bytes:
    return pickle.dumps(Plant(marker), protocol=4)


def test_the_planted_pickle_is_live(tmp_path):
    """The payload the tests push would run its command if unpickled (so their checks have teeth)."""
    marker = tmp_path / "ran"
    subprocess.run([sys.executable, "-c", "import pickle, sys; pickle.loads(sys.stdin.buffer.read())"],
                   input=planted(marker), check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert marker.exists()


# -- the request queue -------------------------------------------------------------------------------
class ForumOnly(ForumSpider):
    def __init__(self):          # the codec needs only the spider's methods and REQUEST_CALLBACKS
        pass


@pytest.mark.parametrize("entry, reason", [
    ({"url": "file:///etc/passwd", "callback": "parse_list"}, "bad_value"),
    ({"url": "http://[::1/", "callback": "parse_list"}, "bad_value"),                  # Scrapy refuses the URL
    ({"url": "http://forum.example/", "method": "DELETE"}, "bad_value"),
    ({"url": "http://forum.example/", "callback": "_malformed"}, "unknown_callback"),  # a method, not a callback
    ({"url": "http://forum.example/", "cb_kwargs": {"x": 1}}, "unknown_key"),
    ({"url": "http://forum.example/", "meta": {"playwright_page_methods": [
        {"method": "evaluate", "args": ["fetch('http://10.0.0.1/')"]}]}}, "bad_value"),  # only waiting
    ({"url": "http://forum.example/", "meta": {"playwright_context_kwargs": {"proxy": {}}}}, "unknown_key"),
    ({"url": "http://forum.example/", "meta": {"browser_fallback": {
        "body": "not base64!", "encoding": "utf-8", "content_type": "text/html"}}}, "bad_value"),
    ({"url": "http://forum.example/", "meta": {"listing": {"id": "forum:1"}}}, "missing_key"),
    ({"method": "GET"}, "missing_key"),
])
def test_what_a_request_may_not_carry(entry, reason):
    with pytest.raises(Rejected) as rejected:
        RequestCodec(ForumOnly()).decode(json.dumps(entry).encode())
    assert rejected.value.reason == reason, rejected.value


def hostile_requests(marker: Path, base: str) -> dict[str, bytes]:
    ok = {"url": f"{base}/forum-2-1.html", "callback": "parse_list", "meta": {"list_page": 1}}
    return {
        "pickle": planted(marker),
        "not_json": b'{"url": "' + base.encode() + b'/x", "callback": ',
        "unknown_callback": json.dumps({**ok, "callback": "__init__"}).encode(),
        "unknown_key": json.dumps({**ok, "meta": {"proxy": "http://proxy.example:8080"}}).encode(),
        "bad_value": json.dumps({**ok, "meta": {"playwright_page_init_callback": "os.system"}}).encode(),
        "bad_type": json.dumps({**ok, "priority": "high"}).encode(),
    }


def run(tmp_path: Path, name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return sweep(*args, check=False, timeout=timeout, log=tmp_path / f"{name}.log")


def test_hostile_queue_entries_are_rejected_unexecuted_and_the_crawl_completes(
        redis_url, sandbox, catalogue, model_path, tmp_path):
    import redis as redis_lib

    redis = redis_lib.Redis.from_url(redis_url)
    marker = tmp_path / "pwned"
    bad = hostile_requests(marker, sandbox.urls["forum"])
    redis.lpush(KEYS.requests("forum"), *bad.values())
    redis.rpush(KEYS.items, planted(marker), b"[not json")          # and two where ingest reads
    worker = run(tmp_path, "worker", "worker", "--redis", redis_url, "--platform", "forum",
                 *base_url_args({"forum": sandbox.urls["forum"]}))
    assert worker.returncode == 0, worker.stderr[-3000:]
    assert "forum: " in worker.stdout and "6 queue entries rejected" in worker.stdout, worker.stdout
    for reason in bad:              # one line per reason, naming it
        assert len(re.findall(rf"rejected a request from Redis .*\({reason}: ", worker.stderr)) == 1, worker.stderr
    db = tmp_path / "sweep.db"
    ingest = run(tmp_path, "ingest", "ingest", "--redis", redis_url, "--db", str(db), "--exit-when-idle", "1")
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    assert not marker.exists()
    assert redis.llen(KEYS.rejected) == 8
    con = sqlite3.connect(db)
    ids = {r[0] for r in con.execute("SELECT id FROM listings")}
    assert ids == {k for k in catalogue.ground_truth() if k.startswith("forum:")}
    stats = json.loads(con.execute("SELECT stats FROM crawl_runs").fetchone()[0])
    assert stats["sweep/redis/rejected/pickle"] == 1 and stats["sweep/redis/rejected/not_json"] == 1


# -- the listings list ---------------------------------------------------------------------------------
def test_ingest_rejects_what_is_not_a_listing_and_stores_the_rest(redis_url, catalogue, model_path, tmp_path):
    import redis as redis_lib

    redis = redis_lib.Redis.from_url(redis_url)
    marker = tmp_path / "pwned"
    rows = [asdict(Listing(r.key, r.platform, r.pid, r.kind, f"http://127.0.0.1/thread-{r.pid}-1-1.html",
                           title=r.title, description=r.description, crawled_at="2025-01-01T00:00:00+00:00"))
            for r in list(catalogue.threads.values())[:4]]
    hostile = [planted(marker), b"\xff\xfe not utf-8", json.dumps([rows[0]]).encode(),
               json.dumps({**rows[0], "status": "confirmed"}).encode(),             # a value ingest sets itself
               json.dumps({**rows[0], "__class__": "os.system"}).encode(),
               json.dumps({**rows[0], "images": "http://127.0.0.1/a.png"}).encode(),
               json.dumps({**rows[0], "price": float("nan")}).encode(), b"[" * 100_000]
    redis.rpush(KEYS.items, *[json.dumps(r, ensure_ascii=False) for r in rows[:2]], *hostile,
                *[json.dumps(r, ensure_ascii=False) for r in rows[2:]])
    redis.hset(KEYS.platforms, mapping={"forum": planted(marker)})
    ingest = Ingest(redis, str(tmp_path / "sweep.db"), str(model_path), KEYS)
    ingest.open()
    while ingest.step(wait=0):
        pass
    stats = dict(ingest.run_stats)
    ingest.close()
    assert not marker.exists()
    con = sqlite3.connect(tmp_path / "sweep.db")
    assert {r[0] for r in con.execute("SELECT id FROM listings")} == {r["id"] for r in rows}
    rejected = {k.rsplit("/", 1)[1]: v for k, v in stats.items() if k.startswith("sweep/redis/rejected/")}
    assert rejected == {"pickle": 2, "not_json": 4, "bad_value": 1, "unknown_key": 1, "bad_type": 1}
    assert redis.llen(KEYS.rejected) == len(hostile) + 1
    assert redis.llen(KEYS.items) == redis.llen(KEYS.items_processing) == 0


# -- every real request round-trips --------------------------------------------------------------------
def _plain(value):
    if isinstance(value, Listing):
        return asdict(value)
    if type(value).__name__ == "PageMethod":
        return ("PageMethod", value.method, value.args, value.kwargs)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class RoundTripScheduler(ReliableScheduler):
    """The worker's scheduler, checking that each request it queues reads back as it was."""

    def open(self, spider):
        super().open(spider)
        codec, stats = self.queue.codec, self.stats

        class Checking:
            def encode(self, request):
                data = codec.encode(request)
                back = codec.decode(data)
                stats.inc_value("roundtrip/checked")
                for key in request.meta:
                    stats.inc_value(f"roundtrip/meta/{key}")
                if _plain(back.to_dict(spider=spider)) != _plain(request.to_dict(spider=spider)):
                    stats.inc_value("roundtrip/changed")
                    print("CHANGED", request.to_dict(spider=spider), back.to_dict(spider=spider), flush=True)
                return data

            decode = staticmethod(codec.decode)

        self.queue.codec = Checking()


CRAWL = """
import json, sys
from crawler.distributed.settings import worker_settings
from crawler.profile import load_profiles
from crawler.run import crawl
redis_url, urls, profiles, overrides = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
settings = worker_settings(redis_url, urls, profiles, {
    "SCHEDULER": "tests.test_crawler_distributed_wire.RoundTripScheduler", "LOG_LEVEL": "WARNING",
    "SWEEP_PROGRESS_INTERVAL": 0, **overrides})
stats = crawl(load_profiles(profiles, list(urls)), settings)
print("STATS", json.dumps({name: {k: v for k, v in s.items() if isinstance(v, (int, float, str))}
                           for name, s in stats.items()}))
"""


def crawl_checking(redis_url: str, urls: dict, profiles: Path, overrides: dict | None = None) -> dict:
    proc = subprocess.run([sys.executable, "-c", CRAWL, redis_url, json.dumps(urls), str(profiles),
                           json.dumps(overrides or {})], cwd=ROOT, text=True, capture_output=True, timeout=400,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "CHANGED" not in proc.stdout, proc.stdout[:3000]
    return json.loads(proc.stdout.rpartition("STATS ")[2])


@pytest.mark.browser
def test_every_request_the_spiders_make_round_trips_unchanged(redis_url, sandbox, fault_sandbox, tmp_path):
    stats = crawl_checking(redis_url, sandbox.urls, ROOT / "crawler" / "profiles")
    for name, s in stats.items():
        assert s["finish_reason"] == "finished"
        assert s["roundtrip/checked"] > 20 and not s.get("roundtrip/changed"), (name, s)
        assert not s.get("scheduler/unserializable"), (name, s)      # nothing had to stay in one worker's memory
    assert stats["marketplace"]["roundtrip/meta/browser_fallback"] > 0       # rendered pages, with page bytes
    assert stats["marketplace"]["roundtrip/meta/playwright_page_methods"] > 0
    assert stats["forum"]["roundtrip/meta/listing"] > 0                        # thread pages carry their listing
    assert stats["codehost"]["roundtrip/meta/attachments_left"] > 0           # config files read after the repo page
    # Retries, redirects and browser retries carry more meta: the fault sandbox makes them.
    profiles = tmp_path / "profiles"
    write_profile(profiles, "marketplace", "kinds=redirect-chain,truncated,crash-once&lists=truncated&normal=2&js=1",
                  browser={"when": "css:div#desc[data-render=js]", "wait_for": "css:div#desc.loaded",
                           "timeout_ms": 6000})
    s = crawl_checking(redis_url, {"marketplace": fault_sandbox.urls["marketplace"]}, profiles,
                       {"DOWNLOAD_TIMEOUT": 3, "RETRY_TIMES": 1})["marketplace"]
    assert s["retry/count"] >= 1 and s["sweep/faults/browser_retried"] >= 1
    assert s.get("downloader/response_status_count/302")
    assert not s.get("roundtrip/changed") and not s.get("scheduler/unserializable"), s
    for key in ("retry_times", "redirect_urls", "redirect_reasons", "browser_retries", "playwright_page_init_callback",
                "download_timeout", "depth"):
        assert s.get(f"roundtrip/meta/{key}"), (key, sorted(k for k in s if k.startswith("roundtrip/")))
