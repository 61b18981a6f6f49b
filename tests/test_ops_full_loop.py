"""The whole takedown loop against a private sandbox, with every part real:

crawl (Scrapy) → flag (the bundled model) → evidence (Chromium, WACZ) → a reviewer confirms in
the browser → exactly one report per listing reaches the sandbox and one e-mail reaches
aiosmtpd → the sandbox removes the listing → recheck marks it removed after two consistent
checks; a listing that stays up is escalated; a relist by the same seller is linked.
Business time moves with --now; the network does not.
"""
from __future__ import annotations

import json
import socket
import sqlite3
import threading
import urllib.request
from datetime import UTC, datetime, timedelta

import yaml
from playwright.sync_api import expect

from crawler.profile import PROFILE_DIR
from tests.conftest import base_url_args, sweep
from tests.helpers import wait_for

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


def pick(catalogue, model, outcome: str, taken: set):
    """A harmful marketplace item with this moderation outcome, found by searching its title."""
    for row in catalogue.market.values():
        if (row.outcome == outcome and row.label != "benign" and not row.js_description and "," not in row.title
                and row.seller_id not in taken and row.title not in "".join(r.title for r in catalogue.market.values()
                                                                             if r is not row)):
            if model.predict([{"title": row.title, "description": row.description, "kind": "ecommerce",
                               "price": row.price}], explain_top=0)[0]["flagged"]:
                taken.add(row.seller_id)
                return row
    raise AssertionError(f"no flagged {outcome} listing in the catalogue")


def search_only_profile(tmp_path, keywords: list[str]):
    data = yaml.safe_load((PROFILE_DIR / "marketplace.yaml").read_text(encoding="utf-8"))
    data["seeds"] = {"search": ["/search?q={keyword}"], "keywords": keywords}
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "marketplace.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


def serve_review(db_path):
    import uvicorn

    from review.web import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(db_path), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 20, what="the review UI to start")
    return server, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_the_full_takedown_loop(fresh_sandbox, catalogue, model_path, browser, smtp_server, tmp_path):
    from classifier.predict import shared

    model = shared(str(model_path))
    taken: set = set()
    gone, stays, relists = (pick(catalogue, model, o, taken) for o in ("gone_404", "never", "relist"))
    rows = {"gone": gone, "stays": stays, "relists": relists}
    db = tmp_path / "sweep.db"
    profiles = search_only_profile(tmp_path, [r.title for r in rows.values()])
    crawl = ["crawl", "--db", str(db), "--profiles", str(profiles),
             *base_url_args({"marketplace": fresh_sandbox.urls["marketplace"]})]

    # Crawl and flag.
    sweep(*crawl)
    con = sqlite3.connect(db)
    for row in rows.values():
        assert con.execute("SELECT state FROM listings WHERE id = ?", [row.key]).fetchone() == ("flagged",), row.key

    # Evidence, captured once.
    sweep("evidence", "--db", str(db))
    evidence = dict(con.execute("SELECT listing_id, wacz_sha256 FROM evidence").fetchall())
    assert set(evidence) >= {r.key for r in rows.values()} and all(len(d) == 64 for d in evidence.values())
    sweep("evidence", "--db", str(db))
    assert con.execute("SELECT count(*) FROM evidence").fetchone()[0] == len(evidence)

    # A reviewer confirms each listing in the browser, with the keyboard.
    from store.db import open_db
    from review.users import Users

    Users(open_db(db)).add("rita", "reviewer", "correct horse battery staple", actor="tests")
    server, thread, url = serve_review(db)
    try:
        context = browser.new_context(base_url=url)
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=name]", "rita")
        page.fill("input[name=password]", "correct horse battery staple")
        page.click("button[type=submit]")
        page.wait_for_url("**/queue")
        for row in rows.values():
            page.goto(f"/listing?id={row.key}")
            page.wait_for_selector("html[data-keys=ready]")
            page.keyboard.press("y")
            expect(page.locator(".flash.ok")).to_contain_text(f"Confirmed {row.key}")
        context.close()
    finally:
        server.should_exit = True
        thread.join(10)
    for row in rows.values():
        assert con.execute("SELECT state FROM listings WHERE id = ?", [row.key]).fetchone() == ("confirmed",)

    # File: exactly one report per listing at the sandbox, one e-mail each at aiosmtpd.
    config = tmp_path / "sweep.toml"
    config.write_text(f'[channels.smtp]\nhost = "{smtp_server.host}"\nport = {smtp_server.port}\n'
                      f'from_addr = "sweep@example.org"\n', encoding="utf-8")
    smtp_server.clear()
    sweep("report", "--db", str(db), "--config", str(config), "--now", at(0))
    sweep("report", "--db", str(db), "--config", str(config), "--now", at(0.5))     # nothing left to file
    with urllib.request.urlopen(fresh_sandbox.urls["marketplace"] + "/api/reports") as resp:
        filed = json.loads(resp.read())
    filed_keys = [k for report in filed for k in report["listings"]]
    assert sorted(filed_keys) == sorted(r.key for r in rows.values())
    assert len(smtp_server.messages) == 3
    assert sorted(m.message["Subject"] for m in smtp_server.messages) == sorted(
        {m.message["Subject"] for m in smtp_server.messages})
    for row in rows.values():
        assert con.execute("SELECT state FROM listings WHERE id = ?", [row.key]).fetchone() == ("reported",)

    def taken_down() -> bool:             # the sandbox takes reported listings down after 0.3 s
        removed = set()
        for report in filed:
            with urllib.request.urlopen(f"{fresh_sandbox.urls['marketplace']}/api/report/{report['report_id']}") as r:
                removed |= set(json.loads(r.read())["removed"])
        return {gone.key, relists.key} <= removed

    wait_for(taken_down, 30, what="the sandbox to take the reported listings down")

    # Recheck: two consistent "gone" checks 24 h apart make it removed; the other stays up.
    sweep("recheck", "--db", str(db), "--config", str(config), "--now", at(2))
    assert con.execute("SELECT state FROM listings WHERE id = ?", [gone.key]).fetchone() == ("reported",)
    sweep("recheck", "--db", str(db), "--config", str(config), "--now", at(27))
    assert con.execute("SELECT state FROM listings WHERE id = ?", [gone.key]).fetchone() == ("removed",)
    assert con.execute("SELECT state FROM listings WHERE id = ?", [relists.key]).fetchone() == ("removed",)

    # The seller relists under a new id; the next crawl finds it and the recheck links it.
    sweep(*crawl)
    new_ids = [r[0] for r in con.execute("SELECT id FROM listings WHERE seller_id = ? AND id != ?",
                                         [f"marketplace:{relists.seller_id}", relists.key])]
    assert len(new_ids) == 1
    sweep("recheck", "--db", str(db), "--config", str(config), "--now", at(50))
    assert con.execute("SELECT relisted_from FROM relists WHERE listing_id = ?", [new_ids[0]]).fetchone() == (
        relists.key,)
    assert con.execute("SELECT state FROM listings WHERE id = ?", [new_ids[0]]).fetchone() == ("relisted",)

    # Still live past the 48 h deadline: escalated and re-filed.
    assert con.execute("SELECT state FROM listings WHERE id = ?", [stays.key]).fetchone()[0] in ("escalated",
                                                                                                  "still_live")
    sweep("report", "--db", str(db), "--config", str(config), "--now", at(50.5))
    levels = [r[0] for r in con.execute(
        "SELECT r.escalation_level FROM reports r JOIN report_listings rl ON rl.report_id = r.id "
        "WHERE rl.listing_id = ? ORDER BY r.id", [stays.key])]
    assert max(levels) >= 1, levels
    actions = [r[0] for r in con.execute("SELECT action FROM audit_log WHERE listing_id = ? ORDER BY id", [stays.key])]
    assert "state:reported->still_live" in actions and "state:still_live->escalated" in actions
