"""Relists: same seller, a shared contact, or near-duplicate text — linked to the taken-down listing."""
from __future__ import annotations

import dataclasses
import time

import requests

from crawler.profile import PROFILE_DIR
from common.clock import ManualClock
from common.config import Config
from store.db import open_db
from takedown.recheck import recheck_due
from takedown.relist import find_relists, link_relists, shingles
from takedown.reports import file_confirmed
from store.states import transition
from tests.fixtures_takedown import seed_db

FAST = Config({"reports": {"capture_evidence": False, "require_evidence": False},
               "platforms": {"marketplace": {"channels": ["sandbox_intake"]}}})
URLS = {"marketplace": "http://127.0.0.1:9", "appstore": "http://127.0.0.1:9", "forum": "http://127.0.0.1:9"}


def _take_down(path, keys, at="2026-11-28T09:00:00+00:00"):
    db = open_db(path)
    with db.conn:
        for key in keys:
            transition(db.conn, key, "reported", "sweep-report", "test")
            db.execute("UPDATE listings SET reported_at = ? WHERE id = ?", [at, key])
    db.close()


def _state(path, key):
    db = open_db(path)
    state = db.execute("SELECT state FROM listings WHERE id = ?", [key]).fetchone()[0]
    db.close()
    return state


def crawl_shop(path, base_url: str, seller_id: str, run_id: int) -> None:
    """Store every listing on a marketplace shop page, extracted by the marketplace profile's page objects."""
    from crawler.extract import ListingPage, ListPage
    from crawler.pipelines.normalise import NormalisePipeline
    from crawler.profile import load_profile
    from store.listings import Store

    profile = load_profile(PROFILE_DIR / "marketplace.yaml").rebase(base_url)
    shop = requests.get(f"{base_url}/shop/{seller_id}")
    store = Store(open_db(path))
    known = {r[0] for r in store.db.execute("SELECT id FROM listings")}
    items = []
    for url in ListPage(shop.url, shop.text, profile).listing_links():
        page = requests.get(url)
        item = ListingPage(page.url, page.text, profile).to_listing()
        if item.id not in known:
            items.append(NormalisePipeline().process_item(item))
    store.write_batch(items, run_id=run_id)
    store.db.close()


def test_shingles_fold_away_what_sellers_vary():
    assert shingles("八口 猫池！") == shingles("八口猫池") == {"八口猫", "口猫池"}
    assert shingles("ＡＢＣＤ") == shingles("abcd")


def test_links_by_seller_contact_and_text_but_not_by_accident(tmp_path, catalogue):
    market = [r for r in catalogue.market.values() if r.label == "modem_pool"]
    origin = market[0]
    handle_origin = dataclasses.replace(market[1], description=market[1].description + " 微信 fakeseller01")
    path = seed_db(tmp_path / "sweep.db", URLS, [origin, handle_origin], state="confirmed", run_id=1)
    _take_down(path, [origin.key, handle_origin.key])

    other = next(r for r in catalogue.market.values() if r.seller_id not in (origin.seller_id, handle_origin.seller_id)
                 and r.label == "benign")
    thread = next(r for r in catalogue.threads.values() if r.label == "benign")
    app = next(r for r in catalogue.apps.values() if r.label == "benign")
    same_seller = dataclasses.replace(market[5], key="marketplace:990001", pid="990001", seller_id=origin.seller_id,
                                      title="全新 多卡 设备 现货")
    shared_contact = dataclasses.replace(thread, key="forum:990002", pid="990002",
                                         description="出 加微信 fakeseller01 详聊")
    near_dup = dataclasses.replace(app, key="appstore:990003", pid="990003", title=origin.title + " Pro",
                                   description=origin.description)
    # The model cleared near_dup (benign): text alone does not make it a relist. A flagged copy is one.
    flagged_app = next(r for r in catalogue.apps.values() if r.label != "benign")
    flagged_dup = dataclasses.replace(flagged_app, key="appstore:990006", pid="990006", seller_id="dev-990006",
                                      title=origin.title + " Max", description=origin.description)
    unrelated = dataclasses.replace(other, key="marketplace:990004", pid="990004")
    same_run = dataclasses.replace(market[6], key="marketplace:990005", pid="990005", seller_id=origin.seller_id)
    seed_db(path, URLS, [same_run], state="flagged", run_id=1)
    seed_db(path, URLS, [same_seller, shared_contact, near_dup, flagged_dup, unrelated], state="flagged", run_id=2)

    links = {link["listing_id"]: link for link in find_relists(open_db(path))}
    assert set(links) == {same_seller.key, shared_contact.key, flagged_dup.key}
    assert links[same_seller.key]["relisted_from"] == origin.key and "same_seller" in links[same_seller.key]["reason"]
    assert links[shared_contact.key]["relisted_from"] == handle_origin.key
    assert links[shared_contact.key]["reason"] == "contact:wechat:fakeseller01"
    assert links[flagged_dup.key]["relisted_from"] == origin.key and links[flagged_dup.key]["score"] >= 0.6
    assert links[flagged_dup.key]["reason"].startswith("text:")

    clock = ManualClock("2026-11-30T00:00:00+00:00")
    assert link_relists(open_db(path), Config(), clock) == 3
    assert link_relists(open_db(path), Config(), clock) == 0                 # linked once
    db = open_db(path)
    rows = {r["listing_id"]: dict(r) for r in db.query("SELECT * FROM relists")}
    assert rows[flagged_dup.key]["linked_at"] == "2026-11-30T00:00:00+00:00"
    states = dict(db.execute("SELECT id, state FROM listings").fetchall())
    assert {states[k] for k in rows} == {"relisted"}
    # Unflagged listings are relists by seller or contact (shared_contact is a benign thread), never by text
    # alone: the benign app that copied the text stays new; unrelated stays.
    assert states[unrelated.key] == "new" and states[same_run.key] == "flagged" and states[near_dup.key] == "new"
    audit = db.execute("SELECT actor, detail FROM audit_log WHERE listing_id = ? AND action LIKE '%->relisted'",
                       [flagged_dup.key]).fetchone()
    assert audit[0] == "sweep-relist" and origin.key in audit[1]
    db.close()


def test_a_taken_down_repository_comes_back_as_a_channel_linked_by_its_drive_link(tmp_path, catalogue):
    """Across platforms and kinds: the channel shares no seller and no text with the repository,
    only the cloud-drive link (and the 提取码 beside it, which is not what joins them)."""
    urls = {**URLS, "codehost": "http://127.0.0.1:9", "social": "http://127.0.0.1:9"}
    repo = catalogue.repos["demo-hzq/hzj-android"]
    channel = catalogue.channels["demo_hongzha_bot"]
    path = seed_db(tmp_path / "sweep.db", urls, [repo], state="confirmed", run_id=1)
    _take_down(path, [repo.key])
    seed_db(path, urls, [channel], state="flagged", run_id=2)
    links = {link["listing_id"]: link for link in find_relists(open_db(path))}
    assert set(links) == {channel.key}
    assert links[channel.key]["relisted_from"] == repo.key
    assert "contact:netdisk:pan.sandbox.test/s/1DemoHzWeb" in links[channel.key]["reason"].split(",")


def test_a_relist_on_the_platform_is_crawled_linked_and_reported_first(tmp_path, fresh_sandbox, catalogue):
    origin = next(r for r in catalogue.market.values() if r.outcome == "relist" and r.label != "benign")
    # Another confirmed listing whose report would otherwise go first (its seller sorts first).
    early = next(r for r in catalogue.market.values() if r.label != "benign" and r.outcome == "never"
                 and r.seller_id < origin.seller_id)
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, [origin])
    clock = ManualClock("2026-11-27T09:00:00+00:00")
    assert file_confirmed(path, FAST, clock)["sent"] == 1
    shop = f"{fresh_sandbox.urls['marketplace']}/shop/{origin.seller_id}"
    deadline = time.monotonic() + 10
    while "新款" not in requests.get(shop).text and time.monotonic() < deadline:        # the sandbox relists it
        time.sleep(0.05)

    # Crawl the seller's shop with the profile's own page objects (the lead's full-loop test runs Scrapy).
    crawl_shop(path, fresh_sandbox.urls["marketplace"], origin.seller_id, run_id=2)

    clock.advance(hours=2)
    assert recheck_due(path, FAST, clock)["relisted"] >= 1
    db = open_db(path)
    clone = db.execute("SELECT id, title FROM listings WHERE title LIKE '%新款'").fetchone()
    link = db.execute("SELECT relisted_from, reason FROM relists WHERE listing_id = ?", [clone[0]]).fetchone()
    assert link[0] == origin.key and "same_seller" in link[1] and "text:" in link[1]
    assert _state(path, clone[0]) == "relisted"

    # Reviewer confirms the relist; with another confirmed listing waiting, the relist is filed first.
    seed_db(path, fresh_sandbox.urls, [early])
    with db.conn:
        transition(db.conn, clone[0], "confirmed", "reviewer@example.org", "relist of a removed 猫池 listing")
    db.close()
    assert file_confirmed(path, FAST, clock)["sent"] == 2
    received = requests.get(fresh_sandbox.urls["marketplace"] + "/api/reports").json()
    assert [r["listings"] for r in received[1:]] == [[clone[0]], [early.key]]


def test_matching_is_incremental_and_the_stored_index_follows_takedowns(tmp_path, catalogue, monkeypatch):
    """A second run reads only what changed; a newly taken-down listing finds its earlier look-alike by
    seller; the stored LSH index is reused, and rebuilt only when its parameters change."""
    import takedown.relist as relist

    market = [r for r in catalogue.market.values() if r.label == "modem_pool"]
    origin, later_origin = market[0], market[1]
    path = seed_db(tmp_path / "sweep.db", URLS, [origin, later_origin], state="confirmed", run_id=1)
    _take_down(path, [origin.key])
    waiting = [dataclasses.replace(r, key=f"marketplace:99100{i}", pid=f"99100{i}", seller_id=f"quiet-{i}")
               for i, r in enumerate(r for r in catalogue.market.values() if r.label == "benign") if i < 5]
    seed_db(path, URLS, waiting, state="flagged", run_id=2)
    clock = ManualClock("2026-11-30T00:00:00+00:00")
    assert link_relists(open_db(path), Config(), clock) == 0          # first run: reads every waiting listing
    db = open_db(path)
    assert db.execute("SELECT listing_id FROM relist_signatures").fetchall() == [(origin.key,)]
    signature = db.execute("SELECT signature FROM relist_signatures").fetchone()[0]
    db.close()

    examined = []
    real_match = relist._match
    monkeypatch.setattr(relist, "_match", lambda conn, c, *a: examined.append(c["id"]) or real_match(conn, c, *a))
    copy = dataclasses.replace(market[2], key="marketplace:991100", pid="991100", seller_id="dev-991100",
                               title=origin.title + " 新款", description=origin.description)
    seed_db(path, URLS, [copy], state="flagged", run_id=3)
    assert link_relists(open_db(path), Config(), clock) == 1
    assert examined == [copy.key]                   # only the new listing, not the five already read
    assert _state(path, copy.key) == "relisted"

    # later_origin is taken down now; a listing of its seller seen earlier (run 2) is found through it.
    earlier = dataclasses.replace(market[3], key="marketplace:991200", pid="991200", seller_id=later_origin.seller_id)
    seed_db(path, URLS, [earlier], state="flagged", run_id=2)
    assert link_relists(open_db(path), Config(), clock) == 0       # not yet: later_origin is only confirmed
    examined.clear()
    _take_down(path, [later_origin.key])
    assert link_relists(open_db(path), Config(), clock) == 1       # earlier (run 2) came after it (run 1)
    db = open_db(path)
    assert db.execute("SELECT signature FROM relist_signatures WHERE listing_id = ?", [origin.key]).fetchone()[0] \
        == signature                                # kept, not recomputed
    assert {r[0] for r in db.execute("SELECT listing_id FROM relist_signatures")} == {origin.key, later_origin.key}
    db.close()
    assert earlier.key in examined and _state(path, earlier.key) == "relisted"

    # Other parameters: the index is rebuilt from the taken-down listings, once.
    wide = Config({"relist": {"num_perm": 64}})
    assert find_relists(open_db(path), wide) == []
    db = open_db(path)
    assert db.execute("SELECT count(*), min(length(signature)) FROM relist_signatures").fetchone() == (2, 64 * 4)
    db.close()
