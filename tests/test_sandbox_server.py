"""The sandbox platforms: catalogue, encodings, JS-only descriptions, robots, 429s, report intake."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from classifier import LABELS
from sandbox.catalogue import Catalogue
from sandbox.process import SandboxProcess
from tests.helpers import fetch, post_json, wait_for


def test_catalogue_is_large_varied_and_deterministic(catalogue):
    rows = catalogue.rows()
    assert len(rows) >= 1000
    labels = Counter(r.label for r in rows)
    assert set(labels) == set(LABELS)
    kinds = Counter(r.kind for r in rows)
    assert set(kinds) == {"ecommerce", "appstore", "forum", "code", "social"}
    hard = Counter(r.hard_negative for r in rows if r.label == "benign")
    assert {"news", "victim", "anti_harassment", "legit_hardware", "word_collision", "security_dev"} <= set(hard)
    assert sum(1 for r in rows if r.js_description) >= 10
    again = Catalogue(catalogue.seed)
    assert [(r.key, r.title, r.price) for r in again.rows()] == [(r.key, r.title, r.price) for r in rows]
    other = Catalogue(catalogue.seed + 1)
    assert [r.key for r in other.rows()] != [r.key for r in rows]


def test_catalogue_has_real_prevalence_and_dressed_pages(catalogue):
    """Ordinary listings outnumber harmful ones ten to one on every platform together, and pages
    carry the boilerplate real ones do: shop notices around goods, app permissions and changelogs,
    forum edit lines and signatures — harmful listings included, so the offer is diluted."""
    rows = catalogue.rows()
    harmful = [r for r in rows if r.label != "benign"]
    assert len(rows) - len(harmful) >= 10 * len(harmful)
    for platform, rows_of in (("marketplace", catalogue.market), ("appstore", catalogue.apps),
                              ("forum", catalogue.threads)):
        share = sum(r.label != "benign" for r in rows_of.values()) / len(rows_of)
        assert share < 0.2, (platform, share)
    shop = [r for r in catalogue.market.values() if "【售后说明】" in r.description or "客服在线时间" in r.description
            or "图片为实物拍摄" in r.description or "下单即代表" in r.description or "【关于" in r.description
            or "【常见问题】" in r.description]
    assert len(shop) > len(catalogue.market) / 3 and any(r.label != "benign" for r in shop)
    apps = [r for r in catalogue.apps.values() if "【权限说明】" in r.description and "【更新日志】" in r.description]
    assert len(apps) > len(catalogue.apps) / 2 and any(r.label != "benign" for r in apps)
    assert all(f"v{r.version}" in r.description for r in apps)
    # The hand-written rows keep the places a seed gave them before the ordinary volume was added.
    small = Catalogue(catalogue.seed, ordinary_ratio=0)
    assert all(catalogue.rows_by_key()[r.key].title == r.title for r in small.rows())
    assert not any(r.source_id.startswith("g-") for r in small.rows())


def test_forum_is_gbk_with_multi_page_quoted_threads(sandbox, catalogue):
    thread = max(catalogue.threads.values(), key=lambda r: len(r.replies))
    status, headers, body = fetch(f"{sandbox.urls['forum']}/thread-{thread.pid}-1-1.html")
    assert status == 200 and "gbk" in headers["Content-Type"].lower()
    text = body.decode("gbk")
    assert thread.title.split()[0][:4] in text or "&#" in text
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    status, _, body2 = fetch(f"{sandbox.urls['forum']}/thread-{thread.pid}-2-1.html")
    assert status == 200 and b'class="post"' in body2
    assert any(r["quote"] for t in catalogue.threads.values() for r in t.replies)


def test_js_item_description_is_absent_without_a_browser(sandbox, catalogue):
    row = next(r for r in catalogue.market.values() if r.js_description)
    _, _, body = fetch(f"{sandbox.urls['marketplace']}/item/{row.pid}")
    html = body.decode("utf-8")
    assert 'data-render="js"' in html
    assert row.description[:20] not in html
    status, _, api = fetch(f"{sandbox.urls['marketplace']}/api/item/{row.pid}/desc")
    assert status == 200 and json.loads(api)["description"] == row.description


def test_search_and_json_api(sandbox, catalogue):
    status, _, body = fetch(f"{sandbox.urls['appstore']}/api/search?q=%E7%9F%AD%E4%BF%A1")   # 短信
    data = json.loads(body)
    assert status == 200 and data["results"]
    assert all("短信" in (catalogue.apps[r["id"]].title + catalogue.apps[r["id"]].description)
               for r in data["results"])
    status, _, body = fetch(f"{sandbox.urls['marketplace']}/search?q=%E7%8C%AB&page=1")  # 猫
    assert status == 200 and b"item-card" in body


def test_robots_txt(sandbox):
    for url in sandbox.urls.values():
        status, _, body = fetch(f"{url}/robots.txt")
        assert status == 200 and b"User-agent: *" in body and b"Disallow: /admin/" in body


@pytest.mark.crawl                   # a sandbox process of its own
def test_rate_limit_answers_429_with_retry_after():
    with SandboxProcess(rate_limit=5) as sb:
        statuses = [fetch(f"{sb.urls['marketplace']}/")[:2] for _ in range(12)]
    limited = [h for s, h in statuses if s == 429]
    assert limited and all(h.get("Retry-After") == "1" for h in limited)


def test_report_intake_is_idempotent_and_moderation_removes(fresh_sandbox, catalogue):
    urls = fresh_sandbox.urls
    removable = {"gone_404": 404, "gone_410": 410}
    row = next(r for r in catalogue.market.values() if r.outcome in removable)
    never = next(r for r in catalogue.apps.values() if r.outcome == "never")
    # Filed first: once the later reports' listings are gone, this one's removal was due too.
    status, kept = post_json(f"{urls['appstore']}/api/report", {"url": f"/app/{never.pid}", "category": "modem_pool"})
    assert status == 201
    payload = {"url": f"/item/{row.pid}", "category": "call_bomber", "reason": "test", "idempotency_key": "k-1"}
    status, first = post_json(f"{urls['marketplace']}/api/report", payload)
    assert status == 201 and first["listings"] == [row.key]
    status, again = post_json(f"{urls['marketplace']}/api/report", payload)
    assert status == 200 and again["duplicate"] and again["report_id"] == first["report_id"]
    _, _, listed = fetch(f"{urls['marketplace']}/api/reports")
    assert len(json.loads(listed)) == 1
    wait_for(lambda: fetch(f"{urls['marketplace']}/item/{row.pid}")[0] == removable[row.outcome],
             what=f"{row.outcome} after the takedown delay")
    soft = next(r for r in catalogue.threads.values() if r.outcome == "soft_removed")
    post_json(f"{urls['forum']}/api/report", {"url": f"thread-{soft.pid}-1-1.html", "category": "sms_bomber"})
    wait_for(lambda: "该帖子已被删除" in fetch(f"{urls['forum']}/thread-{soft.pid}-1-1.html")[2].decode("gbk"),
             what="the soft-removed thread")
    assert fetch(f"{urls['forum']}/thread-{soft.pid}-1-1.html")[0] == 200
    assert fetch(f"{urls['appstore']}/app/{never.pid}")[0] == 200
    assert json.loads(fetch(f"{urls['appstore']}/api/report/{kept['report_id']}")[2])["removed"] == []
    status, body = post_json(f"{urls['appstore']}/api/report", {"url": "/app/1"})
    assert status == 404


def test_relisted_listing_comes_back_under_a_new_id(fresh_sandbox, catalogue):
    row = next(r for r in catalogue.market.values() if r.outcome == "relist")
    url = fresh_sandbox.urls["marketplace"]
    post_json(f"{url}/api/report", {"url": f"/item/{row.pid}", "category": "sms_bomber"})
    wait_for(lambda: "商品已下架" in fetch(f"{url}/item/{row.pid}")[2].decode(), what="the listing taken down")
    _, _, shop = fetch(f"{url}/shop/{row.seller_id}")
    assert row.title[:10] in shop.decode() or "新款" in shop.decode()
