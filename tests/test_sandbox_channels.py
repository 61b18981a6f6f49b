"""The code host and the channel site of the sandbox: their own paging, pages, content rules,
and the same robots/429/report/removal behaviour as the other platforms."""
from __future__ import annotations

import json
import re

import pytest

from sandbox.catalogue import DATA_DIR, load_rows
from sandbox.process import SandboxProcess
from tests.helpers import ROOT, fetch, post_json, wait_for



def test_new_platforms_keep_the_prevalence_and_harmful_rows_of_every_category(catalogue):
    for rows in (catalogue.repos, catalogue.channels):
        harmful = [r for r in rows.values() if r.label != "benign"]
        assert harmful and len(rows) - len(harmful) >= 10 * len(harmful)
    labels = {r.label for r in catalogue.repos.values()}
    assert {"call_bomber", "caller_id_spoof", "sms_bomber", "modem_pool", "voice_gateway", "benign"} <= labels
    assert any(r.extra["config"] for r in catalogue.repos.values() if r.label == "sms_bomber")
    assert any(p["forwarded"] for r in catalogue.channels.values() for p in r.extra["posts"])


def test_sandbox_text_uses_placeholder_domains_and_shares_nothing_with_the_classifier():
    rows = [r for r in load_rows(DATA_DIR) if r["kind"] in ("code", "social")]
    text = json.dumps(rows, ensure_ascii=False)
    domains = set(re.findall(r"\b(?:[a-z0-9-]+\.)+[a-z]{2,}\b", text.lower()))
    domains -= {d for d in domains if re.search(r"\.(apk|exe|zip|yaml|yml|json|conf|ini|md|py|txt)$", d)}
    assert domains and all(d.endswith((".sandbox.test", ".example.invalid", "t.me")) for d in domains), domains
    lines = {s.strip() for r in rows for field in ("title", "description") for s in r[field].split("\n")
             if len(s.strip()) >= 12 and not s.strip().startswith("#")}      # a README heading is not a sentence
    theirs = ""
    for path in [*(ROOT / "classifier/corpus").glob("*.jsonl"), *(ROOT / "classifier/eval").glob("*.jsonl")]:
        theirs += path.read_text(encoding="utf-8")
    assert not [line for line in lines if line in theirs]


def test_code_search_api_pages_by_link_header(sandbox, catalogue):
    url = f"{sandbox.urls['codehost']}/api/search/repositories?q=%E5%8A%9F%E8%83%BD"     # 功能
    seen, pages = [], 0
    while url and pages < 20:
        status, headers, body = fetch(url)
        data = json.loads(body)
        assert status == 200 and "rel=\"last\"" in headers["Link"]
        seen += [item["full_name"] for item in data["items"]]
        nxt = re.search(r'<([^>]+)>; rel="next"', headers["Link"])
        url, pages = nxt and nxt.group(1), pages + 1
    assert pages > 1 and len(seen) == len(set(seen)) == data["total_count"]
    assert all("功能" in catalogue.repos[n].title + catalogue.repos[n].description for n in seen)


def test_repository_page_readme_topics_stars_releases_and_config(sandbox, catalogue):
    row = catalogue.repos["demo-hzq/duanxin-yace"]
    _, _, body = fetch(f"{sandbox.urls['codehost']}/{row.pid}")
    page = body.decode()
    assert 'id="readme"' in page and "window.__REPO_STATE__" in page
    assert all(t in page for t in row.extra["topics"]) and all(f in page for f in row.extra["files"])
    status, _, blob = fetch(f"{sandbox.urls['codehost']}/{row.pid}/blob/main/{row.extra['config']['path']}")
    assert status == 200 and b"sms-verify.sandbox.test" in blob
    status, _, _ = fetch(f"{sandbox.urls['codehost']}/{row.pid}/releases/download/v1.0/{row.extra['files'][0]}")
    assert status == 403                                     # names only: the sandbox distributes nothing


def test_channel_loads_older_posts_by_before_and_directory_pages_by_number(sandbox, catalogue):
    row = max(catalogue.channels.values(), key=lambda r: len(r.extra["posts"]))
    url, got = f"{sandbox.urls['social']}/s/{row.pid}", []
    for _ in range(20):
        _, _, body = fetch(url)
        page = body.decode()
        got = re.findall(r'data-post="(\d+)"', page) + got
        older = re.search(r'class="load-older" href="([^"]+)"', page)
        if not older:
            break
        url = sandbox.urls["social"] + older.group(1)
    assert [int(i) for i in got] == [p["id"] for p in row.extra["posts"]] and len(got) > 10
    _, _, body = fetch(f"{sandbox.urls['social']}/channels?page=2")
    total = int(re.search(r'data-total="(\d+)"', body.decode()).group(1))
    assert total == len(catalogue.channels) and "next" not in body.decode()


@pytest.mark.crawl                   # sandbox processes of their own
def test_report_intake_and_removal_on_the_new_platforms(catalogue):
    with SandboxProcess(rate_limit=0, takedown_delay=0.2) as sb:
        for platform, rows, path in (("codehost", catalogue.repos, "/{}"), ("social", catalogue.channels, "/s/{}")):
            row = next(r for r in rows.values() if r.outcome == "gone_410")
            status, body = post_json(f"{sb.urls[platform]}/api/report", {
                "url": path.format(row.pid), "category": "sms_bomber", "reason": "test", "idempotency_key": "k1"})
            assert status == 201 and body["listings"] == [row.key]
            again, body2 = post_json(f"{sb.urls[platform]}/api/report",
                                     {"url": path.format(row.pid), "idempotency_key": "k1"})
            assert again == 200 and body2["duplicate"]
            wait_for(lambda: fetch(sb.urls[platform] + path.format(row.pid))[0] == 410, what=f"{row.key} removed")
        status, headers, _ = fetch(f"{sb.urls['social']}/robots.txt")
        assert status == 200
    with SandboxProcess(rate_limit=3) as sb:
        statuses = [fetch(f"{sb.urls['codehost']}/explore")[0] for _ in range(8)]
    assert 429 in statuses


@pytest.mark.crawl
def test_recheck_reads_every_removal_signal_of_the_new_platforms(catalogue):
    """Each moderation outcome, as the code host and the channel site show it, is read as gone by
    the profile's ``listing.removed`` block (and a listing never removed stays live)."""
    from crawler.profile import load_profiles
    from outbound.policy import Policy
    from outbound.session import PolicySession
    from takedown.page_check import fetch_check

    profiles = {p.name: p for p in load_profiles()}
    expected = {"gone_404": "http_404", "gone_410": "http_410", "soft_removed": "text:", "relist": "text:",
                "redirect": "redirect:", "never": None}
    with SandboxProcess(rate_limit=0, takedown_delay=0.1) as sb:
        for platform, rows, path in (("codehost", catalogue.repos, "/{}"), ("social", catalogue.channels, "/s/{}")):
            session = PolicySession(Policy.of(profiles[platform]))      # rechecks fetch only through the policy
            removed = profiles[platform].listing["removed"]
            picked = {}
            for row in rows.values():
                picked.setdefault(row.outcome, row)
            assert set(picked) == set(expected), platform
            reports = {}
            for outcome, row in picked.items():
                status, body = post_json(f"{sb.urls[platform]}/api/report", {"url": path.format(row.pid)})
                assert status == 201
                reports[outcome] = body["report_id"]

            def removed_keys():
                return {k for rid in reports.values()
                        for k in json.loads(fetch(f"{sb.urls[platform]}/api/report/{rid}")[2])["removed"]}

            # until the platform has removed what it will remove
            wait_for(lambda: {picked[o].key for o in expected if expected[o]} <= removed_keys(), what="removals")
            for outcome, row in picked.items():
                result = fetch_check(session, sb.urls[platform] + path.format(row.pid), removed)
                if expected[outcome] is None:
                    assert result.status == "live", (platform, outcome)
                else:
                    assert result.status == "gone" and result.signal.startswith(expected[outcome]), (
                        platform, outcome, result)
