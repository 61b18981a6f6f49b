"""Only addresses a profile allows — the Scrapy adapter of the outbound policy (outbound/policy.py).

Replaces Scrapy's OffsiteMiddleware (crawler/settings.py), which matches host names only, lets
``dont_filter``/``allow_offsite`` requests through and never looks at the address a name
resolves to. Here every request — seeds, links, redirects (Scrapy sends the redirected request
back through the downloader middlewares), browser pages and robots.txt — must pass
:func:`outbound.policy.url_refusal` (http(s), the profile's ``allowed_hosts``, a public address;
loopback only with ``allow_loopback``).

Names are resolved through the crawler's own (caching) resolver, so the address checked is the
address the download connects to. Chromium fetches on its own: every browser request gets
:data:`crawler.browser.PREPARE` as its page init callback, which installs the profile's route
guard (registered by :class:`BrowserRequestFilter`) on the page before it navigates; a rendered
response whose final URL was refused is dropped here.

Settings read: SWEEP_ALLOWLIST_ENABLED.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.misc import load_object

from outbound.browser import RouteGuard
from outbound.policy import Policy, check_url, ip_literal, url_refusal

from ..browser import PREPARE, guard_for, register_guard

__all__ = ["AllowListMiddleware", "BrowserRequestFilter", "check_url", "url_refusal"]

logger = logging.getLogger(__name__)


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
        if request.meta.get("playwright"):           # the page gets the profile's route guard first
            request.meta.setdefault("playwright_page_init_callback", PREPARE)
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
        if request.meta.get("playwright"):       # what the page's route guard refused so far
            self.stats.set_value("sweep/browser/refused", guard_for(request.meta.get("download_slot")).refusals)
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
    """PLAYWRIGHT_ABORT_REQUEST for one profile: abort what ``inner`` aborts, and every request the
    profile's policy refuses (names resolved, so ``localhost`` is loopback). Also registers the
    profile's route guard, which :func:`crawler.browser.prepare_page` installs on each page."""

    def __init__(self, profile, inner=None):
        if isinstance(inner, BrowserRequestFilter):
            inner = inner.inner
        self.inner = load_object(inner) if inner else None
        self.guard = RouteGuard(Policy.of(profile), skip=self.inner)
        if getattr(profile, "name", None):
            register_guard(profile.name, self.guard)

    def __call__(self, request) -> bool:
        if self.inner is not None and self.inner(request):
            return True
        return self.guard.judge(request.url) is not None
