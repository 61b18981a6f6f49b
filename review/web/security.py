"""The web UI's defences: the session key, CSRF tokens, response headers, trusted proxies.
(Login throttling is throttle.py.)"""
from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import stat
from pathlib import Path

from starlette.datastructures import MutableHeaders
from common.errors import SweepError

KEY_ENV = "SWEEP_SESSION_KEY"
MIN_KEY = 32

# Crawled text is hostile: even if something slipped past escaping, no inline script runs.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Links to live listings must not tell the platform (or the seller) where the reviewer came from.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class SessionKeyError(SweepError, RuntimeError):
    pass


def key_path(db_path: str | Path) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".session-key")


def session_key(db_path: str | Path, environ=os.environ) -> str:
    """The cookie-signing key: $SWEEP_SESSION_KEY, else a file beside the database (mode 0600),
    created on first use. Never stored in the database."""
    if environ.get(KEY_ENV):
        key = environ[KEY_ENV]
        if len(key) < MIN_KEY:
            raise SessionKeyError(f"${KEY_ENV} is too short: use at least {MIN_KEY} random characters")
        return key
    path = key_path(db_path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise SessionKeyError(f"{path} is readable by others (mode {mode:o}); run `chmod 600 {path}`") from None
        key = path.read_text().strip()
        if len(key) < MIN_KEY:
            raise SessionKeyError(f"{path} holds no usable key; delete it to have a new one made") from None
        return key
    with os.fdopen(fd, "w") as fh:
        key = secrets.token_urlsafe(48)
        fh.write(key + "\n")
    return key


def csrf_token(session) -> str:
    """This session's CSRF token (made on first use); every form carries it."""
    if not session.get("csrf"):
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def csrf_ok(session, submitted) -> bool:
    expected = session.get("csrf")
    return bool(expected) and isinstance(submitted, str) and hmac.compare_digest(expected, submitted)


def trusted_proxies(values) -> list[str]:
    """``[web] trusted_proxies``: addresses or networks whose X-Forwarded-For is believed.

    Default none: without a proxy in front, the header is whatever the client wrote.
    """
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        raise ValueError("[web] trusted_proxies must be a list of addresses or networks, e.g. [\"127.0.0.1\"]")
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_network(str(value).strip(), strict=False)))
        except ValueError:
            raise ValueError(f"[web] trusted_proxies: {value!r} is not an IP address or network "
                             "(a wildcard would let any client choose its address)") from None
    return out


class SecurityHeaders:
    """ASGI middleware adding HEADERS to every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        static = scope["path"].startswith("/static/")     # CSS/JS/icon may be cached; pages never

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if not (static and name == "Cache-Control"):
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
