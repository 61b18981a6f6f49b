"""The reviewer web UI, end to end: the real server, a real SQLite file, real Chromium."""
from __future__ import annotations

import json
import os
import re
import stat
import urllib.error
import urllib.request
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from common.bidi import BIDI_CONTROLS
from store.db import open_db
from review.users import Users
from review.web.app import http_url
from review.web.highlight import highlight, segments
from review.web.routes import _local
from review.web.security import SessionKeyError, key_path, session_key
from tests.fixtures_review import LISTINGS, XSS_CHANNEL, XSS_SELLER, listing_id, signed_in
from tests.helpers import html_page, wait_for

pytestmark = pytest.mark.browser


def state(server, lid: str) -> str:
    db = open_db(server.db_path, migrate=False)
    try:
        return db.execute("SELECT state FROM listings WHERE id = ?", [lid]).fetchone()[0]
    finally:
        db.close()


def rows(server, sql: str, params=()) -> list[tuple]:
    db = open_db(server.db_path, migrate=False)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def keys_ready(page) -> None:
    """Wait until this page's shortcut handler is attached (the script is deferred)."""
    page.wait_for_selector("html[data-keys=ready]", state="attached")


def claimed(page) -> None:
    """Wait until the listing page's script has claimed the listing (a POST, as it opens)."""
    page.wait_for_selector("html[data-claim=held]", state="attached")


def token(page) -> str:
    return page.locator("input[name=csrf_token]").first.get_attribute("value")


# -- pieces ------------------------------------------------------------------------------------
def test_overlapping_spans_merge_and_spans_that_do_not_match_the_text_are_dropped():
    text = "正版呼死你包月"
    explanation = [
        {"feature": "呼死你", "spans": [{"field": "title", "start": 2, "end": 5, "text": "呼死你"}]},
        {"feature": "hu_si", "spans": [{"field": "title", "start": 2, "end": 4, "text": "呼死"}]},
        {"feature": "包月", "spans": [{"field": "description", "start": 5, "end": 7, "text": "包月"},
                                     {"field": "title", "start": 5, "end": 7, "text": "包月"}]},
        {"feature": "stale", "spans": [{"field": "title", "start": 0, "end": 2, "text": "盗版"}]},
        {"feature": "hostile", "spans": [{"field": "title", "start": -3, "end": 99}, {"field": "title",
                                                                                   "start": "0", "end": 1}]},
    ]
    out = highlight(text, explanation, "title")
    assert out == [{"text": "正版", "features": []}, {"text": "呼死", "features": ["hu_si", "呼死你"]},
                   {"text": "你", "features": ["呼死你"]}, {"text": "包月", "features": ["包月"]}]
    assert "".join(s["text"] for s in out) == text
    assert segments("", []) == []


@pytest.mark.parametrize("url, shown", [
    ("http://127.0.0.1:8701/item/1", "http://127.0.0.1:8701/item/1"), ("https://m.example/x", "https://m.example/x"),
    ("javascript:alert(1)", None), (" JavaScript:alert(1)", None), ("data:text/html,<b>", None),
    ("//evil.example/x", None), ("http:///nohost", None), (None, None),
])
def test_only_http_links_become_links(url, shown):
    assert http_url(url) == shown


@pytest.mark.parametrize("target, safe", [("/listing?id=a:1", "/listing?id=a:1"), ("//evil.example", "/queue"),
                                          ("https://evil.example", "/queue"), ("/\\evil.example", "/queue")])
def test_redirects_after_sign_in_stay_on_this_site(target, safe):
    assert _local(target) == safe


def test_the_session_key_lives_beside_the_database_readable_only_by_its_owner(tmp_path):
    db = tmp_path / "sweep.db"
    key = session_key(db, environ={})
    assert stat.S_IMODE(os.stat(key_path(db)).st_mode) == 0o600 and len(key) >= 32
    assert session_key(db, environ={}) == key
    assert session_key(db, environ={"SWEEP_SESSION_KEY": "k" * 40}) == "k" * 40
    with pytest.raises(SessionKeyError, match="too short"):
        session_key(db, environ={"SWEEP_SESSION_KEY": "short"})
    os.chmod(key_path(db), 0o644)
    with pytest.raises(SessionKeyError, match="readable by others"):
        session_key(db, environ={})


# -- in the browser -------------------------------------------------------------------------------
def test_pages_need_a_signed_in_user_and_wrong_passwords_are_refused(browser, review_server):
    context = browser.new_context(base_url=review_server.url)
    try:
        page = context.new_page()
        page.goto("/dashboard")
        assert "/login?next=" in page.url
        page.fill("input[name=name]", "erin")
        page.fill("input[name=password]", "not her password")
        with page.expect_response(lambda r: r.request.method == "POST") as sent:
            page.click("button[type=submit]")
        assert sent.value.status == 401
        expect(page.locator(".flash.error")).to_have_text("Wrong name or password.")
        page.fill("input[name=password]", review_server.passwords["erin"])
        page.click("button[type=submit]")
        page.wait_for_url("**/dashboard")                          # back where she was going
        expect(page.locator("#whoami")).to_have_text("erin (reviewer)")
        page.goto("/login?next=//evil.example/phish")
        assert page.url == review_server.url + "/queue"
        copied = context.storage_state()
        page.click("header form.who button")
        page.wait_for_url("**/login")
        page.goto("/queue")
        assert "/login" in page.url
    finally:
        context.close()
    replay = browser.new_context(base_url=review_server.url, storage_state=copied)
    try:                                    # the cookie from before signing out no longer works
        page = replay.new_page()
        page.goto("/queue")
        assert "/login" in page.url
    finally:
        replay.close()


def test_repeated_wrong_passwords_lock_the_account_and_then_the_address(browser, review_db, review_server):
    from tests.fixtures_review import serving
    from review.web import create_app

    def attempts(url, tries):
        context = browser.new_context(base_url=url)
        try:
            html = context.request.get("/login").text()
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
            return [(r.status, r.text()) for r in (context.request.post("/login", max_redirects=0, form={
                "csrf_token": csrf, "name": name, "password": password}) for name, password in tries)]
        finally:
            context.close()

    right = review_server.passwords["frank"]
    first_audit = rows(review_server, "SELECT max(id) FROM audit_log")[0][0]
    with serving(create_app(review_db)) as url:        # its own throttle: the shared server's address stays free
        answers = attempts(url, [("frank", f"guess {i}") for i in range(6)] + [("frank", right)])
    assert [status for status, _ in answers] == [401] * 5 + [429, 429]      # the right password too, once locked
    assert "for this account" in answers[-1][1]
    with serving(create_app(review_db)) as url:        # a restart does not lift it: the count is in the accounts file
        answers = attempts(url, [("frank", right)] + [(f"nobody{i}", "guess") for i in range(25)])
    assert answers[0][0] == 429
    statuses = [status for status, _ in answers[1:]]
    assert statuses == [401] * 19 + [429] * 6 and "from your address" in answers[-1][1]
    logged = rows(review_server, "SELECT actor, action, json_extract(detail, '$.count') FROM audit_log "
                                 "WHERE id > ? AND action LIKE 'login%' ORDER BY id", [first_audit])
    assert logged == [("frank", "login_failed", 1), ("frank", "login_locked", 4),      # frank's two refusals
                      ("-", "login_failed", 1), ("-", "login_failed", 24)]   # are in his window's count; the
                                                                             # rest went in at shutdown


def test_a_reviewer_confirms_and_rejects_with_the_keyboard(browser, review_server):
    first = listing_id("9001", "appstore")
    with signed_in(browser, review_server, "alice") as page:
        page.goto("/listing?id=appstore:9001&platform=appstore")
        expect(page.locator("#category")).to_have_value("call_bomber")        # the model's label, preselected
        keys_ready(page)
        page.keyboard.press("y")
        expect(page.locator(".flash.ok")).to_have_text(f"Confirmed {first} as call_bomber.")
        expect(page.locator("#listing-id")).not_to_have_text(first)           # straight on to the next one:
        second = page.inner_text("#listing-id").strip()                       # the queue's next by score
        assert second in (listing_id("9002", "appstore"), listing_id("9003", "appstore"))
        keys_ready(page)
        page.keyboard.press("n")
        assert page.evaluate("document.activeElement.id") == "reject-reason"
        assert page.input_value("#reject-reason") == ""                        # "n" did not type itself
        page.keyboard.type("测压工具 not a harassment tool")
        page.keyboard.press("Enter")
        expect(page.locator(".flash.ok")).to_have_text(f"Rejected {second}.")
    assert state(review_server, first) == "confirmed"
    assert state(review_server, second) == "rejected"
    assert rows(review_server, "SELECT listing_id, reviewer, decision, category, reason FROM reviews "
                               "WHERE listing_id LIKE 'appstore:%' ORDER BY id") == [
        (first, "alice", "confirmed", "call_bomber", None),
        (second, "alice", "rejected", None, "测压工具 not a harassment tool")]
    audit = rows(review_server, "SELECT actor, action, detail FROM audit_log WHERE listing_id IN (?, ?) "
                                "AND actor = 'alice' ORDER BY id", [first, second])
    assert [(a, b) for a, b, _ in audit] == [("alice", "state:flagged->confirmed"),
                                             ("alice", "state:flagged->rejected")]
    assert json.loads(audit[1][2])["reason"] == "测压工具 not a harassment tool"


def test_j_and_k_move_through_the_queue(browser, review_server):
    with signed_in(browser, review_server, "alice") as page:
        page.goto("/queue?kind=forum")
        ids = [r.get_attribute("data-id") for r in page.locator("tr.row").all()]
        assert ids == ["forum:55", "forum:56", "forum:57"]                       # by score
        expect(page.locator("tr.row.selected")).to_have_attribute("data-id", "forum:55")
        keys_ready(page)
        page.keyboard.press("j")
        page.keyboard.press("j")
        page.keyboard.press("k")
        expect(page.locator("tr.row.selected")).to_have_attribute("data-id", "forum:56")
        page.keyboard.press("Enter")
        expect(page.locator("#listing-id")).to_have_text("forum:56")
        keys_ready(page)
        page.keyboard.press("j")
        expect(page.locator("#listing-id")).to_have_text("forum:57")
        assert "kind=forum" in page.url                                          # filters carried along
        keys_ready(page)
        page.keyboard.press("k")
        expect(page.locator("#listing-id")).to_have_text("forum:56")
        page.click("text=Release and go back to the queue")
        page.wait_for_url("**/queue?kind=forum")
    assert rows(review_server, "SELECT count(*) FROM claims WHERE listing_id LIKE 'forum:%'") == [(0,)]


def test_the_listing_page_shows_the_reasons_highlighted_in_the_original_text(browser, review_server):
    lid = listing_id("106")
    explanation = json.loads(rows(review_server, "SELECT explanation FROM classifications WHERE listing_id = ?",
                                  [lid])[0][0])
    span_texts = {s["text"] for e in explanation for s in e["spans"]}
    with signed_in(browser, review_server, "carol") as page:
        page.goto(f"/listing?id={lid}")
        marks = page.locator("#listing-title mark, #listing-description mark").all_inner_texts()
        assert marks and all(any(t in m or m in t for t in span_texts) for m in marks)
        expect(page.locator("#listing-title")).to_have_text("呼死你 电话轰炸软件 永久版")
        expect(page.locator("ol.features li").first).to_contain_text(explanation[0]["feature"])
        expect(page.locator("#listing-seller")).to_have_text("小钱")
        expect(page.locator("#live-link")).to_have_attribute("href", "http://127.0.0.1:9/marketplace/item/106")
        page.click("text=Release and go back to the queue")


def test_hostile_listing_text_is_shown_as_text(browser, review_server):
    lid = listing_id("666")
    title, description = rows(review_server, "SELECT title, description FROM listings WHERE id = ?", [lid])[0]
    with signed_in(browser, review_server, "bob") as page:
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        response = page.goto(f"/listing?id={lid}")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        expect(page.locator("#listing-title")).to_have_text(title)
        expect(page.locator("#listing-description")).to_have_text(description)
        expect(page.locator("#listing-seller")).to_have_text(XSS_SELLER)
        # The reasons are highlighted inside the hostile text (in the offer segment: title or description).
        marked = page.locator("#listing-title mark, #listing-description mark").all_inner_texts()
        assert marked and any(term in "".join(marked) for term in ("呼死你", "轰炸", "电话"))
        page.hover("#listing-seller a")
        assert page.locator("#live-link").count() == 0                         # javascript: is not a link
        expect(page.locator("dl.facts")).to_contain_text("javascript:window.__xss=7")
        for where in (f"/listing?id={lid}", "/queue", "/seller?id=marketplace:s-xss"):
            page.goto(where)
            injected = page.locator("[onerror], [onload], [onmouseover], script:not([src]), main img, main svg")
            assert injected.count() == 0, where
            assert page.evaluate("window.__xss") is None, where
            expect(page.locator("main")).to_contain_text('<img src=x onerror="window.__xss=')
        expect(page.locator("#seller-name")).to_have_text(XSS_SELLER)
    assert dialogs == []


def test_the_listing_page_shows_the_same_operation_on_other_platforms(browser, review_server):
    """A repository, the channel selling its keys and a shop listing share a release file name and a
    disguised Telegram handle: the repository's page lists the other two, by platform, with the
    entity that joins them — the channel's hostile name shown as text."""
    with signed_in(browser, review_server, "carol") as page:
        page.goto(f"/listing?id={listing_id('demo-x/hsn-tool', 'codehost')}")
        panel = page.locator("section.other-platforms")
        expect(panel.locator("h3")).to_have_text(["marketplace", "social"])
        expect(panel).to_contain_text("file hsn_cluster_v1.exe")
        expect(panel.locator("a", has_text="呼死你 电话轰炸 卡密 包月")).to_have_attribute(
            "href", "/listing?id=marketplace%3A404")
        expect(panel.locator("a[href='/listing?id=social%3Ademo_cluster01']")).to_have_text(XSS_CHANNEL)
        assert panel.locator("img, [onerror]").count() == 0 and page.evaluate("window.__xss") is None
        page.goto(f"/listing?id={listing_id('106')}")             # nothing shared: says so
        expect(page.locator("section.other-platforms")).to_contain_text("None.")
        page.click("text=Release and go back to the queue")


def test_a_forged_post_without_the_csrf_token_is_refused(browser, review_server):
    lid = listing_id("104")
    with signed_in(browser, review_server, "bob") as page, signed_in(browser, review_server, "root") as other:
        page.goto(f"/listing?id={lid}")
        form = {"listing_id": lid, "decision": "confirm", "category": "call_bomber"}
        refused = page.request.post("/decide", form=form, max_redirects=0)
        assert refused.status == 403 and "CSRF" in refused.text()
        assert page.request.post("/decide", form={**form, "csrf_token": "forged"}, max_redirects=0).status == 403
        other.goto("/queue")
        assert page.request.post("/decide", form={**form, "csrf_token": token(other)},      # another session's
                                 max_redirects=0).status == 403
        assert state(review_server, lid) == "flagged"
        accepted = page.request.post("/decide", form={**form, "csrf_token": token(page)}, max_redirects=0)
        assert accepted.status == 303
    assert state(review_server, lid) == "confirmed"
    assert rows(review_server, "SELECT reviewer FROM reviews WHERE listing_id = ?", [lid]) == [("bob",)]


def test_signing_in_needs_the_token_too(browser, review_server):
    context = browser.new_context(base_url=review_server.url)
    try:
        response = context.request.post("/login", form={"name": "alice", "password": review_server.passwords["alice"]},
                                        max_redirects=0)
        assert response.status == 403
    finally:
        context.close()


def test_two_reviewers_never_get_the_same_listing(browser, review_server):
    held, other = listing_id("103"), listing_id("105")
    with signed_in(browser, review_server, "alice") as alice, signed_in(browser, review_server, "bob") as bob:
        alice.goto(f"/listing?id={held}")
        claimed(alice)                                                          # the page's POST, not the GET
        expect(alice.locator("#confirm-form")).to_be_visible()
        bob.goto("/queue?label=caller_id_spoof")
        assert [r.get_attribute("data-id") for r in bob.locator("tr.row").all()] == [other]
        bob.goto(f"/listing?id={held}")
        expect(bob.locator("#claimed-by")).to_contain_text("alice is reviewing this listing")
        assert bob.locator("#confirm-form").count() == 0
        sneaky = bob.request.post("/decide", form={"listing_id": held, "decision": "reject", "reason": "mine now",
                                                   "csrf_token": token(bob)})
        assert "being reviewed by alice" in sneaky.text()
        assert state(review_server, held) == "flagged"
        bob.goto("/queue?label=caller_id_spoof")
        bob.click("text=Start reviewing")
        expect(bob.locator("#listing-id")).to_have_text(other)
        alice.reload()
        expect(alice.locator("#confirm-form")).to_be_visible()                 # still hers
        alice.click("text=Release and go back to the queue")


def test_an_admin_decides_a_sellers_listings_in_bulk(browser, review_server):
    ids = [listing_id(p) for p in ("201", "202", "203")]
    with signed_in(browser, review_server, "alice") as page:
        page.goto("/seller?id=marketplace:s-bulk")
        assert page.locator("#bulk-form").count() == 0
        forged = page.request.post("/seller/bulk", form={"seller_id": "marketplace:s-bulk", "decision": "reject",
                                                         "reason": "x", "listing_id": ids[0],
                                                         "csrf_token": token(page)})
        assert forged.status == 403                                           # the role is checked on the server
    assert {state(review_server, i) for i in ids} == {"flagged"}
    with signed_in(browser, review_server, "root") as page:
        page.goto("/seller?id=marketplace:s-bulk")
        page.check("#select-all")
        assert page.locator("input.pick:checked").count() == 3
        for lid in ids:                                     # each row keeps the listing's own category
            expect(page.locator(f'#bulk-form select[name="category:{lid}"]')).to_have_value("modem_pool")
        page.click("#bulk-form button[type=submit]")
        expect(page.locator(".flash.ok")).to_have_text("3 listing(s) decided.")
    assert [state(review_server, i) for i in ids] == ["confirmed"] * 3
    assert rows(review_server, "SELECT DISTINCT reviewer, category, bulk FROM reviews WHERE listing_id IN (?, ?, ?)",
                ids) == [("root", "modem_pool", 1)]
    audit = rows(review_server, "SELECT actor, json_extract(detail, '$.bulk_seller') FROM audit_log "
                                "WHERE listing_id IN (?, ?, ?) AND action = 'state:flagged->confirmed'", ids)
    assert audit == [("root", "marketplace:s-bulk")] * 3


def test_only_admins_read_the_audit_log(browser, review_server):
    with signed_in(browser, review_server, "alice") as page:
        assert page.goto("/audit").status == 403
    with signed_in(browser, review_server, "root") as page:
        page.goto("/audit?actor=root")
        actors = page.locator("table.audit tbody tr td:nth-child(3)").all_inner_texts()
        actions = page.locator("table.audit tbody tr td:nth-child(4)").all_inner_texts()
        assert actors and set(actors) == {"root"} and "login" in actions


def test_the_dashboard_shows_the_funnel_and_time_to_removal(browser, review_server):
    with signed_in(browser, review_server, "carol") as page:
        page.goto("/dashboard")
        assert page.locator("svg.chart").count() == 4
        assert page.locator("svg.chart rect.bar").count() >= 5
        market = page.locator("#platform-table tr[data-platform=marketplace] td").all_inner_texts()
        header = page.locator("#platform-table thead th").all_inner_texts()
        cells = dict(zip(header, market))
        crawled = sum(1 for row in LISTINGS if row[0] == "marketplace")
        assert int(cells["crawled"]) == crawled and int(cells["removed"]) == 1
        assert cells["removal rate"] == "100%" and cells["median time to removal"] == "3.0 h"


def test_a_disabled_account_is_signed_out_at_once(browser, review_server):
    with signed_in(browser, review_server, "dave", fresh=True) as page:
        db = open_db(review_server.db_path, migrate=False)
        try:
            Users(db).set_disabled("dave", True, actor="tests")
            page.goto("/queue")
            assert "/login" in page.url
            page.fill("input[name=name]", "dave")
            page.fill("input[name=password]", review_server.passwords["dave"])
            page.click("button[type=submit]")
            expect(page.locator(".flash.error")).to_have_text("Wrong name or password.")
        finally:
            Users(db).set_disabled("dave", False, actor="tests")
            db.close()


def test_the_listing_page_shows_the_captured_screenshot_and_refuses_a_tampered_one(browser, review_server, tmp_path):
    import hashlib

    lid = listing_id("150")
    with signed_in(browser, review_server, "carol") as page:
        page.set_content("<h1>闲趣集市 — listing as captured</h1>")
        shot = tmp_path / "shot.png"
        page.screenshot(path=str(shot))
        db = open_db(review_server.db_path, migrate=False)
        try:
            if not db["evidence"].exists():     # the takedown area's table, as its schema describes it
                db["evidence"].create({"id": int, "listing_id": str, "version": int, "captured_at": str, "url": str,
                                       "wacz_path": str, "wacz_sha256": str, "response_sha256": str,
                                       "screenshot_path": str, "screenshot_sha256": str, "http_status": int},
                                      pk="id")
            with db.conn:
                db.execute("INSERT INTO evidence (listing_id, version, captured_at, url, screenshot_path, "
                           "screenshot_sha256, http_status) VALUES (?, 1, '2026-11-27T00:30:00+00:00', ?, ?, ?, 200)",
                           [lid, "http://127.0.0.1:9/marketplace/item/150", str(shot),
                            hashlib.sha256(shot.read_bytes()).hexdigest()])
        finally:
            db.close()
        page.goto(f"/listing?id={lid}")
        image = page.locator("#screenshot")
        expect(image).to_be_visible()
        page.wait_for_function("document.getElementById('screenshot').complete")
        assert page.evaluate("document.getElementById('screenshot').naturalWidth") > 0
        src = image.get_attribute("src")
        shot.write_bytes(shot.read_bytes() + b"tampered")
        assert page.request.get(src).status == 409


def test_sweep_review_serves_the_ui(tmp_path):
    import signal
    import socket
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    db = tmp_path / "sweep.db"
    open_db(db).conn.close()          # sweep review serves an existing database, it does not make one
    env = {k: v for k, v in os.environ.items() if k != "SWEEP_SESSION_KEY"}
    proc = subprocess.Popen([sys.executable, "-m", "cli", "review", "--db", str(db), "--port", str(port)],
                            cwd=root, env={**env, "PYTHONPATH": root}, stderr=subprocess.PIPE, text=True)
    try:
        def login_page() -> str | None:
            assert proc.poll() is None, "sweep review exited"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    return response.read().decode()
            except OSError:
                return None

        body = wait_for(login_page, 30, interval=0.2, what="the review UI's login page")
        assert 'name="csrf_token"' in body
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert "sweep users add" in err                   # no accounts yet: says how to make one
    assert stat.S_IMODE(os.stat(key_path(db)).st_mode) == 0o600


# -- a GET changes nothing ------------------------------------------------------------------------
@contextmanager
def page_elsewhere(html: str):
    """A page served from another port of 127.0.0.1 (same site as the review UI, so the
    reviewer's cookie goes along with anything it loads); yields its URL."""
    with html_page(html) as url:
        yield url + "/"


def snapshot(server) -> tuple:
    return (rows(server, "SELECT * FROM claims ORDER BY listing_id"),
            rows(server, "SELECT id, state FROM listings ORDER BY id"),
            rows(server, "SELECT max(id) FROM audit_log"), rows(server, "SELECT count(*) FROM reviews"))


def test_an_img_on_another_port_of_the_same_host_changes_nothing(browser, review_server):
    lid = listing_id("2", "bazaar")
    targets = [f"{review_server.url}/listing?id={lid}", f"{review_server.url}/next?platform=bazaar"]
    with signed_in(browser, review_server, "carol") as page:
        before = snapshot(review_server)
        assert not rows(review_server, "SELECT * FROM claims WHERE listing_id = ?", [lid])
        html = "".join(f'<img src="{t}">' for t in targets)
        done = []                   # Chromium blocks the (HTML) bodies (ORB), after the server answered
        page.on("requestfailed", lambda r: done.append(r.url))
        page.on("requestfinished", lambda r: done.append(r.url))
        with page_elsewhere(html) as url:
            page.goto(url)
            page.wait_for_function("Array.from(document.images).every(i => i.complete)")
        assert set(targets) <= set(done), done              # with carol's cookie (same site); before, this claimed
        assert snapshot(review_server) == before
        page.goto(f"/listing?id={lid}")                     # opening it for real claims it, through a POST
        claimed(page)
        assert rows(review_server, "SELECT reviewer FROM claims WHERE listing_id = ?", [lid]) == [("carol",)]
        page.click("text=Release and go back to the queue")
        page.wait_for_url("**/queue?*")
    assert not rows(review_server, "SELECT * FROM claims WHERE listing_id = ?", [lid])


def test_without_script_the_claim_button_claims(browser, review_server):
    lid = listing_id("2", "bazaar")
    context = browser.new_context(base_url=review_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=name]", "carol")
        page.fill("input[name=password]", review_server.passwords["carol"])
        page.click("button[type=submit]")
        page.wait_for_url("**/queue")
        page.goto(f"/listing?id={lid}&platform=bazaar")
        assert not rows(review_server, "SELECT * FROM claims WHERE listing_id = ?", [lid])
        page.click("#claim-form button")
        expect(page.locator("#claim-status")).to_contain_text("Yours until")
        assert "platform=bazaar" in page.url
        assert rows(review_server, "SELECT reviewer FROM claims WHERE listing_id = ?", [lid]) == [("carol",)]
        page.click("text=Release and go back to the queue")
        page.wait_for_url("**/queue?platform=bazaar")
    finally:
        context.close()
    assert not rows(review_server, "SELECT * FROM claims WHERE listing_id = ?", [lid])


# -- bidi controls ----------------------------------------------------------------------------------
def test_bidi_controls_in_listings_are_shown_not_obeyed(browser, review_server):
    lid = listing_id("1", "bazaar")
    with signed_in(browser, review_server, "carol") as page:
        for where in (f"/listing?id={lid}", "/queue?platform=bazaar", "/seller?id=bazaar:s-bidi"):
            page.goto(where)
            text = page.locator("body").inner_text() + page.title()
            assert not set(text) & set(BIDI_CONTROLS), where
            assert "‹U+202E›NIMDA‹U+202C›" in text, where
        page.goto(f"/listing?id={lid}")
        expect(page.locator("#listing-title")).to_contain_text("‹U+2066›不限次数‹U+2069›")
        expect(page.locator("#listing-description")).to_contain_text("‹U+200F›联系‹U+200E›")
        assert "呼死你" in "".join(page.locator("#listing-title mark").all_inner_texts())
        assert page.locator("#claim-form input[name=listing_id]").get_attribute("value") == lid
        claimed(page)
        page.click("text=Release and go back to the queue")
        page.wait_for_url("**/queue?*")


# -- numbers, errors and headers --------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/queue?page=9223372036854775807", "/queue?page=99999999999999999999999",
                                  "/queue?page=0", "/queue?page=-1", "/queue?page=1e3", "/queue?page=%EF%BC%91",
                                  "/evidence/99999999999999999999/screenshot", "/evidence/x/screenshot"])
def test_numeric_parameters_out_of_range_are_a_400_with_the_security_headers(browser, review_server, path):
    with signed_in(browser, review_server, "carol") as page:
        response = page.request.get(path, max_redirects=0)
        assert response.status == 400, path
        assert "whole number" in response.text()
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert page.request.get("/queue?page=1").status == 200


def test_the_audit_log_refuses_an_impossible_before(browser, review_server):
    with signed_in(browser, review_server, "root") as page:
        response = page.request.get("/audit?before=9223372036854775808")
        assert response.status == 400 and response.headers["x-content-type-options"] == "nosniff"


def test_404_and_500_responses_carry_the_security_headers(review_db):
    from tests.fixtures_review import serving
    from review.web import create_app

    def boom(request):
        raise RuntimeError("a bug")

    app = create_app(review_db)
    app.add_route("/boom", boom)
    with serving(app) as url:
        for path, status in (("/boom", 500), ("/no/such/page", 404)):
            with pytest.raises(urllib.error.HTTPError) as failed:
                urllib.request.urlopen(url + path, timeout=10)
            assert failed.value.code == status
            headers = failed.value.headers
            assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
            assert headers["X-Frame-Options"] == "DENY" and headers["Cache-Control"] == "no-store", path
            assert "a bug" not in failed.value.read().decode()


# -- X-Forwarded-For ------------------------------------------------------------------------------------
def sign_in_forwarded(context, name: str, password: str, forwarded_for: str) -> int:
    html = context.request.get("/login").text()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return context.request.post("/login", form={"csrf_token": csrf, "name": name, "password": password},
                                headers={"X-Forwarded-For": forwarded_for}, max_redirects=0).status


def last_login_ip(server, name: str):
    found = rows(server, "SELECT json_extract(detail, '$.ip') FROM audit_log WHERE actor = ? AND action = 'login' "
                         "ORDER BY id DESC LIMIT 1", [name])
    return found[0][0] if found else None


def test_x_forwarded_for_is_believed_only_from_a_configured_proxy(browser, review_db, review_server):
    from tests.fixtures_review import serving
    from review.web import create_app

    password = review_server.passwords["gina"]
    context = browser.new_context(base_url=review_server.url)
    try:                                    # no proxy configured: the header is the client's own word
        assert sign_in_forwarded(context, "gina", password, "198.51.100.7") == 303
    finally:
        context.close()
    assert last_login_ip(review_server, "gina") == "127.0.0.1"
    with serving(create_app(review_db, trusted_proxies=["127.0.0.1"])) as url:
        context = browser.new_context(base_url=url)
        try:                                # behind a trusted proxy: the right-most address it added
            assert sign_in_forwarded(context, "gina", password, "203.0.113.50, 198.51.100.9") == 303
        finally:
            context.close()
    assert last_login_ip(review_server, "gina") == "198.51.100.9"


@pytest.mark.parametrize("value, message", [("127.0.0.1", "must be a list"), (["*"], "not an IP address"),
                                            (["proxy.internal"], "not an IP address")])
def test_trusted_proxies_must_be_addresses(value, message):
    from review.web.security import trusted_proxies

    with pytest.raises(ValueError, match=message):
        trusted_proxies(value)
    assert trusted_proxies(["10.0.0.0/8", "::1"]) == ["10.0.0.0/8", "::1/128"]


def test_sweep_review_refuses_a_wildcard_proxy_before_serving(tmp_path):
    from click.testing import CliRunner

    from cli.main import cli

    config = tmp_path / "sweep.toml"
    config.write_text('[web]\ntrusted_proxies = ["*"]\n')
    open_db(tmp_path / "sweep.db").conn.close()
    result = CliRunner().invoke(cli, ["review", "--db", str(tmp_path / "sweep.db"), "--config", str(config)],
                                env={"SWEEP_SESSION_KEY": "k" * 40})
    assert result.exit_code != 0 and "trusted_proxies" in result.output and "Traceback" not in result.output


def test_sweep_review_refuses_a_missing_database(tmp_path):
    """A mistyped --db used to be created empty and served as an empty queue."""
    from click.testing import CliRunner

    from cli.main import cli

    missing = tmp_path / "typo.db"
    result = CliRunner().invoke(cli, ["review", "--db", str(missing)], env={"SWEEP_SESSION_KEY": "k" * 40})
    assert result.exit_code != 0 and "no database at" in result.output and not missing.exists()
