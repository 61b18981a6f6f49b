"""Session fixtures of the takedown area (loaded by tests/conftest.py through pytest_plugins).

- ``smtp_server``: a real aiosmtpd SMTP server on a free 127.0.0.1 port for the whole session;
  ``smtp_server.messages`` holds what it received (``clear()`` between tests).
- ``seed_db(path, urls, rows, state)``: a real database holding catalogue rows as if crawled
  from a sandbox at ``urls`` — written through the Store, so states and audit are real.
"""
from __future__ import annotations

import email
import socket
import threading
from dataclasses import dataclass, field
from email import policy

import pytest

SANDBOX_PATHS = {"marketplace": "/item/{pid}", "appstore": "/app/{pid}", "forum": "/thread-{pid}-1-1.html"}
SELLER_PATHS = {"marketplace": "/shop/{sid}", "appstore": "/developer/{sid}", "forum": "/home.php?mod=space&uid={sid}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=policy.default)


@dataclass
class SmtpServer:
    """Handler of the real aiosmtpd server. AUTH is offered (not required): user ``sweep`` with
    password ``SMTP_PASSWORD``. Recipients at refuse.example get 550, at busy.example 450."""

    host: str
    port: int
    messages: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.logins.clear()

    def config(self, **extra) -> dict:
        return {"host": self.host, "port": self.port, "from_addr": "sweep-reports@example.org", **extra}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):   # aiosmtpd handler hooks
        if address.endswith("@refuse.example"):
            return "550 5.1.1 no such mailbox"
        if address.endswith("@busy.example"):
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        ok = auth_data.login == b"sweep" and auth_data.password == SMTP_PASSWORD.encode()
        if ok:
            with self.lock:
                self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)


SMTP_PASSWORD = "not-a-real-secret-3141"


@pytest.fixture(scope="session")
def smtp_server():
    from aiosmtpd.controller import Controller

    server = SmtpServer("127.0.0.1", free_port())
    controller = Controller(server, hostname=server.host, port=server.port, ready_timeout=10,
                            authenticator=server.authenticate, auth_require_tls=False)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def listing_for(row, base_url: str):
    """A pipeline-finished Listing for a sandbox catalogue row, as a crawl of ``base_url`` would store it."""
    from crawler.items import Listing
    from crawler.pipelines.normalise import NormalisePipeline

    flagged = row.label != "benign"
    item = Listing(id=row.key, platform=row.platform, platform_id=row.pid, kind=row.kind,
                   url=base_url + SANDBOX_PATHS[row.platform].format(pid=row.pid), title=row.title,
                   description=row.description, price=row.price, seller_id=row.seller_id, seller_name=row.seller_name,
                   seller_url=base_url + SELLER_PATHS[row.platform].format(sid=row.seller_id),
                   crawled_at="2026-11-27T08:00:00+00:00")
    item = NormalisePipeline().process_item(item)
    item.classification = {"label": row.label, "score": 0.97 if flagged else 0.02, "flagged": flagged,
                           "scores": {}, "explanation": [], "model_version": "catalogue"}
    return item


def seed_db(path, urls: dict[str, str], rows, state: str = "confirmed", run_id: int | None = None):
    """Store ``rows`` (crawled from ``urls``) and move the harmful ones to ``state`` (flagged|confirmed)."""
    from crawler.profile import load_profiles
    from takedown.db import open_db
    from takedown.states import transition
    from takedown.store import Store

    store = Store(open_db(path))
    store.register_platforms([p.rebase(urls[p.name]) for p in load_profiles() if p.name in urls])
    store.write_batch([listing_for(r, urls[r.platform]) for r in rows], run_id=run_id)
    if state == "confirmed":
        with store.db.conn:
            for r in rows:
                if r.label != "benign":
                    transition(store.db.conn, r.key, "confirmed", "reviewer@example.org", "sells " + r.label)
    store.db.close()
    return path


def rebase_db(path, urls: dict[str, str]) -> None:
    """Point a seeded database at another sandbox with the same catalogue (fresh ports)."""
    import sqlite3

    conn = sqlite3.connect(path)
    with conn:
        for name, url in urls.items():
            old = conn.execute("SELECT base_url FROM platforms WHERE name = ?", [name]).fetchone()
            if old and old[0] != url:
                conn.execute("UPDATE listings SET url = replace(url, ?, ?) WHERE platform = ?", [old[0], url, name])
                conn.execute("UPDATE platforms SET base_url = ? WHERE name = ?", [url, name])
    conn.close()


def copy_db(src, dst_dir):
    """Copy a database and its evidence directory (paths in it are relative, so the copy is whole)."""
    import shutil
    from pathlib import Path

    src = Path(src)
    dst = Path(dst_dir) / src.name
    shutil.copy(src, dst)
    if (src.parent / "evidence").exists():
        shutil.copytree(src.parent / "evidence", dst.parent / "evidence")
    return dst


def harmful_rows(catalogue, platform: str, per_seller: int, sellers: int, outcomes=None):
    """``per_seller`` harmful rows from each of ``sellers`` sellers on ``platform`` (optionally by outcome)."""
    table = {"marketplace": catalogue.market, "appstore": catalogue.apps, "forum": catalogue.threads}[platform]
    by_seller: dict[str, list] = {}
    for row in table.values():
        if row.label != "benign" and (outcomes is None or row.outcome in outcomes):
            by_seller.setdefault(row.seller_id, []).append(row)
    picked = [rows[:per_seller] for rows in by_seller.values() if len(rows) >= per_seller][:sellers]
    return [row for rows in picked for row in rows]


@pytest.fixture(scope="session")
def evidenced_db(sandbox, catalogue, tmp_path_factory):
    """Confirmed listings with real evidence (Chromium, WACZ) captured once from the shared sandbox:
    two sellers × two marketplace items (one filled in by JavaScript), one app, one GBK forum thread.
    Tests copy it (``copy_db``) before changing anything."""
    from takedown.config import Config
    from takedown.evidence import capture_listings

    rows = harmful_rows(catalogue, "marketplace", 2, 2)
    js = next(r for r in catalogue.market.values() if r.js_description and r.label != "benign")
    rows += [js] if js.key not in {r.key for r in rows} else []
    rows += [harmful_rows(catalogue, "appstore", 1, 1)[0], harmful_rows(catalogue, "forum", 1, 1)[0]]
    path = tmp_path_factory.mktemp("evidenced") / "sweep.db"
    seed_db(path, sandbox.urls, rows, state="flagged")
    result = capture_listings(path, Config())
    assert not result.errors, result.errors
    from takedown.db import open_db
    from takedown.states import transition

    db = open_db(path)
    with db.conn:
        for r in rows:
            transition(db.conn, r.key, "confirmed", "reviewer@example.org", "sells " + r.label)
    db.close()
    return path, rows
