"""Session fixtures of the review area (loaded by tests/conftest.py through pytest_plugins).

- ``browser``: ONE headless Debian Chromium (Playwright) for the whole test session; other
  areas reuse it. Open a context per test (``browser.new_context()``) and close it.
- ``review_db``: a SQLite file of hand-written listings stored through ``Store.write_batch``
  and labelled by the real bundled classifier (so explanations carry real spans), with
  hostile seller text, accounts for two reviewers and an admin, and one listing taken all
  the way to ``removed``.
- ``review_server``: the review UI (uvicorn, in a thread) serving ``review_db`` on a free
  127.0.0.1 port.

Tests that decide listings each use their own listings (see LISTINGS), so they can run in
any order against the shared database.
"""
from __future__ import annotations

import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers import serving

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

XSS_TITLE = '<script>window.__xss = "title"</script>呼死你 包月 "><img src=x onerror="window.__xss=1">'
XSS_DESCRIPTION = ('正版呼死你 电话轰炸 "><img src=x onerror="window.__xss=2"> <svg onload="window.__xss=3"> '
                   "</div><script>window.__xss=4</script> 联系 QQ 123456789")
XSS_SELLER = '<b onmouseover="window.__xss=5">黑店</b>"><img src=x onerror="window.__xss=6">'
XSS_URL = "javascript:window.__xss=7"
XSS_CHANNEL = '<img src=x onerror="window.__xss=8">呼死你 电话轰炸 频道'

# Bidirectional controls: "\u202eNIMDA" displays as "ADMIN" unless neutralised.
BIDI_TITLE = "呼死你 电话轰炸 \u202eNIMDA\u202c 包月 \u2066不限次数\u2069"
BIDI_DESCRIPTION = "呼死你包月，电话轰炸任意号码。\u200f联系\u200e QQ 123456789 \u061c"
BIDI_SELLER = "\u202eNIMDA\u202c 小店"

# (platform, kind, platform id, seller id, seller name, title, description); contacts are obviously fake.
# Each browser test decides only its own listings, so the tests run in any order:
#   appstore:*          keyboard confirm/reject (alice, filtered to the app store)
#   forum:*             j/k navigation (alice, filtered to forums)
#   marketplace:103/105 claims (alice holds 103; bob gets 105)
#   marketplace:104     CSRF (bob)        marketplace:666  hostile text    marketplace:106  highlights
#   marketplace:201-203 bulk by seller (root)   marketplace:150  reported and removed
#   bazaar:1  bidi controls (carol)    bazaar:2  a cross-port GET must change nothing (carol)
#   issue 13, on their own platform (the dashboard test counts the marketplace): souk:211-213 bulk keeps each
#   category (root)   souk:221-222 number keys and undo (hana)   souk:231 queue search   souk:160 needs a
#   person   souk:170 reopened after its report was sent (root)   souk:240 an emoji in the title
LISTINGS = [
    ("appstore", "appstore", "9001", "dev-1", "某开发者", "呼死你软件 包月不限次数 电话轰炸",
     "正版呼死你，电话轰炸任意号码，包月不限次数。联系 QQ 123456789"),
    ("appstore", "appstore", "9002", "dev-1", "某开发者", "短信轰炸机 在线版 全网接口",
     "短信轰炸机，全网短信接口，一键轰炸，测压平台，包月。"),
    ("appstore", "appstore", "9003", "dev-2", "另一开发者", "短信轰炸助手 测压工具",
     "短信轰炸 测压 一键轰炸 全网接口。"),
    ("forum", "forum", "55", "u-9", "老哥", "出 GoIP 语音网关 八口",
     "GoIP 语音网关 八口 出售，SIM 语音网关 批量。"),
    ("forum", "forum", "56", "u-9", "老哥", "出 十六口猫池 收码",
     "十六口猫池 批量收码 猫池设备 出售。"),
    ("forum", "forum", "57", "u-10", "小弟", "求 呼死你 软件 包月",
     "有没有 呼死你 电话轰炸 软件，包月也行。"),
    ("marketplace", "ecommerce", "103", "s-claim", "小李通讯", "网络改号软件 任意显号 改号电话",
     "网络改号电话，来电显示任意号码，改号软件包教包会。"),
    ("marketplace", "ecommerce", "105", "s-claim", "小李通讯", "改号电话 显号软件 任意改号",
     "改号软件 来电显示任意号码 网络电话改号。"),
    ("marketplace", "ecommerce", "104", "s-csrf", "小赵", "呼死你 电话轰炸软件 永久版",
     "呼死你永久版，电话轰炸，无限呼叫。"),
    ("marketplace", "ecommerce", "106", "s-hl", "小钱", "呼死你 电话轰炸软件 永久版",
     "呼死你永久版，电话轰炸，无限呼叫。"),
    ("marketplace", "ecommerce", "666", "s-xss", XSS_SELLER, XSS_TITLE, XSS_DESCRIPTION),
    ("marketplace", "ecommerce", "201", "s-bulk", "批发猫池", "八口猫池 批量收码 猫池设备",
     "八口猫池，批量收码，多卡猫池设备。"),
    ("marketplace", "ecommerce", "202", "s-bulk", "批发猫池", "十六口猫池 短信猫池",
     "十六口猫池 批量收发短信 猫池群发。"),
    ("marketplace", "ecommerce", "203", "s-bulk", "批发猫池", "三十二口猫池 收码平台专用",
     "三十二口猫池，收码平台专用，猫池设备批发。"),
    ("marketplace", "ecommerce", "150", "s-gone", "已处理店", "呼死你 轰炸软件 包月",
     "呼死你 电话轰炸 包月 QQ 123456789"),
    ("marketplace", "ecommerce", "301", "s-ok", "正规数码", "小米原装充电器 快充",
     "全新原装快充充电器，支持多种手机，七天无理由退货。"),
    ("souk", "ecommerce", "211", "s-mix", "杂货铺", "呼死你软件 包月不限次数 电话轰炸",
     "正版呼死你，电话轰炸任意号码，包月不限次数。"),
    ("souk", "ecommerce", "212", "s-mix", "杂货铺", "短信轰炸机 在线版 全网接口",
     "短信轰炸机，全网短信接口，一键轰炸，测压平台，包月。"),
    ("souk", "ecommerce", "213", "s-mix", "杂货铺", "出 GoIP 语音网关 八口",
     "GoIP 语音网关 八口 出售，SIM 语音网关 批量。"),
    ("souk", "ecommerce", "221", "s-keys", "键盘店", "呼死你 电话轰炸 包月 不限次数",
     "呼死你包月，电话轰炸任意号码，不限次数。"),
    ("souk", "ecommerce", "222", "s-keys", "键盘店", "呼死你 电话轰炸 永久版 无限呼叫",
     "呼死你永久版，电话轰炸，无限呼叫。"),
    ("souk", "ecommerce", "231", "s-find", "寻找测试店", "八口猫池 多卡设备",
     "八口猫池，多卡猫池设备。微信 abc_demo"),
    ("souk", "ecommerce", "160", "s-stuck", "顽固店", "呼死你 轰炸软件 包月 永久",
     "呼死你 电话轰炸 包月 永久版。"),
    ("souk", "ecommerce", "170", "s-reopen", "重开店", "改号软件 任意显号 网络电话",
     "网络改号电话，来电显示任意号码。"),
    ("souk", "ecommerce", "240", "s-emoji", "猫🐈店", "猫🐈池 八口猫池 批量收码",
     "八口猫池🐈，批量收码，多卡猫池设备。\n"
     + "支持移动、联通、电信卡，八口同时在线，批量收发短信，稳定不掉线。\n" * 14),
    ("bazaar", "ecommerce", "1", "s-bidi", BIDI_SELLER, BIDI_TITLE, BIDI_DESCRIPTION),
    ("bazaar", "ecommerce", "2", "s-get", "小孙", "呼死你 电话轰炸 包月 不限次数",
     "呼死你包月，电话轰炸任意号码，不限次数。"),
    # One operation on three platforms: a repository, its sales channel (hostile title) and a shop
    # listing, joined by a release file name and a disguised Telegram handle (review panel test).
    ("codehost", "code", "demo-x/hsn-tool", "demo-x", "demo-x", "hsn-tool 呼死你 电话轰炸 云端版",
     "呼死你云端版 电话轰炸 包月不限次数。\n安装包 hsn_cluster_v1.exe，频道 t点me/demo_cluster01"),
    ("social", "social", "demo_cluster01", "demo_cluster01", "频道", XSS_CHANNEL,
     "呼死你 电话轰炸 月卡 年卡 包月不限次数，安装包 hsn_cluster_v1.exe"),
    ("marketplace", "ecommerce", "404", "s-cluster", "轰炸小铺", "呼死你 电话轰炸 卡密 包月",
     "呼死你 电话轰炸 包月卡密，飞机 @demo_cluster01 发货"),
]

# dave is disabled by a test and erin signs out (which ends all her sessions), frank gets locked out by
# wrong passwords and gina signs in through a proxy: nobody else uses them. hana: issue 13's keyboard tests.
ROLES = {"alice": "reviewer", "bob": "reviewer", "carol": "reviewer", "dave": "reviewer", "erin": "reviewer",
         "frank": "reviewer", "gina": "reviewer", "hana": "reviewer", "root": "admin"}
PASSWORDS = {name: secrets.token_urlsafe(16) for name in ROLES}


def listing_id(pid: str, platform: str = "marketplace") -> str:
    return f"{platform}:{pid}"


def flagged_listing(pid, score=0.9, label="modem_pool", seller="s1", description="八口猫池 设备",
                    platform="marketplace", kind="ecommerce", crawled_at="2026-11-27T00:00:00+00:00"):
    """A small pipeline-finished listing the (stand-in) classifier flagged, for fast unit tests."""
    from crawler.items import Listing
    from crawler.pipelines.normalise import NormalisePipeline

    listing = Listing(id=f"{platform}:{pid}", platform=platform, platform_id=pid, kind=kind,
                      url=f"http://127.0.0.1:9/item/{pid}", title=f"猫池 {pid}", description=description,
                      price="¥88.00", seller_id=seller, seller_name=f"店{seller}", crawled_at=crawled_at)
    listing = NormalisePipeline().process_item(listing)
    listing.classification = {"label": label, "score": score, "flagged": True, "scores": {}, "model_version": "test",
                              "explanation": [{"feature": "猫池", "group": "words", "weight": 0.3,
                                               "spans": [{"field": "title", "start": 0, "end": 2, "text": "猫池"}]}]}
    return listing


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module. Not per session: a live sync Playwright holds its event loop in
    this thread, and evidence capture's own sync Playwright (takedown/screenshot.py) refuses to start
    under it — so the session-wide one broke every module after the first that used it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def build_listings(rows, classifier, crawled_at: str = "2026-11-27T00:00:00+00:00") -> list:
    """Pipeline-finished Listing items (normalised, contacts found, classified)."""
    from crawler.items import Listing
    from crawler.pipelines.normalise import NormalisePipeline

    items = []
    for platform, kind, pid, seller_id, seller_name, title, description in rows:
        url = XSS_URL if pid == "666" else f"http://127.0.0.1:9/{platform}/item/{pid}"
        item = Listing(id=f"{platform}:{pid}", platform=platform, platform_id=pid, kind=kind, url=url, title=title,
                       description=description, price="¥88.00", seller_id=seller_id, seller_name=seller_name,
                       seller_url=f"http://127.0.0.1:9/{platform}/shop/{seller_id}", crawled_at=crawled_at)
        items.append(NormalisePipeline().process_item(item))
    for item, result in zip(items, classifier.predict([{"title": i.title, "description": i.description}
                                                       for i in items])):
        item.classification = result
    return items


@pytest.fixture(scope="session")
def review_db(model_path, tmp_path_factory) -> Path:
    from classifier.predict import shared
    from store.db import open_db
    from takedown.escalation import mark_needs_person
    from review.queue import Review
    from store.states import transition
    from store.listings import Store
    from review.users import Users

    path = tmp_path_factory.mktemp("review") / "sweep.db"
    db = open_db(path)
    items = build_listings(LISTINGS, shared(str(model_path)))
    Store(db).write_batch(items, run_id=None)
    not_flagged = [i.id for i in items if not i.classification["flagged"] and i.platform_id != "301"]
    assert not not_flagged, f"test listings the model does not flag: {not_flagged}"
    users = Users(db)
    for name, role in ROLES.items():
        users.add(name, role, PASSWORDS[name], actor="tests")
    # One listing all the way through the takedown, for the dashboard.
    gone = listing_id("150")
    Review(db).confirm(gone, "root", "call_bomber")
    reported = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    with db.conn:
        transition(db.conn, gone, "reported", "tests", "filed", at=reported)
        transition(db.conn, gone, "removed", "tests", "404", at=reported + timedelta(hours=3))
    # Issue 13: one listing whose escalation ran out, one reported through a (recorded) sent report.
    stuck, sent = listing_id("160", "souk"), listing_id("170", "souk")
    Review(db).confirm(stuck, "root", "call_bomber")
    Review(db).confirm(sent, "root", "caller_id_spoof")
    with db.conn:
        for lid in (stuck, sent):
            transition(db.conn, lid, "reported", "tests", "filed", at=reported)
            cur = db.conn.execute("INSERT INTO reports (channel, platform, idempotency_key, state, attempts, sent_at, "
                                  "receipt) VALUES ('sandbox_intake', 'souk', ?, 'sent', 1, ?, 'SO000042')",
                                  [f"k-{lid}", reported.isoformat()])
            db.conn.execute("INSERT INTO report_listings (report_id, listing_id) VALUES (?, ?)", [cur.lastrowid, lid])
        transition(db.conn, stuck, "still_live", "tests", "live after 48 h", at=reported + timedelta(hours=49))
        mark_needs_person(db.conn, stuck, "live after 48 h", reported + timedelta(hours=49), "tests")
    db.close()
    return path


@dataclass
class ReviewServer:
    url: str
    db_path: Path
    passwords: dict = field(default_factory=dict)


@pytest.fixture(scope="session")
def review_server(review_db):
    """The review UI on a free loopback port, for the whole session."""
    from review.web import create_app

    with serving(create_app(review_db, claim_timeout=600)) as url:
        yield ReviewServer(url, review_db, PASSWORDS)


_sessions: dict[tuple[str, str], dict] = {}


@contextmanager
def signed_in(browser, server: ReviewServer, name: str, fresh: bool = False):
    """A browser context signed in as ``name``; yields its page on the queue.

    The first time for each account it signs in through the login form; after that the
    context starts with that session's cookie (saves a password hash per test).
    """
    key = (server.url, name)
    context = browser.new_context(base_url=server.url, storage_state=None if fresh else _sessions.get(key))
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto("/queue")
        if "/login" in page.url:
            page.fill("input[name=name]", name)
            page.fill("input[name=password]", server.passwords[name])
            page.click("button[type=submit]")
            page.wait_for_url("**/queue")
            if not fresh:
                _sessions[key] = context.storage_state()
        yield page
    finally:
        context.close()
