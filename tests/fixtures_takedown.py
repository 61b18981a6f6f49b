"""Session fixtures of the takedown area (loaded by tests/conftest.py through pytest_plugins).

- ``smtp_server``: a real aiosmtpd SMTP server on a free 127.0.0.1 port for the whole session;
  ``smtp_server.messages`` holds what it received (``clear()`` between tests). It offers AUTH
  without TLS (a careless server), so tests can prove a client never sends credentials in clear.
- ``starttls_smtp_server`` / ``smtps_server``: the same behind STARTTLS / implicit TLS, with a
  certificate for 127.0.0.1 from a private CA made for the session (``.ca_file``).
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

SANDBOX_PATHS = {"marketplace": "/item/{pid}", "appstore": "/app/{pid}", "forum": "/thread-{pid}-1-1.html",
                 "codehost": "/{pid}", "social": "/s/{pid}"}
SELLER_PATHS = {"marketplace": "/shop/{sid}", "appstore": "/developer/{sid}", "forum": "/home.php?mod=space&uid={sid}",
                "codehost": "/{sid}", "social": "/s/{sid}"}


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
    auth_seen: list[tuple[str, bool]] = field(default_factory=list)    # every AUTH: (mechanism, over TLS)
    ca_file: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.logins.clear()
            self.auth_seen.clear()

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
        with self.lock:
            self.auth_seen.append((mechanism, server.transport.get_extra_info("ssl_object") is not None))
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


def make_tls_certs(directory) -> tuple[str, str, str]:
    """A private CA and a certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem)."""
    import datetime
    import ipaddress
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sweep test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    directory = Path(directory)
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return tuple(str(p) for p in paths)


@pytest.fixture(scope="session")
def tls_certs(tmp_path_factory):
    return make_tls_certs(tmp_path_factory.mktemp("tls"))


def _tls_server(tls_certs, implicit: bool):
    import ssl

    from aiosmtpd.controller import Controller

    ca_file, cert, key = tls_certs
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = SmtpServer("127.0.0.1", free_port(), ca_file=ca_file)
    tls = {"ssl_context": context} if implicit else {"tls_context": context}
    # aiosmtpd only counts STARTTLS as TLS; over implicit TLS every command is encrypted anyway
    controller = Controller(server, hostname=server.host, port=server.port, ready_timeout=10,
                            authenticator=server.authenticate, auth_require_tls=not implicit, **tls)
    return server, controller


@pytest.fixture(scope="session")
def starttls_smtp_server(tls_certs):
    server, controller = _tls_server(tls_certs, implicit=False)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def smtps_server(tls_certs):
    server, controller = _tls_server(tls_certs, implicit=True)
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
    from store.db import open_db
    from store.states import transition
    from store.listings import Store

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
    from common.config import Config
    from takedown.evidence import capture_listings

    rows = harmful_rows(catalogue, "marketplace", 2, 2)
    js = next(r for r in catalogue.market.values() if r.js_description and r.label != "benign")
    rows += [js] if js.key not in {r.key for r in rows} else []
    rows += [harmful_rows(catalogue, "appstore", 1, 1)[0], harmful_rows(catalogue, "forum", 1, 1)[0]]
    path = tmp_path_factory.mktemp("evidenced") / "sweep.db"
    seed_db(path, sandbox.urls, rows, state="flagged")
    result = capture_listings(path, Config())
    assert not result.errors, result.errors
    from store.db import open_db
    from store.states import transition

    db = open_db(path)
    with db.conn:
        for r in rows:
            transition(db.conn, r.key, "confirmed", "reviewer@example.org", "sells " + r.label)
    db.close()
    return path, rows
