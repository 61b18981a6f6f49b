"""One stage list for a crawl and for `sweep ingest`: the same classes in the same order, so a listing
stored by workers + ingest ends exactly as one stored by a local crawl — real sandbox, real Redis,
real `sweep crawl`, `sweep worker` and `sweep ingest` processes."""
from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict

import pytest

from crawler.distributed.ingest import Ingest
from crawler.distributed.keys import Keys
from crawler.items import Listing
from crawler.pipelines import STAGES
from crawler.pipelines.normalise import NormalisePipeline
from crawler.run import crawl_settings
from tests.conftest import sweep
from tests.fixtures_ops import bundled_profile, write_profile

KEYS = Keys("sweep")


def test_the_crawl_and_ingest_run_the_stages_of_one_list_in_its_order(redis_url, model_path, tmp_path):
    import redis as redis_lib

    assert crawl_settings(str(tmp_path / "a.db")).getdict("ITEM_PIPELINES") == dict(STAGES)
    ingest = Ingest(redis_lib.Redis.from_url(redis_url), str(tmp_path / "b.db"), str(model_path), KEYS)
    ingest.open()
    try:
        built = [f"{type(stage).__module__}.{type(stage).__name__}" for stage in ingest.stages]
    finally:
        ingest.close()
    assert built == [path for path, _ in sorted(STAGES, key=lambda stage: stage[1])]
    assert "crawler.pipelines.schema.ListingValidationPipeline" in built


def test_a_worker_runs_the_first_stages_of_the_same_list_then_hands_to_redis():
    from crawler.distributed.settings import worker_settings
    from crawler.pipelines import WORKER_BEFORE

    got = worker_settings().getdict("ITEM_PIPELINES")
    ordered = [path for path, _ in sorted(got.items(), key=lambda kv: kv[1])]
    first = [path for path, order in sorted(STAGES, key=lambda stage: stage[1]) if order < WORKER_BEFORE]
    assert ordered == [*first, "crawler.distributed.pipeline.RedisItemPipeline"]
    assert first == ["crawler.pipelines.validate.ValidatePipeline", "crawler.pipelines.normalise.NormalisePipeline"]


def test_normalising_a_normalised_listing_changes_nothing():
    """A worker normalises, ingest runs the same stages again: a price must survive the second pass."""
    item = Listing("marketplace:1", "marketplace", "1", "ecommerce", "http://127.0.0.1/item/1", title=" 短信 ",
                   description="加微信 abc_demo", price="￥ 99.00/月")
    once = asdict(NormalisePipeline().process_item(item))
    twice = asdict(NormalisePipeline().process_item(Listing(**once)))
    assert once["price_text"] and once["currency"] == "CNY"
    assert twice == once


def hostile(listing_id: str, **fields) -> bytes:
    row = asdict(Listing(listing_id, "forum", listing_id.split(":")[1], "forum",
                         f"http://127.0.0.1/thread-{listing_id.split(':')[1]}-1-1.html", title="代发短信 测试",
                         description="联系 QQ 123450001", crawled_at="2025-01-01T00:00:00+00:00", **fields))
    return json.dumps(row, ensure_ascii=False).encode()


@pytest.mark.parametrize("drop", [False, True])
def test_ingest_checks_each_listing_with_the_crawls_schema_stage(redis_url, model_path, tmp_path, drop):
    """The codec lets a javascript: seller link through (a string); the schema stage flags it, counted in the
    run's stats as a crawl counts it — and dropped when Spidermon is told to drop, as in a crawl."""
    import redis as redis_lib

    server = redis_lib.Redis.from_url(redis_url)
    server.rpush(KEYS.items, hostile("forum:1", seller_url="javascript:alert(1)"), hostile("forum:2"))
    db = tmp_path / "sweep.db"
    ingest = Ingest(server, str(db), str(model_path), KEYS,
                    settings={"SPIDERMON_VALIDATION_DROP_ITEMS_WITH_ERRORS": drop})
    ingest.open()
    while ingest.step(wait=0):
        pass
    stats = dict(ingest.run_stats)
    ingest.close()
    assert stats["spidermon/validation/items"] == 2 and stats["spidermon/validation/items/errors"] == 1
    assert stats["spidermon/validation/fields/errors/regex_not_matched/seller_url"] == 1
    stored = {r[0] for r in sqlite3.connect(db).execute("SELECT id FROM listings")}
    if drop:
        assert stats["spidermon/validation/items/dropped"] == 1 and stored == {"forum:2"}
    else:
        assert stored == {"forum:1", "forum:2"}


# -- the same listings through both paths --------------------------------------------------------------
# Columns that say when or in which run a row was written (or a row id in insertion order): the rest must match.
VARYING = {"first_seen", "last_seen", "last_run_id", "first_run_id", "state_changed_at", "seen_at", "run_id",
           "classified_at"}
TABLES = {"listings": "id", "listing_versions": "listing_id, version", "classifications": "listing_id, version",
          "sellers": "platform, seller_id", "platforms": "name"}


def stored_rows(db) -> dict[str, list]:
    con = sqlite3.connect(db)
    try:
        out = {}
        for table, order in TABLES.items():
            columns = [c[1] for c in con.execute(f"PRAGMA table_info({table})")
                       if c[1] not in VARYING and not (c[1] == "id" and table != "listings")]
            out[table] = con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}").fetchall()
        out["contacts"] = con.execute("SELECT lc.listing_id, c.type, c.value FROM listing_contacts lc JOIN contacts c "
                                      "ON c.id = lc.contact_id ORDER BY 1, 2, 3").fetchall()
        return out
    finally:
        con.close()


@pytest.fixture
def quick_profiles(tmp_path):
    """The marketplace (it has prices; no browser here) and the app store, each searched for one keyword."""
    directory = tmp_path / "profiles"
    directory.mkdir()
    for name, keyword in (("marketplace", "短信"), ("appstore", "猫池")):
        profile = bundled_profile(name)
        profile["seeds"] = {"search": profile["seeds"]["search"], "keywords": [keyword]}
        profile["listing"].pop("browser", None)
        write_profile(directory, profile)
    return directory


def test_a_listing_stored_by_workers_and_ingest_is_the_one_a_local_crawl_stores(
        redis_url, sandbox, model_path, quick_profiles, tmp_path):
    urls = [arg for name in ("marketplace", "appstore") for arg in ("--base-url", f"{name}={sandbox.urls[name]}")]
    local, distributed = tmp_path / "local.db", tmp_path / "distributed.db"
    sweep("crawl", "--db", str(local), "--profiles", str(quick_profiles), *urls)
    sweep("worker", "--redis", redis_url, "--profiles", str(quick_profiles), *urls)
    sweep("ingest", "--redis", redis_url, "--db", str(distributed), "--exit-when-idle", "1")
    a, b = stored_rows(local), stored_rows(distributed)
    assert len(a["listings"]) > 20 and any(row[0].startswith("marketplace:") for row in a["listings"])
    priced = sqlite3.connect(local).execute("SELECT count(*) FROM listings WHERE price_text IS NOT NULL").fetchone()[0]
    assert priced > 0                                      # prices went through both normalisations
    for table in a:
        assert a[table] == b[table], table
