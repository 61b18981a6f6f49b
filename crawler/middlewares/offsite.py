"""Only addresses a profile allows: its hosts, and never private, link-local or reserved addresses.

Replaces Scrapy's OffsiteMiddleware (crawler/settings.py), which matches host names only, lets
``dont_filter``/``allow_offsite`` requests through and never looks at the address a name
resolves to. Here every request — seeds, links, redirects (Scrapy sends the redirected request
back through the downloader middlewares), browser pages and robots.txt — must pass
:func:`url_refusal`:

- ``http``/``https`` only, and the host is one of the profile's ``allowed_hosts`` (exact, or
  ``*.example.com`` for its subdomains);
- the address (an IP literal, or what a host name resolves to) is public; loopback only when the
  profile says ``allow_loopback: true`` (the bundled sandbox). Private (10/8, 172.16/12,
  192.168/16, fc00::/7), link-local (169.254/16 — cloud metadata — fe80::/10), CGNAT,
  multicast, reserved and unspecified addresses are always refused.

Names are resolved through the crawler's own (caching) resolver, so the address checked is the
address the download connects to. Chromium resolves and redirects on its own: the pages and
scripts a rendered page requests are checked by :class:`BrowserRequestFilter`, and a rendered
response whose final URL was refused is dropped here.

Rechecks and other code that fetch outside Scrapy call :func:`check_url` (resolving with the
system resolver) before each request and each redirect.

Settings read: SWEEP_ALLOWLIST_ENABLED.
"""
from __future__ import annotations

import functools
import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.misc import load_object

logger = logging.getLogger(__name__)


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


@functools.lru_cache(maxsize=4096)
def address_refusal(address, allow_loopback: bool = False) -> str | None:
    """Why this address may not be crawled, or None."""
    addr = ipaddress.ip_address(address) if isinstance(address, str) else address
    if addr.version == 6 and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    if addr.is_unspecified:                # 0.0.0.0 / :: connect to this machine
        return f"{addr} is not a public address (the unspecified address)"
    if addr.is_loopback:
        return None if allow_loopback else f"{addr} is a loopback address (the profile does not allow_loopback)"
    if addr.is_link_local:
        return f"{addr} is a link-local address"
    if addr.is_multicast or addr.is_reserved:
        return f"{addr} is not a public address"
    if addr.is_private:
        return f"{addr} is a private address"
    if not addr.is_global:
        return f"{addr} is not a public address"
    return None


def url_refusal(url: str, allowed_hosts, allow_loopback: bool = False, addresses=None) -> str | None:
    """Why ``url`` may not be fetched for a profile, or None. ``addresses``: what its host resolves to."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
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


def check_url(url: str, profile, resolve=resolve_host) -> str | None:
    """Outside Scrapy (rechecks): why ``url`` may not be fetched for ``profile``, or None."""
    reason = url_refusal(url, profile.allowed_hosts, profile.allow_loopback)
    host = urlsplit(url).hostname
    if reason or ip_literal(host) is not None:
        return reason
    try:
        addresses = resolve(host)
    except OSError as exc:
        return f"host {host!r} does not resolve: {exc}"
    return url_refusal(url, profile.allowed_hosts, profile.allow_loopback, addresses)


class AllowListMiddleware:
    """Downloader middleware: refuse (IgnoreRequest, counted) every request :func:`url_refusal` refuses."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.warned: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("SWEEP_ALLOWLIST_ENABLED", True):
            raise NotConfigured("SWEEP_ALLOWLIST_ENABLED is off")
        return cls(crawler)

    def _profile(self):
        return getattr(self.crawler.spider, "profile", None)

    async def _resolve(self, host: str) -> list[str]:
        from twisted.internet import reactor

        from scrapy.utils.defer import maybe_deferred_to_future

        return [await maybe_deferred_to_future(reactor.resolve(host))]

    async def process_request(self, request, spider=None):
        profile = self._profile()
        if profile is None:            # not a profile spider (benchmarks): nothing to check against
            return None
        reason = url_refusal(request.url, profile.allowed_hosts, profile.allow_loopback)
        host = urlsplit(request.url).hostname
        if reason is None and ip_literal(host) is None:
            try:
                addresses = await self._resolve(host)
            except Exception as exc:    # noqa: BLE001 — twisted's DNS errors have several types
                reason = f"host {host!r} does not resolve: {exc.__class__.__name__}"
            else:
                reason = url_refusal(request.url, profile.allowed_hosts, profile.allow_loopback, addresses)
        if reason:
            self._refuse(request.url, reason)
        return None

    def process_response(self, request, response, spider=None):
        if response.url != request.url and request.meta.get("playwright"):     # Chromium followed a redirect
            profile = self._profile()
            reason = profile and url_refusal(response.url, profile.allowed_hosts, profile.allow_loopback)
            if reason:
                self._refuse(response.url, reason)
        return response

    def _refuse(self, url: str, reason: str):
        self.stats.inc_value("sweep/allowlist/refused")
        host = urlsplit(url).hostname or url
        if host not in self.warned:
            self.warned.add(host)
            logger.warning("refused %s: %s", url, reason)
        raise IgnoreRequest(f"refused {url}: {reason}")


class BrowserRequestFilter:
    """PLAYWRIGHT_ABORT_REQUEST for one profile: abort what ``inner`` aborts, and every request a
    rendered page makes to an address the profile does not allow (names are checked by host;
    Chromium resolves them itself)."""

    def __init__(self, profile, inner=None):
        if isinstance(inner, BrowserRequestFilter):
            inner = inner.inner
        self.inner = load_object(inner) if inner else None
        self.allowed_hosts = list(profile.allowed_hosts)
        self.allow_loopback = profile.allow_loopback

    def __call__(self, request) -> bool:
        if self.inner is not None and self.inner(request):
            return True
        reason = url_refusal(request.url, self.allowed_hosts, self.allow_loopback)
        if reason and not request.url.startswith(("data:", "blob:", "about:")):
            logger.warning("browser request refused %s: %s", request.url, reason)
            return True
        return False
