"""用不了 (issue #11 §3): abused endpoints out of bomber repositories' config files, grouped by owning
domain, owners notified once through the outbox — and never a request to an abused endpoint."""
from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from crawler.profile import ProfileError, parse_profile
from sandbox.endpointhost import EndpointHost
from common.config import Config
from store.db import open_db
from takedown.endpoints.contact import ContactFinder, parse_security_txt
from takedown.endpoints.extract import extract
from takedown.endpoints.notify import notify
from takedown.endpoints.store import collect, domains
from takedown.delivery import send_pending
from takedown.outbox import plan_reports
from tests.conftest import sweep

HOSTILE_JSON = json.dumps([
    {"name": "demo-a", "url": "https://api.shop-a.sandbox.test/sms/send?mobile={phone}&sign=abc123",
     "headers": {"Cookie": "sid=SECRETCOOKIE", "Authorization": "Bearer SECRETTOKEN",
                 "Referer": "https://ref.sandbox.test/not-an-endpoint"},
     "data": {"phone": "{phone}", "token": "SECRETBODY", "callback": "https://cb.sandbox.test/body-url"}},
    {"desc": "demo-b", "endpoint": "https://user:pw@otp.demo-b.example.invalid/v2/ABCDEFGHIJKLMNOPQRSTUVWXYZ0123/code"},
])
HOSTILE_PY = '''import requests  # never executed: read as data
APIS = [
    "https://reg.sandbox.test/api/verify?phone={}",
    ("https://login.sandbox.test/getcode", "demo-tuple"),
    __import__("os").system("echo no"),
]
SMS = ["https://sms.sandbox.test/a"]
'''


def test_config_shapes_yield_host_path_and_description_only():
    eps = extract(HOSTILE_JSON)
    assert [(e.domain, e.host, e.path, e.description) for e in eps] == [
        ("sandbox.test", "api.shop-a.sandbox.test", "/sms/send", "demo-a"),
        ("example.invalid", "otp.demo-b.example.invalid", "/v2/{secret}/code", "demo-b")]
    kept = json.dumps([e.__dict__ for e in eps])
    for secret in ("SECRET", "sign=", "mobile", "pw", "ref.sandbox.test", "cb.sandbox.test"):
        assert secret not in kept
    yaml_eps = extract("- name: demo-login\n  url: https://sms-verify.sandbox.test/api/code\n  method: POST\n"
                       "# ……共 216 项，完整列表见群文件")
    assert [(e.host, e.path, e.description) for e in yaml_eps] == [
        ("sms-verify.sandbox.test", "/api/code", "demo-login")]
    # A Python list is parsed as a literal, never run; a call in it makes that literal unreadable, so the
    # file's URLs are scanned instead.
    assert {(e.host, e.path) for e in extract(HOSTILE_PY)} == {
        ("reg.sandbox.test", "/api/verify"), ("login.sandbox.test", "/getcode"), ("sms.sandbox.test", "/a")}
    assert extract("[line1]\nhost = sip.sandbox.test\nuser = demo01\n") == []     # no URL: nothing to notify
    assert extract("not: [valid") == [] and extract("") == []


def test_security_txt_contact_parsing():
    assert parse_security_txt("Contact: https://x.test/form\nContact: mailto:sec@x.test\n"
                              "Expires: 2099-01-01T00:00:00Z")[0] == "sec@x.test"
    assert parse_security_txt("Contact: mailto:sec@x.test\nExpires: 2001-01-01T00:00:00Z")[0] is None
    assert "no e-mail" in parse_security_txt("Contact: https://x.test/form")[1]


def test_profile_attachments_match_must_be_a_regex():
    data = {"name": "bad", "kind": "code", "base_url": "http://127.0.0.1:1", "allowed_hosts": ["127.0.0.1"],
            "seeds": {"pages": ["/"]}, "list": {"links": "css:a::attr(href)"},
            "listing": {"url": "/(?P<id>x)", "fields": {"title": "css:h1::text", "description": "css:p::text"},
                        "attachments": {"links": "css:a::attr(href)", "match": "(unclosed"}}}
    with pytest.raises(ProfileError, match="listing.attachments.match"):
        parse_profile(data, "bad.yaml")


def test_security_txt_lookups_pass_the_outbound_policy(tmp_path):
    with EndpointHost() as host:
        # Mapped to loopback without allow_loopback: refused before any connection.
        refused = ContactFinder({**host.settings(), "allow_loopback": False}).find("sandbox.test")
        outside = ContactFinder(host.settings(allow_hosts=["example.invalid"])).find("sandbox.test")
        found = ContactFinder(host.settings()).find("sandbox.test")
        missing = ContactFinder(host.settings()).find("example.invalid")
    assert refused.address is None and "outbound policy" in refused.error
    assert outside.address is None and "allow_hosts" in outside.error
    assert (found.address, found.source) == ("security@sandbox.test", "security.txt")
    assert missing.address is None and "HTTP 404" in missing.error
    assert host.lookups == ["sandbox.test", "example.invalid"] and host.hits == []


@pytest.fixture(scope="module")
def code_db(sandbox, model_path, tmp_path_factory):
    db = tmp_path_factory.mktemp("endpoints") / "sweep.db"
    sweep("crawl", "--db", str(db), "--platform", "codehost", "--base-url", f"codehost={sandbox.urls['codehost']}")
    return db


def _toml(settings: dict, smtp: dict) -> str:
    def value(v):
        if isinstance(v, dict):
            return "{" + ", ".join(f'"{k}" = {value(x)}' for k, x in v.items()) + "}"
        return json.dumps(v)
    lines = ["[endpoints]", *(f"{k} = {value(v)}" for k, v in settings.items()), "[channels.smtp]",
             *(f"{k} = {value(v)}" for k, v in smtp.items())]
    return "\n".join(lines) + "\n"


def test_crawl_extract_notify_once_and_never_touch_an_endpoint(code_db, sandbox, smtp_server, tmp_path):
    db_path = tmp_path / "sweep.db"
    shutil.copy(code_db, db_path)
    smtp_server.clear()
    with EndpointHost() as host:
        config = tmp_path / "sweep.toml"
        settings = host.settings(contacts={"example.invalid": "abuse@example.invalid"})
        config.write_text(_toml(settings, smtp_server.config()), encoding="utf-8")
        out = sweep("endpoints", "--notify", "--json", "--db", str(db_path), "--config", str(config))
        rows = {r["domain"]: r for r in json.loads(out.stdout)}
        # Grouped by owning domain across repositories: two repositories cite sandbox.test.
        assert set(rows) == {"sandbox.test", "example.invalid"}
        st = rows["sandbox.test"]
        assert (st["endpoints"], st["repositories"]) == (3, 2)
        assert {(e["host"], e["path"]) for e in st["endpoint_list"]} == {
            ("sms-verify.sandbox.test", "/api/code"), ("otp.sandbox.test", "/v1/send"),
            ("sms-verify.sandbox.test", "/signup/otp")}
        assert st["contact"] == "security@sandbox.test" and st["contact_source"] == "security.txt"
        assert rows["example.invalid"]["contact_source"] == "configured"
        assert st["report_id"] and st["notified_at"] is None           # filed, not sent yet

        db = open_db(db_path)
        # The repository that is confirmed on its own platform must still get its own report.
        repo = "codehost:demo-hzq/duanxin-yace"
        db.execute("UPDATE listings SET state = 'confirmed' WHERE id = ?", [repo])
        db.conn.commit()
        smtp = Config({"channels": {"smtp": smtp_server.config()}, "reports": {"require_evidence": False}})
        sent = send_pending(db, smtp)
        assert sent.get("sent") == 2
        # Exactly once: running again files nothing and sends nothing.
        assert notify(db, settings) == {}
        sweep("endpoints", "--notify", "--db", str(db_path), "--config", str(config))
        assert send_pending(db, smtp) == {}
        assert db.execute("SELECT count(*) FROM reports WHERE platform LIKE 'endpoint:%'").fetchone()[0] == 2

    to = {m.rcpt_tos[0]: m.message for m in smtp_server.messages}
    assert set(to) == {"security@sandbox.test", "abuse@example.invalid"}
    body = to["security@sandbox.test"].get_content()
    assert "sms-verify.sandbox.test/api/code" in body and "otp.sandbox.test/v1/send" in body
    assert f"{sandbox.urls['codehost']}/demo-hzq/duanxin-yace" in body
    assert "field" not in body and "mobile" not in body and "method" not in body
    assert db.execute("SELECT state FROM listings WHERE id = ?", [repo]).fetchone()[0] == "confirmed"
    assert plan_reports(db, smtp) >= 1
    assert db.execute("SELECT count(*) FROM report_listings rl JOIN reports r ON r.id = rl.report_id "
                      "WHERE rl.listing_id = ? AND r.platform = 'codehost'", [repo]).fetchone()[0] >= 1
    # The one request per domain was its security.txt; nothing reached an endpoint path.
    assert host.hits == [], host.hits
    assert host.lookups == ["sandbox.test"]

    # A newer crawl still finds the endpoints after the notice; the owner acknowledges.
    sweep("crawl", "--db", str(db_path), "--platform", "codehost", "--base-url", f"codehost={sandbox.urls['codehost']}")
    sweep("endpoints", "--ack", "sandbox.test", "--note", "限流已加", "--db", str(db_path))
    rows = {r["domain"]: r for r in json.loads(sweep("endpoints", "--json", "--db", str(db_path)).stdout)}
    assert rows["sandbox.test"]["still_listed"] == 2 and rows["sandbox.test"]["acknowledged_at"]
    assert rows["sandbox.test"]["notified_at"]
    table = sweep("endpoints", "--db", str(db_path)).stdout
    assert "sandbox.test" in table and "still listed" in table


def test_the_sandbox_endpoint_host_sees_lookups_and_never_an_endpoint(code_db, sandbox, smtp_server, tmp_path):
    """`sweep sandbox`/`demo` run the endpoint host beside the platforms and the code host's configs name
    its port, so Sweep reaching an endpoint would land there: after the crawl (code_db) and endpoints
    collection + notice, it recorded security.txt lookups and not one endpoint request."""
    import requests

    from sandbox.endpointhost import endpoint_settings

    port = int(sandbox.endpoint_host.rsplit(":", 1)[1])
    extra = open_db(code_db).execute("SELECT extra FROM listings WHERE id = 'codehost:demo-hzq/duanxin-yace'"
                                     ).fetchone()[0]
    assert f"sms-verify.sandbox.test:{port}/api/code" in extra          # the crawled config points there
    db_path = tmp_path / "sweep.db"
    shutil.copy(code_db, db_path)
    config = tmp_path / "sweep.toml"
    config.write_text(_toml(endpoint_settings(port, contacts={"example.invalid": "abuse@example.invalid"}),
                            smtp_server.config()), encoding="utf-8")
    rows = {r["domain"]: r for r in json.loads(sweep("endpoints", "--notify", "--json", "--db", str(db_path),
                                                     "--config", str(config)).stdout)}
    assert {(e["host"], e["path"]) for e in rows["sandbox.test"]["endpoint_list"]} >= {
        ("sms-verify.sandbox.test", "/api/code"), ("otp.sandbox.test", "/v1/send")}
    assert rows["sandbox.test"]["contact"] == "security@sandbox.test"     # looked up at the endpoint host
    seen = sandbox.endpoint_hits()
    assert "sandbox.test" in seen["lookups"] and seen["hits"] == [], seen
    # And it does record one: a request to a config's endpoint, as Sweep must never send.
    probe = requests.get(f"http://127.0.0.1:{port}/api/code", headers={"Host": f"sms-verify.sandbox.test:{port}"},
                         timeout=10)
    assert probe.status_code == 403
    assert sandbox.endpoint_hits()["hits"] == [["GET", "sms-verify.sandbox.test", "/api/code"]]


def test_only_bomber_repositories_are_read(code_db, tmp_path):
    db_path = tmp_path / "sweep.db"
    shutil.copy(code_db, db_path)
    con = sqlite3.connect(db_path)
    con.execute("UPDATE listings SET label = 'benign' WHERE id = 'codehost:demo-otpstorm/otp-storm'")
    con.commit()
    con.close()
    db = open_db(db_path)
    collect(db)
    got = {d["domain"]: d["repositories"] for d in domains(db)}
    assert got == {"sandbox.test": 1}
    # A reviewer rejecting the other repository takes its endpoints out as well.
    db.execute("UPDATE listings SET state = 'rejected' WHERE id = 'codehost:demo-hzq/duanxin-yace'")
    db.conn.commit()
    collect(db)
    assert domains(db) == []
    assert notify(db, {"contacts": {"sandbox.test": "s@sandbox.test"}}) == {}


def test_abused_domains_are_shared_and_feed_the_domain_bank(code_db, tmp_path):
    from precheck.banks import Banks
    from precheck.indicators import export_bundle, import_bundle

    db_path = tmp_path / "sweep.db"
    shutil.copy(code_db, db_path)
    db = open_db(db_path)
    collect(db)
    assert "sandbox.test" not in export_bundle(db)[0], "only what reviewers confirmed is shared"
    db.execute("UPDATE listings SET state = 'confirmed' WHERE id IN ('codehost:demo-hzq/duanxin-yace', "
               "'codehost:demo-otpstorm/otp-storm')")
    db.conn.commit()
    text, counts = export_bundle(db)
    patterns = {o["pattern"] for o in json.loads(text)["objects"] if o["type"] == "indicator"}
    assert {"[domain-name:value = 'sandbox.test']", "[domain-name:value = 'example.invalid']"} <= patterns
    assert counts["domain"] == 2
    # The check API's domain bank: a listing linking to an endpoint host under an abused domain.
    hits = Banks.load(db).match({"title": "接口合集", "description": "新接口 https://otp.sandbox.test/v1/send 已测"})
    assert {(m["type"], m["value"], m.get("abused_endpoint")) for m in hits} == {("domain", "sandbox.test", True)}
    other = open_db(tmp_path / "other.db")
    import_bundle(other, text, "partner-b")
    assert {r[0] for r in other.execute("SELECT value FROM indicators WHERE type = 'domain'")} == {
        "sandbox.test", "example.invalid"}


def test_the_owner_reads_endpoints_and_evidence_digests_never_the_request_details(tmp_path):
    from takedown.channels.base import EvidenceRef, ListingRef, Report
    from takedown.channels.text import render_body, render_subject

    evidence = EvidenceRef(7, "2026-01-01T00:00:00Z", "http://127.0.0.1/demo/x", 200, tmp_path / "x.wacz", "a" * 64,
                           "b" * 64, tmp_path / "x.png", "c" * 64)
    repo = ListingRef("codehost:demo/x", "codehost", "demo/x", "http://127.0.0.1/demo/x", "短信测压\u202e工具",
                      "sms_bomber", 0.9, "codehost:demo", "demo", "", "code", evidence)
    report = Report(1, "sweep-endpoint-sandbox.test", "email", "endpoint:sandbox.test", "endpoint_abuse", 0, [repo], [],
                    "2026-01-01T00:00:00Z", "sandbox.test", "sandbox.test",
                    abused_endpoints=[{"host": "otp.sandbox.test", "path": "/v1/send", "description": "demo-register"}])
    body = render_body(report)
    assert "otp.sandbox.test/v1/send" in body and "demo-register" in body
    assert "a" * 64 in body and "c" * 64 in body and "http://127.0.0.1/demo/x" in body
    assert "\u202e" not in body                      # crawled text: bidi controls made visible
    assert "sandbox.test" in render_subject(report) and "验证码接口" in render_subject(report)
