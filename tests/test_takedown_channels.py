"""Each channel adapter against the real thing: the sandbox intake, aiosmtpd, the xarf validator."""
from __future__ import annotations

import csv
import hashlib
import io
import ast
import json
import logging
from pathlib import Path

import pytest
import requests

from takedown.channels import (EmailChannel, NotConfigured, PermanentError, PlatformSettings, TransientError,
                               build_channel)
from takedown.channels.csv_12321 import COLUMNS, Csv12321Export
from takedown.channels.sandbox_intake import SandboxIntake
from takedown.channels.xarf_export import XarfExport
from common.config import Config, ConfigError
from store.db import open_db
from takedown.outbox import load_report
from takedown.platforms import platform_settings
from tests.fixtures_takedown import SMTP_PASSWORD, copy_db, rebase_db


def _report(db_path, channel: str, listing_ids: list[str], key: str = "sweep-test-0001", level: int = 0):
    """A stored report row over ``listing_ids`` (with their evidence), loaded as channels see it."""
    db = open_db(db_path)
    with db.conn:
        platform = db.execute("SELECT platform FROM listings WHERE id = ?", [listing_ids[0]]).fetchone()[0]
        seller = db.execute("SELECT seller_id FROM listings WHERE id = ?", [listing_ids[0]]).fetchone()[0]
        rid = db.execute("INSERT INTO reports (channel, platform, seller_id, category, idempotency_key, created_at, "
                         "escalation_level) VALUES (?, ?, ?, 'modem_pool', ?, '2026-11-28T09:00:00+00:00', ?)",
                         [channel, platform, seller, key, level]).lastrowid
        for lid in listing_ids:
            db.execute("INSERT INTO report_listings (report_id, listing_id, evidence_id) SELECT ?, ?, "
                       "(SELECT id FROM evidence WHERE listing_id = ?)", [rid, lid, lid])
    report = load_report(db, rid, db_path, Config())
    ps = platform_settings(db, Config(), platform)
    db.close()
    return report, ps


@pytest.fixture
def fresh_db(evidenced_db, tmp_path):
    return copy_db(evidenced_db[0], tmp_path), evidenced_db[1]


def _seller_rows(rows):
    market = [r for r in rows if r.platform == "marketplace"]
    return [r for r in market if r.seller_id == market[0].seller_id]


# -- sandbox intake ------------------------------------------------------------------------------
def test_intake_files_a_bundle_and_dedupes_on_the_idempotency_key(fresh_db, fresh_sandbox):
    path, rows = fresh_db
    rebase_db(path, fresh_sandbox.urls)
    bundle = _seller_rows(rows)
    report, ps = _report(path, "sandbox_intake", [r.key for r in bundle])
    channel = SandboxIntake(ps)
    first = channel.file(report)
    assert first.receipt.startswith("MA") and not first.duplicate
    again = channel.file(report)
    assert again.receipt == first.receipt and again.duplicate
    received = requests.get(fresh_sandbox.urls["marketplace"] + "/api/reports").json()
    assert len(received) == 1 and sorted(received[0]["listings"]) == sorted(r.key for r in bundle)
    assert received[0]["category"] == "modem_pool" and received[0]["idempotency_key"] == report.idempotency_key
    assert channel.find_receipt(report).receipt == first.receipt
    report.idempotency_key = "sweep-never-sent"
    assert channel.find_receipt(report) is None


def test_intake_check_reads_the_platform_page(fresh_db, fresh_sandbox):
    path, rows = fresh_db
    rebase_db(path, fresh_sandbox.urls)
    report, ps = _report(path, "sandbox_intake", [_seller_rows(rows)[0].key])
    assert SandboxIntake(ps).check(report.listings[0]).status == "live"


def test_intake_errors_are_classified(fresh_db, fresh_sandbox):
    path, rows = fresh_db
    rebase_db(path, fresh_sandbox.urls)
    report, ps = _report(path, "sandbox_intake", [_seller_rows(rows)[0].key])
    report.listings[0].url = fresh_sandbox.urls["marketplace"] + "/item/1"      # not a listing there
    with pytest.raises(PermanentError, match="HTTP 404"):
        SandboxIntake(ps).file(report)
    ps.base_url = "http://127.0.0.1:9"
    with pytest.raises(TransientError, match="unreachable"):
        SandboxIntake(ps).file(report)
    ps.base_url = None
    with pytest.raises(NotConfigured):
        SandboxIntake(ps)


# -- e-mail ---------------------------------------------------------------------------------------
def test_email_reaches_the_abuse_address_with_evidence_attached(fresh_db, smtp_server):
    smtp_server.clear()
    path, rows = fresh_db
    bundle = _seller_rows(rows)
    report, ps = _report(path, "email", [r.key for r in bundle], key="sweep-mail-0001")
    receipt = EmailChannel(ps, smtp_server.config()).file(report)
    assert receipt.receipt == "<sweep-mail-0001@example.org>"
    [got] = smtp_server.messages
    assert got.rcpt_tos == ["abuse@marketplace.example"] and got.mail_from == "sweep-reports@example.org"
    msg = got.message
    assert msg["Message-ID"] == receipt.receipt and "sweep-mail-0001" in msg["Subject"]
    body = msg.get_body(("plain",)).get_content()
    assert "反电信网络诈骗法" in body and "第十四条" in body
    attachments = {part.get_filename(): part.get_content() for part in msg.iter_attachments()}
    for item in report.listings:
        assert item.url in body and item.evidence.wacz_sha256 in body
        png = attachments[f"marketplace-{item.platform_id}.png"]
        assert hashlib.sha256(png).hexdigest() == item.evidence.screenshot_sha256
        wacz = attachments[f"marketplace-{item.platform_id}.wacz"]
        assert hashlib.sha256(wacz).hexdigest() == item.evidence.wacz_sha256


def test_email_attachment_budget_lists_what_was_left_out(fresh_db, smtp_server):
    smtp_server.clear()
    path, rows = fresh_db
    report, ps = _report(path, "email", [_seller_rows(rows)[0].key], key="sweep-mail-0002")
    EmailChannel(ps, smtp_server.config(max_attachment_mb=0)).file(report)
    msg = smtp_server.messages[0].message
    assert list(msg.iter_attachments()) == []
    assert "Not attached" in msg.get_body(("plain",)).get_content()


def test_email_password_comes_from_the_environment_and_is_never_shown(fresh_db, smtp_server, monkeypatch, caplog):
    smtp_server.clear()
    path, rows = fresh_db
    report, ps = _report(path, "email", [_seller_rows(rows)[0].key], key="sweep-mail-0003")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    # a relay on this machine without TLS: plain AUTH only because it is explicitly allowed
    config = Config({"channels": {"smtp": smtp_server.config(username="sweep", password_env="TEST_SMTP_PASSWORD",
                                                             allow_plaintext_auth=True)}})
    caplog.set_level(logging.DEBUG)
    channel = build_channel("email", ps, config, path)
    channel.file(report)
    assert smtp_server.logins == ["sweep"] and smtp_server.auth_seen == [("PLAIN", False)]
    assert SMTP_PASSWORD not in repr(channel) and SMTP_PASSWORD not in caplog.text
    assert SMTP_PASSWORD.encode() not in smtp_server.messages[0].data
    monkeypatch.delenv("TEST_SMTP_PASSWORD")
    with pytest.raises(ConfigError, match="TEST_SMTP_PASSWORD"):
        build_channel("email", ps, config, path)
    wrong = Config({"channels": {"smtp": smtp_server.config(username="sweep", password="wrong", timeout=1,
                                                            allow_plaintext_auth=True)}})
    with pytest.raises((PermanentError, TransientError)):      # aiosmtpd hangs up after a failed AUTH
        build_channel("email", ps, wrong, path).file(report)
    assert len(smtp_server.messages) == 1 and smtp_server.logins == ["sweep"]


def test_email_refuses_to_send_credentials_to_a_server_without_tls(fresh_db, smtp_server):
    smtp_server.clear()
    path, rows = fresh_db
    report, ps = _report(path, "email", [_seller_rows(rows)[0].key], key="sweep-mail-0005")
    with pytest.raises(PermanentError, match="does not offer STARTTLS, refusing to send credentials in clear.*"
                                             "allow_plaintext_auth = true only for a relay on this machine"):
        EmailChannel(ps, smtp_server.config(username="sweep"), {"password": SMTP_PASSWORD}).file(report)
    with pytest.raises(PermanentError, match="does not offer STARTTLS, which starttls = true requires"):
        EmailChannel(ps, smtp_server.config(starttls=True)).file(report)
    assert smtp_server.auth_seen == [] and smtp_server.messages == []      # refused before AUTH: nothing in clear
    with pytest.raises(NotConfigured, match="not both"):
        EmailChannel(ps, smtp_server.config(ssl=True, starttls=True))
    with pytest.raises(NotConfigured, match="ca_file .* does not exist"):
        EmailChannel(ps, smtp_server.config(starttls=True, ca_file="/nonexistent/ca.pem"))
    loose = Config({"channels": {"smtp": smtp_server.config(username="sweep", allow_plaintext_auth="false")}})
    with pytest.raises(ConfigError, match="allow_plaintext_auth must be true or false"):
        build_channel("email", ps, loose, path)


@pytest.mark.parametrize("kind", ["starttls", "smtps"])
def test_email_tls_verifies_the_certificate(fresh_db, request, kind):
    server = request.getfixturevalue("starttls_smtp_server" if kind == "starttls" else "smtps_server")
    server.clear()
    path, rows = fresh_db
    report, ps = _report(path, "email", [_seller_rows(rows)[0].key], key=f"sweep-mail-tls-{kind}")
    settings = server.config(username="sweep", timeout=5, **({"ssl": True} if kind == "smtps" else {}))
    secrets = {"password": SMTP_PASSWORD}
    with pytest.raises(PermanentError, match="certificate not trusted.*ca_file"):      # self-signed CA, not configured
        EmailChannel(ps, settings, secrets).file(report)
    assert server.auth_seen == [] and server.messages == []
    receipt = EmailChannel(ps, {**settings, "ca_file": server.ca_file}, secrets).file(report)
    assert server.auth_seen == [("PLAIN", True)] and server.logins == ["sweep"]
    [got] = server.messages
    assert got.message["Message-ID"] == receipt.receipt


def test_email_resend_carries_the_same_message_id_and_names_the_attempt(fresh_db, smtp_server):
    smtp_server.clear()
    path, rows = fresh_db
    report, ps = _report(path, "email", [_seller_rows(rows)[0].key], key="sweep-mail-0006")
    first = EmailChannel(ps, smtp_server.config()).file(report)
    db = open_db(path)
    with db.conn:      # as the outbox does before each attempt
        db.execute("UPDATE reports SET attempts = 2 WHERE id = ?", [report.id])
    again = EmailChannel(ps, smtp_server.config()).file(load_report(db, report.id, path, Config()))
    db.close()
    assert first.receipt == again.receipt == "<sweep-mail-0006@example.org>"
    sent = [m.message for m in smtp_server.messages]
    assert [m["Message-ID"] for m in sent] == [first.receipt] * 2
    assert [m["X-Sweep-Attempt"] for m in sent] == ["1", "2"]
    assert [m["X-Sweep-Report-Key"] for m in sent] == ["sweep-mail-0006"] * 2


def test_email_errors_are_classified(fresh_db, smtp_server):
    path, rows = fresh_db
    report, ps = _report(path, "email", [_seller_rows(rows)[0].key], key="sweep-mail-0004")
    with pytest.raises(NotConfigured, match="SMTP"):
        EmailChannel(ps, {})
    ps.abuse_email = "abuse@refuse.example"
    with pytest.raises(PermanentError, match="550"):
        EmailChannel(ps, smtp_server.config()).file(report)
    ps.abuse_email = "abuse@busy.example"
    with pytest.raises(TransientError, match="450"):
        EmailChannel(ps, smtp_server.config()).file(report)
    ps.abuse_email = "abuse@marketplace.example"
    with pytest.raises(TransientError, match="unreachable"):
        EmailChannel(ps, {"host": "127.0.0.1", "port": 9, "timeout": 2}).file(report)


# -- exports --------------------------------------------------------------------------------------
def test_xarf_export_is_valid_v4_with_evidence_and_stable_identity(fresh_db, tmp_path):
    from xarf import parse

    path, rows = fresh_db
    item = _seller_rows(rows)[0]
    report, ps = _report(path, "xarf", [item.key], key="sweep-xarf-0001")
    channel = XarfExport(ps, {"dir": str(tmp_path / "exports")})
    receipt = channel.file(report)
    doc = json.loads(open(receipt.receipt, encoding="utf-8").read())
    result = parse(doc, strict=True, show_missing_optional=True)      # recommended fields too
    assert result.errors == [] and result.report.category == "content" and result.report.type == "fraud"
    assert doc["url"] == report.listings[0].url and doc["fraud_type"] == "other"
    # The host is an address, so the domain is the platform's (its abuse address's); the port is the URL's.
    assert doc["source_identifier"] == "127.0.0.1" and doc["domain"] == "marketplace.example"
    assert doc["source_port"] == int(report.listings[0].url.split(":")[2].split("/")[0]) and doc["confidence"] == 1.0
    assert doc["claimed_entity"] == (report.listings[0].seller_name or report.listings[0].seller_id)
    assert f"category:{item.label}" in doc["tags"]
    bomber = item.label in ("call_bomber", "sms_bomber")       # their basis is the MIIT 2018 plan, not Art. 14
    assert ("law:cn-miit-2018-harassing-calls-plan" in doc["tags"]) == bomber
    assert ("law:cn-anti-telecom-fraud-art14" in doc["tags"]) == (not bomber)
    assert ("第十四条" in doc["description"]) == (not bomber)
    hashes = {e["content_type"]: e["hash"] for e in doc["evidence"]}
    assert hashes["image/png"] == f"sha256:{report.listings[0].evidence.screenshot_sha256}"
    assert hashes["application/zip"] == f"sha256:{report.listings[0].evidence.wacz_sha256}"
    again = channel.file(report)
    assert again.duplicate and again.receipt == receipt.receipt
    # Re-exporting elsewhere gives the same XARF identity (deterministic from the idempotency key).
    other = json.loads(open(XarfExport(ps, {"dir": str(tmp_path / "b")}).file(report).receipt, encoding="utf-8").read())
    assert other["report_id"] == doc["report_id"] and other["timestamp"] == doc["timestamp"]
    with pytest.raises(PermanentError, match="exactly one"):
        report.listings = report.listings * 2
        channel.file(report)


def test_csv_12321_is_one_batch_per_run_with_platforms_by_display_name(fresh_db, tmp_path):
    path, rows = fresh_db
    bundle = _seller_rows(rows)
    report, ps = _report(path, "csv_12321", [r.key for r in bundle], key="sweep-csv-0001", level=1)
    app = next(r for r in rows if r.platform == "appstore")
    other, app_ps = _report(path, "csv_12321", [app.key], key="sweep-csv-0002", level=1)
    receipt = Csv12321Export(ps, {"dir": str(tmp_path)}).file(report)
    second = Csv12321Export(app_ps, {"dir": str(tmp_path)}).file(other)      # another platform, the same run
    assert second.receipt == receipt.receipt and receipt.receipt.endswith("-batch.csv")
    assert sorted(p.name for p in (tmp_path / "12321").glob("*.csv")) == [receipt.receipt.rpartition("/")[2]]
    raw = open(receipt.receipt, "rb").read()
    assert raw.startswith("\ufeff".encode())
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(table[0].keys()) == COLUMNS and len(table) == len(bundle) + 1
    assert [row["序号"] for row in table] == [str(n) for n in range(1, len(table) + 1)]
    for row, item in zip(table, report.listings):
        assert row["被举报网址"] == item.url and row["证据SHA256"] == item.evidence.wacz_sha256
        assert row["被举报平台"] == "闲趣集市" and row["被举报对象类型"] == "电商商品"
        assert "仍在售" in row["举报理由"] and row["举报编号"] == "sweep-csv-0001"
    assert table[-1]["被举报平台"] == "应用汇" and table[-1]["举报编号"] == "sweep-csv-0002"
    again = Csv12321Export(ps, {"dir": str(tmp_path)}).file(report)
    assert again.duplicate and len(list(csv.DictReader(io.StringIO(open(again.receipt, "rb").read()
                                                                  .decode("utf-8-sig"))))) == len(table)


def test_unknown_channel_is_a_config_error(fresh_db):
    path, _ = fresh_db
    ps = PlatformSettings("marketplace")
    with pytest.raises(ConfigError, match="unknown channel 'fax'"):
        build_channel("fax", ps, Config(), path)


def _takedown_imports(path: Path) -> set[str]:
    """The takedown.* and third-floor-up modules a file imports, inside functions too."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return {n for n in names if n.split(".")[0] in ("takedown", "store", "crawler", "classifier", "precheck",
                                                     "visibility", "review", "ops", "cli", "sandbox")}


def test_adapters_never_call_orchestrators_and_policy_does_no_io():
    """Channels see only the channel interface, the page check and the file helper; recheck and relist read
    policy, never the outbox; the policy module touches no store, network or files."""
    root = Path(__file__).resolve().parent.parent / "takedown"
    low = {"takedown.files", "takedown.page_check"}
    for path in sorted((root / "channels").glob("*.py")):
        wrong = {m for m in _takedown_imports(path) if not m.startswith("takedown.channels") and m not in low}
        assert not wrong, f"{path.name} imports {wrong}"
    outbox = {"takedown.outbox", "takedown.delivery", "takedown.withdrawals", "takedown.reports"}
    for name in ("recheck.py", "relist.py", "platforms.py", "page_check.py", "escalation.py"):
        assert not _takedown_imports(root / name) & outbox, name
    assert _takedown_imports(root / "policy.py") == {"takedown.channels"}
