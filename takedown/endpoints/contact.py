"""Whom to tell that a domain's endpoints are abused: a configured address, else the domain's
``/.well-known/security.txt`` (RFC 9116) ``Contact:``.

The fetch is the only request Sweep ever makes about an abused domain, and it goes to the
security.txt path only — never to an endpoint. Every hop passes the outbound policy: the host
must be the domain or one of its subdomains (and in ``[endpoints] allow_hosts`` when that is set),
its addresses must be public (``allow_loopback`` only where the resolver mapping says so), and the
connection is pinned to the checked address (outbound/httpclient.py).

    [endpoints]
    allow_hosts = ["*.sandbox.test", "sandbox.test"]     # optional: only these domains are looked up
    resolve = {"sandbox.test" = "127.0.0.1"}             # tests/sandbox: names mapped without DNS
    allow_loopback = true                                # needed when a mapping points at 127.0.0.1
    security_txt_url = "https://{domain}/.well-known/security.txt"
    contacts = {"example.com" = "abuse@example.com"}    # configured addresses win over security.txt
"""
from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin, urlsplit

from common.clock import SYSTEM
from outbound.httpclient import checked
from outbound.policy import Policy, Refused, host_allowed, resolve_host

DEFAULT_URL = "https://{domain}/.well-known/security.txt"
MAX_BYTES = 32_768
MAX_HOPS = 3
TIMEOUT = 10.0
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


@dataclass
class Contact:
    address: str | None
    source: str               # configured | security.txt | none
    error: str = ""


def parse_security_txt(text: str, now: datetime | None = None) -> tuple[str | None, str]:
    """The first e-mail ``Contact:`` of a security.txt, or (None, why not)."""
    now = now or SYSTEM.now()
    contacts, expires = [], None
    for line in text.splitlines():
        field, sep, value = line.partition(":")
        if not sep or line.lstrip().startswith("#"):
            continue
        name, value = field.strip().lower(), value.strip()
        if name == "contact":
            contacts.append(value)
        elif name == "expires" and expires is None:
            try:
                expires = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                pass
    if expires is not None and expires.tzinfo and expires < now:
        return None, f"security.txt expired on {expires.date()}"
    for value in contacts:
        address = value[7:] if value.lower().startswith("mailto:") else value
        address = address.split("?")[0]
        if _EMAIL.match(address):
            return address, ""
    if contacts:
        return None, f"security.txt names no e-mail contact ({contacts[0][:80]})"
    return None, "security.txt has no Contact: field"


class ContactFinder:
    """Configured from ``[endpoints]``; ``find(domain)`` → :class:`Contact`."""

    def __init__(self, settings: dict, resolve=None):
        self.configured = {k.lower(): v for k, v in (settings.get("contacts") or {}).items()}
        self.allow_hosts = tuple(settings.get("allow_hosts") or ())
        self.url_template = settings.get("security_txt_url") or DEFAULT_URL
        self.allow_loopback = bool(settings.get("allow_loopback", False))
        mapping = {k.lower(): v for k, v in (settings.get("resolve") or {}).items()}
        self.resolve = resolve or (lambda host: _mapped(mapping, host))

    def policy(self, domain: str) -> Policy:
        return Policy((domain, f"*.{domain}"), self.allow_loopback, self.resolve)

    def find(self, domain: str) -> Contact:
        if domain in self.configured:
            return Contact(self.configured[domain], "configured")
        if self.allow_hosts and not host_allowed(domain, self.allow_hosts):
            return Contact(None, "none", f"{domain} is not in [endpoints] allow_hosts")
        try:
            text = self.fetch(self.url_template.format(domain=domain), self.policy(domain))
        except Refused as exc:
            return Contact(None, "none", f"refused by the outbound policy: {exc.reason}")
        except (OSError, http.client.HTTPException, ValueError) as exc:
            return Contact(None, "none", f"security.txt unreachable: {type(exc).__name__}: {exc}"[:300])
        address, why = parse_security_txt(text)
        return Contact(address, "security.txt" if address else "none", why)

    def fetch(self, url: str, policy: Policy) -> str:
        """The text at ``url``, every hop checked by ``policy``; redirects stay on the security.txt path."""
        for _ in range(MAX_HOPS + 1):
            if not urlsplit(url).path.endswith("security.txt"):
                raise Refused(url, "a redirect away from security.txt is not followed")
            cls = http.client.HTTPSConnection if url.startswith("https:") else http.client.HTTPConnection
            conn = checked(cls, url, policy, TIMEOUT)
            parts = urlsplit(url)
            try:
                conn.request("GET", parts.path or "/", headers={"User-Agent": "Sweep/0.1 (security.txt lookup)",
                                                                "Accept": "text/plain"})
                resp = conn.getresponse()
                if resp.status in (301, 302, 303, 307, 308) and resp.getheader("Location"):
                    url = urljoin(url, resp.getheader("Location"))
                    continue
                if resp.status != 200:
                    raise ValueError(f"HTTP {resp.status}")
                if not (resp.getheader("Content-Type") or "").lower().startswith("text/plain"):
                    raise ValueError("not text/plain")
                return resp.read(MAX_BYTES).decode("utf-8", "replace")
            finally:
                conn.close()
        raise ValueError("too many redirects")


def _mapped(mapping: dict, host: str) -> list[str]:
    """A configured name → address mapping (a host or any parent domain), else the system resolver."""
    labels = host.lower().split(".")
    for i in range(len(labels)):
        address = mapping.get(".".join(labels[i:]))
        if address:
            return [address] if isinstance(address, str) else list(address)
    return resolve_host(host)
