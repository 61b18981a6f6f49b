"""Issue 13, the reviewer's side, in real Chromium: bulk decisions keep each listing's category,
undo and reopen, category keys and the queue search, "needs a person", colour emoji and a
layout that works at 390 px."""
from __future__ import annotations

import colorsys
import http.server
import io
import threading

import pytest
from playwright.sync_api import expect

from classifier import HARMFUL
from tests.fixtures_review import listing_id, signed_in
from tests.test_review_web import claimed, keys_ready, rows, state

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def colourful_pixels(png: bytes) -> int:
    """Pixels of clear colour (saturated, not near black/white): a colour emoji has many, a tofu box none."""
    from PIL import Image

    data = Image.open(io.BytesIO(png)).convert("RGB").tobytes()
    count = 0
    for i in range(0, len(data), 3):
        _, s, v = colorsys.rgb_to_hsv(data[i] / 255, data[i + 1] / 255, data[i + 2] / 255)
        count += s > 0.5 and v > 0.4
    return count


def test_bulk_confirm_keeps_each_listings_category_and_marks_a_changed_one(browser, review_server):
    ids = [listing_id(p, "souk") for p in ("211", "212", "213")]
    labels = dict(rows(review_server, "SELECT id, label FROM listings WHERE id IN (?, ?, ?)", ids))
    assert len(set(labels.values())) >= 2                   # the model sees different tools here
    changed = next(c for c in HARMFUL if c != labels[ids[2]])
    with signed_in(browser, review_server, "root") as page:
        page.goto("/seller?id=souk:s-mix")
        for lid in ids:                                      # each row starts at its own label
            expect(page.locator(f'select[name="category:{lid}"]')).to_have_value(labels[lid])
        page.select_option(f'select[name="category:{ids[2]}"]', changed)
        page.check("#select-all")
        page.click("#bulk-form button[type=submit]")
        expect(page.locator(".flash.ok")).to_have_text("3 listing(s) decided.")
        # the changed one is shown as differing from the model: seller page, listing page, audit log
        expect(page.locator(".differs")).to_have_count(1)
        expect(page.locator(".differs")).to_have_text(f"decided {changed}")
        page.goto(f"/listing?id={ids[2]}")
        expect(page.locator("p.review .differs")).to_have_text(f"differs from the model's {labels[ids[2]]}")
        page.goto(f"/audit?listing={ids[2]}")
        expect(page.locator("table.audit .differs")).to_have_text(
            f"category differs from the model's {labels[ids[2]]}")
    decided = dict(rows(review_server, "SELECT listing_id, category FROM reviews WHERE listing_id IN (?, ?, ?)", ids))
    assert decided == {ids[0]: labels[ids[0]], ids[1]: labels[ids[1]], ids[2]: changed}


def test_number_keys_choose_the_category_and_u_undoes_the_decision(browser, review_server):
    first = listing_id("221", "souk")
    with signed_in(browser, review_server, "hana") as page:
        page.goto(f"/listing?id={first}")
        keys_ready(page)
        claimed(page)
        model = page.locator("#category").get_attribute("data-model")
        pick = next(n for n, c in enumerate(HARMFUL, 1) if c != model)
        expect(page.locator("#category-differs")).to_be_hidden()
        page.keyboard.press(str(pick))
        expect(page.locator("#category")).to_have_value(HARMFUL[pick - 1])
        expect(page.locator("#category-differs")).to_be_visible()    # not the model's label: said so
        page.keyboard.press("y")
        expect(page.locator(".flash.ok")).to_have_text(f"Confirmed {first} as {HARMFUL[pick - 1]}.")
        expect(page.locator("#undo-form")).to_contain_text(f"You confirmed {first}.")
        keys_ready(page)
        page.keyboard.press("u")
        expect(page.locator(".flash.ok")).to_have_text(f"Undone: {first} is back in the queue.")
        expect(page.locator("#undo-form")).to_have_count(0)
        page.goto("/queue?platform=souk")           # back in the queue, with the earlier choice pointed out
        expect(page.locator(f'tr.row[data-id="{first}"] .differs')).to_have_text(f"was decided {HARMFUL[pick - 1]}")
    assert state(review_server, first) == "flagged"
    actions = rows(review_server, "SELECT actor, action FROM audit_log WHERE listing_id = ? AND actor = 'hana' "
                                  "ORDER BY id", [first])
    assert actions == [("hana", "state:flagged->confirmed"), ("hana", "state:confirmed->flagged")]


def test_the_queue_search_finds_a_listing_by_contact_seller_or_title(browser, review_server):
    target = listing_id("231", "souk")
    with signed_in(browser, review_server, "alice") as page:
        page.goto("/queue")
        keys_ready(page)
        page.keyboard.press("/")
        assert page.evaluate("document.activeElement.id") == "queue-search"
        for text in ("abc_demo", "寻找测试", "多卡设备"):         # a contact, the seller's name, the title
            page.fill("#queue-search", text)
            page.keyboard.press("Enter")
            expect(page.locator("tr.row")).to_have_count(1)
            expect(page.locator("tr.row")).to_have_attribute("data-id", target)
            assert "q=" in page.url
        page.fill("#queue-search", "%")
        page.keyboard.press("Enter")
        expect(page.locator("tr.row")).to_have_count(0)


def test_a_listing_whose_escalation_ran_out_needs_a_person(browser, review_server):
    stuck = listing_id("160", "souk")
    with signed_in(browser, review_server, "alice") as page:
        page.goto("/queue")
        expect(page.locator("#needs-person")).to_contain_text("needs a person")
        expect(page.locator(f'#needs-person a[href="/listing?id={stuck.replace(":", "%3A")}"]')).to_have_count(1)
        page.goto("/dashboard")
        expect(page.locator("#stat-needs-person")).to_have_text("1")
        expect(page.locator("ul#needs-person li")).to_have_count(1)


def test_an_admin_reopens_a_reported_listing_and_its_report_is_queued_for_withdrawal(browser, review_server):
    lid = listing_id("170", "souk")
    with signed_in(browser, review_server, "alice") as page:
        page.goto(f"/listing?id={lid}")
        expect(page.locator("#reopen-form")).to_have_count(0)            # reviewers cannot
    with signed_in(browser, review_server, "root") as page:
        page.goto(f"/listing?id={lid}")
        page.fill("#reopen-reason", "seller showed a licence")
        page.click("#reopen-form button[type=submit]")
        expect(page.locator(".flash.ok")).to_contain_text(f"Reopened {lid}; the next `sweep report` withdraws")
    assert state(review_server, lid) == "flagged"
    assert rows(review_server, "SELECT listing_id, reason, requested_by, state FROM withdrawals") == [
        (lid, "seller showed a licence", "root", "pending")]


def test_an_emoji_renders_as_a_colour_glyph_in_the_ui(browser, review_server):
    with signed_in(browser, review_server, "root") as page:
        page.goto(f"/listing?id={listing_id('240', 'souk')}")
        claimed(page)                       # the claim's answer changes the text above: measure after it
        page.evaluate("document.fonts.ready.then(() => true)")
        box = page.evaluate("""() => {
            const el = document.getElementById('listing-description');
            const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const at = node.data.indexOf('\\u{1F408}');
                if (at < 0) continue;
                const range = document.createRange();
                range.setStart(node, at);
                range.setEnd(node, at + 2);
                const r = range.getBoundingClientRect();
                return {x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height};
            }
            return null;
        }""")
        assert box and box["width"] > 4
        shot = page.screenshot(clip=box, full_page=True)
    assert colourful_pixels(shot) >= 20


def test_evidence_screenshots_draw_emoji_in_colour(tmp_path):
    from outbound.policy import Policy
    from takedown.evidence import Browser

    page = "<html><body style='background:#fff;color:#000;font-size:40px'>猫🐈池</body></html>".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    got = {}

    def shoot():            # its own thread: the session's Playwright already runs a loop in this one
        shooter = Browser()
        try:
            allowed = Policy(("127.0.0.1",), allow_loopback=True)      # every evidence fetch is held to a policy
            got["png"], got["text"], _ = shooter.screenshot(f"http://127.0.0.1:{server.server_port}/", "Sweep-test",
                                                            allowed)
        finally:
            shooter.close()

    worker = threading.Thread(target=shoot)
    try:
        worker.start()
        worker.join(120)
    finally:
        server.shutdown()
        server.server_close()
    png, text = got["png"], got["text"]
    assert "🐈" in text
    assert colourful_pixels(png) >= 50


@pytest.mark.parametrize("path", ["/queue", "/dashboard", "/audit", "/seller?id=marketplace:s-bulk",
                                  "/seller?id=souk:s-mix", f"/listing?id={listing_id('240', 'souk')}"])
def test_pages_fit_a_390_px_phone(browser, review_server, path):
    with signed_in(browser, review_server, "root") as page:
        page.set_viewport_size(PHONE)
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide"


def test_confirm_is_on_the_first_screen_of_the_listing_page_at_390_px(browser, review_server):
    with signed_in(browser, review_server, "root") as page:
        page.set_viewport_size(PHONE)
        page.goto(f"/listing?id={listing_id('240', 'souk')}")
        claimed(page)
        box = page.locator("#confirm-form button.confirm").bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box
        assert box["x"] + box["width"] <= PHONE["width"]
