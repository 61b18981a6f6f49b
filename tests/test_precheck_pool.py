"""precheck/pool.py: checks micro-batched in a worker process decide exactly as one model call per
listing in the server did (the sandbox catalogue, on real uvicorn), and a dead worker is a 503, then replaced."""
from __future__ import annotations

import os
import signal
import threading

import pytest
import requests

from tests.fixtures_review import serving


def _seed(path, rows):
    """Every 4th harmful catalogue row confirmed by a reviewer, so the banks have contacts, sellers and texts."""
    from crawler.items import Listing
    from crawler.pipelines.normalise import NormalisePipeline
    from store.db import open_db
    from store.listings import Store
    from store.states import transition

    store = Store(open_db(path))
    items = []
    for i, row in enumerate(rows):
        if row["label"] == "benign" or i % 4:
            continue
        item = NormalisePipeline().process_item(Listing(
            id=f"marketplace:c{i}", platform="marketplace", platform_id=f"c{i}", kind="ecommerce",
            url=f"http://127.0.0.1:9/item/c{i}", title=row["title"], description=row["description"],
            seller_id=f"seller{i}", crawled_at="2026-11-27T00:00:00+00:00"))
        item.classification = {"label": row["label"], "score": 0.9, "flagged": True, "scores": {}, "explanation": [],
                               "model_version": "test"}
        items.append(item)
    store.write_batch(items, run_id=None)
    with store.db.conn:
        for item in items:
            transition(store.db.conn, item.id, "confirmed", "alice", "catalogue")
    store.db.close()
    return len(items)


def _listings(rows):
    out = []
    for i, row in enumerate(rows):
        listing = {"id": f"r{i}", "title": row["title"], "description": row["description"], "kind": row["kind"]}
        if i % 5 == 0:                                       # some sellers are banked ones
            listing.update(platform="marketplace", seller=f"seller{i - i % 8}")
        out.append(listing)
    return out


@pytest.fixture
def pooled(tmp_path, model_path):
    from common.config import Config
    from precheck.api import build_service, create_app
    from precheck.keys import add_key
    from sandbox.catalogue import load_rows
    from store.accounts import accounts_path, open_accounts

    rows = load_rows()[::3]
    db = tmp_path / "sweep.db"
    assert _seed(db, rows) >= 20
    accounts = open_accounts(accounts_path(db))
    key = add_key(accounts, "main", 1e6)
    accounts.close()
    service = build_service(str(db), Config({"check": {"workers": 1, "sample_allow": 0.0}}), str(model_path))
    with serving(create_app(service)) as url:
        yield url, {"Authorization": f"Bearer {key}"}, db, service, _listings(rows)
    service.close()


def _same(got: dict, want: dict, where: str) -> None:
    assert got["decision"] == want["decision"] and got["label"] == want["label"], (where, got, want)
    assert abs(got["score"] - want["score"]) <= 1e-4, (where, got["score"], want["score"])
    assert got["matches"] == want["matches"] and got["reasons"] == want["reasons"], where
    assert got.get("id") == want.get("id")


def test_coalesced_worker_checks_decide_as_one_call_per_listing(pooled, model_path):
    from precheck.setup import make_checker

    url, headers, db, service, listings = pooled
    checker, _, _ = make_checker(str(db), {}, str(model_path))
    # The path before the pool: the server called the model once per single check.
    want = [checker.check([listing])[0] for listing in listings]
    decisions = {w["decision"] for w in want}
    assert decisions == {"allow", "review", "block"}, decisions
    assert {m["type"] for w in want for m in w["matches"]} >= {"contact", "seller", "signature"}

    got: dict[int, dict] = {}
    errors = []

    def singles(offset):
        session = requests.Session()
        for i in range(offset, len(listings), 8):
            r = session.post(url + "/v1/check", json=listings[i], headers=headers, timeout=120)
            if r.status_code != 200:
                errors.append(r.text)
            else:
                got[i] = r.json()

    threads = [threading.Thread(target=singles, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    batch = requests.post(url + "/v1/check/batch", json={"listings": listings}, headers=headers, timeout=300)
    for t in threads:
        t.join()
    assert not errors and batch.status_code == 200, (errors[:2], batch.text[:300])
    assert len(got) == len(listings)
    for i, w in enumerate(want):
        _same(got[i], w, f"single {i}")
        _same(batch.json()["results"][i], w, f"batch {i}")
    health = requests.get(url + "/healthz", timeout=10).json()
    assert health["workers"] == 1 and health["banks"]["signature"] >= 20
    # Concurrent singles shared model calls: fewer calls than requests.
    assert health["model_calls"]["coalesced"] > 0
    assert health["model_calls"]["calls"] + health["model_calls"]["coalesced"] == len(listings) + 1


def test_a_dead_worker_is_a_503_then_replaced(pooled):
    url, headers, _, service, listings = pooled
    first = requests.post(url + "/v1/check", json=listings[0], headers=headers, timeout=60)
    assert first.status_code == 200
    (pid,) = service.checker.worker_pids
    os.kill(pid, signal.SIGKILL)
    lost = requests.post(url + "/v1/check", json=listings[0], headers=headers, timeout=120)
    assert lost.status_code == 503, lost.text
    assert lost.json()["error"]["code"] == "unavailable" and lost.headers["Retry-After"] == "1"
    again = requests.post(url + "/v1/check", json=listings[0], headers=headers, timeout=120)
    assert again.status_code == 200 and again.json() == first.json()
    assert service.checker.worker_pids and pid not in service.checker.worker_pids


def test_a_cancelled_check_is_skipped_and_the_runner_carries_on(tmp_path, model_path):
    """A client that hangs up cancels its check while it waits; the runner must skip it, not die on it."""
    from precheck.pool import CheckPool
    from sandbox.catalogue import load_rows

    rows = load_rows()[::3]
    _seed(tmp_path / "sweep.db", rows)
    listings = _listings(rows)
    pool = CheckPool({"db_path": str(tmp_path / "sweep.db"), "config": {}, "model_path": str(model_path)}, 0)
    try:
        busy = pool.submit(listings)                  # a few hundred listings: the runner is busy a while
        gone = pool.submit(listings[:1])
        assert gone.cancel()                          # still queued behind the batch
        after = pool.submit(listings[1:2])
        assert len(busy.result(60)) == len(listings) and after.result(60)[0]["id"] == "r1"
        assert gone.cancelled() and pool.stats["calls"] + pool.stats["coalesced"] == 2
    finally:
        pool.close()
