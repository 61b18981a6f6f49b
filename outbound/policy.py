"""What Sweep may fetch for a platform: the one rule every fetcher applies to every hop.

A URL passes when

- its scheme is ``http``/``https``;
- its host is one of the platform's ``allowed_hosts`` (exact, or ``*.example.com`` for its
  subdomains — a wildcard on a public suffix such as ``*.com`` is refused when profiles load);
- the address it is (an IP literal) or resolves to is public: loopback only with
  ``allow_loopback`` (the bundled sandbox); private (10/8, 172.16/12, 192.168/16, fc00::/7),
  site-local (fec0::/10), link-local (169.254/16 — cloud metadata — fe80::/10), CGNAT,
  multicast, reserved and unspecified addresses are always refused. IPv4 carried inside IPv6
  (mapped ``::ffff:a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``, Teredo) is judged by
  the IPv4 address it carries.

Every name is judged by every address it resolves to, so one private answer refuses it.
"""
from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

SCHEMES = ("http", "https")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")     # RFC 8215: the embedded address's place varies
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")


class Refused(Exception):
    """A request the policy does not allow; ``url`` and ``reason`` say which and why."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"refused {url}: {reason}")
        self.url, self.reason = url, reason


def _normal_host(host: str) -> str:
    return host.lower().rstrip(".")


def host_allowed(host: str, allowed_hosts) -> bool:
    host = _normal_host(host)
    for allowed in allowed_hosts:
        allowed = _normal_host(allowed)
        if host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:])):
            return True
    return False


@functools.lru_cache(maxsize=4096)         # pure, and asked for every request of a platform
def ip_literal(host: str):
    """The address if ``host`` is an IP literal (as urlsplit gives it), else None."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def embedded_ipv4(addr) -> list:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, NAT64, Teredo), else []."""
    if addr.version != 6:
        return []
    if addr.ipv4_mapped:
        return [addr.ipv4_mapped]
    if addr.sixtofour:
        return [addr.sixtofour]
    if addr in _NAT64:
        return [ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)]
    if addr.teredo:
        return list(addr.teredo)           # (server, client): the relay and the host behind it
    return []


@functools.lru_cache(maxsize=4096)
def address_refusal(address, allow_loopback: bool = False) -> str | None:
    """Why this address may not be fetched, or None."""
    addr = ipaddress.ip_address(address) if isinstance(address, str) else address
    carried = embedded_ipv4(addr)
    if carried:
        for inner in carried:
            reason = address_refusal(inner, allow_loopback)
            if reason:
                return f"{addr} carries {reason}"
        return None
    if addr.is_unspecified:                # 0.0.0.0 / :: connect to this machine
        return f"{addr} is not a public address (the unspecified address)"
    if addr.is_loopback:
        return None if allow_loopback else f"{addr} is a loopback address (the profile does not allow_loopback)"
    if addr.is_link_local:
        return f"{addr} is a link-local address"
    if addr.version == 6 and (addr in _SITE_LOCAL or addr in _NAT64_LOCAL):
        return f"{addr} is a site-local address"
    if addr.is_multicast or addr.is_reserved:
        return f"{addr} is not a public address"
    if addr.is_private:
        return f"{addr} is a private address"
    if not addr.is_global:
        return f"{addr} is not a public address"
    return None


def url_refusal(url: str, allowed_hosts, allow_loopback: bool = False, addresses=None) -> str | None:
    """Why ``url`` may not be fetched, or None; ``addresses``: what its host resolves to (names)."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        return f"scheme {parts.scheme!r} is not http(s)"
    host = parts.hostname
    if not host:
        return "no host"
    if not host_allowed(host, allowed_hosts):
        return f"host {host!r} is not in the profile's allowed_hosts"
    literal = ip_literal(host)
    for address in [literal] if literal is not None else (addresses or []):
        reason = address_refusal(address, allow_loopback)
        if reason:
            return f"host {host!r}: {reason}"
    return None


def resolve_host(host: str) -> list[str]:
    """Every address the system resolver gives for ``host``."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({info[4][0] for info in infos})


@dataclass(frozen=True)
class Policy:
    """One platform's outbound rule; ``resolve`` is swapped by tests to map names without DNS."""

    allowed_hosts: tuple = ()
    allow_loopback: bool = False
    resolve: Callable[[str], list[str]] = field(default=resolve_host, compare=False, repr=False)

    @classmethod
    def of(cls, profile, resolve: Callable | None = None) -> Policy:
        """From anything with ``allowed_hosts`` and ``allow_loopback`` (a Profile)."""
        return cls(tuple(profile.allowed_hosts), bool(profile.allow_loopback), resolve or resolve_host)

    def widened(self, *hosts: str) -> Policy:
        """The same rule with more hosts (a platform's configured base or report URL)."""
        extra = tuple(h for h in hosts if h and h not in self.allowed_hosts)
        return Policy(self.allowed_hosts + extra, self.allow_loopback, self.resolve)

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be fetched (its name resolved and every address judged), or None."""
        reason = url_refusal(url, self.allowed_hosts, self.allow_loopback)
        host = urlsplit(url).hostname
        if reason or ip_literal(host) is not None:
            return reason
        try:
            addresses = self.resolve(host)
        except OSError as exc:
            return f"host {host!r} does not resolve: {exc}"
        if not addresses:
            return f"host {host!r} does not resolve"
        return url_refusal(url, self.allowed_hosts, self.allow_loopback, addresses)

    def addresses(self, url: str) -> list[str]:
        """The checked addresses of ``url``'s host (raises Refused), for a fetcher that connects to them."""
        reason = self.refusal(url)
        if reason:
            raise Refused(url, reason)
        host = urlsplit(url).hostname
        literal = ip_literal(host)
        return [str(literal)] if literal is not None else list(self.resolve(host))

    def require(self, url: str) -> None:
        """Raise Refused unless ``url`` may be fetched."""
        reason = self.refusal(url)
        if reason:
            raise Refused(url, reason)


def check_url(url: str, profile, resolve=resolve_host) -> str | None:
    """Why ``url`` may not be fetched for ``profile`` (its allowed_hosts/allow_loopback), or None."""
    return Policy.of(profile, resolve).refusal(url)


# -- the allow-list itself ----------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _suffixes():
    """The Public Suffix List snapshot bundled with tldextract (offline: never fetched)."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


def allowlist_problem(entries: Iterable[str]) -> str | None:
    """What is wrong with an ``allowed_hosts`` list, or None: a wildcard must name a registrable
    domain's subdomains (``*.example.com``), never a public suffix (``*.com``, ``*.github.io``)."""
    for entry in entries:
        host = _normal_host(entry)
        if "*" not in host:
            continue
        base = host[2:] if host.startswith("*.") else None
        if not base or "*" in base:
            return f"{entry!r}: a wildcard is only allowed as the first label ('*.example.com')"
        if ip_literal(base) is not None or ip_literal(base.strip("[]")) is not None:
            return f"{entry!r}: a wildcard cannot cover an IP address"
        parts = _suffixes()(base)
        if not parts.domain or "." not in base:
            return (f"{entry!r}: {base!r} is a public suffix (or a top-level name), so the wildcard would "
                    f"allow every site under it; list the platform's own domain, e.g. '*.platform.{base}'")
    return None
