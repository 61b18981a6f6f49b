"""Redirect loops, caught at the first repeat and said out loud.

Scrapy's RedirectMiddleware sends a redirect back through the scheduler, where a loop back to a
URL already fetched is dropped by the duplicate filter without a word, and an endless chain of
new URLs runs to REDIRECT_MAX_TIMES and is discarded at DEBUG level. This middleware sits just
before it (a higher number: it sees the 3xx first) and stops a redirect

- to a URL this request already passed through (a loop), or
- that would be one hop more than REDIRECT_MAX_TIMES (an endless chain),

with one WARNING naming the platform and the hops, ``sweep/faults/redirect_loop``, and an
IgnoreRequest the spider's errback sees.

Settings read: REDIRECT_ENABLED, REDIRECT_MAX_TIMES.
"""
from __future__ import annotations

import logging
from urllib.parse import urljoin

from scrapy.exceptions import IgnoreRequest, NotConfigured
from w3lib.url import safe_url_string

logger = logging.getLogger(__name__)
_REDIRECTS = {301, 302, 303, 307, 308}


class RedirectLoopMiddleware:
    def __init__(self, stats, max_times: int):
        self.stats = stats
        self.max_times = max_times

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("REDIRECT_ENABLED"):
            raise NotConfigured
        mw = cls(crawler.stats, crawler.settings.getint("REDIRECT_MAX_TIMES"))
        mw.crawler = crawler
        return mw

    def process_response(self, request, response):
        location = response.headers.get(b"Location")
        if response.status not in _REDIRECTS or not location or request.meta.get("dont_redirect"):
            return response
        target = urljoin(request.url, safe_url_string(location.decode("latin-1")))
        hops = [*request.meta.get("redirect_urls", []), request.url]
        if target in hops:
            why = "loops back"
        elif len(hops) > self.max_times:          # where RedirectMiddleware would discard it silently
            why = f"still redirecting after {len(hops)} hops (REDIRECT_MAX_TIMES)"
        else:
            return response
        self.stats.inc_value("sweep/faults/redirect_loop")
        profile = getattr(self.crawler.spider, "profile", None)
        shown = " -> ".join([*hops[:3], "…", hops[-1]] if len(hops) > 4 else hops)
        logger.warning("%s: redirect loop: %s -> %s %s; dropped", getattr(profile, "name", "-"), shown, target, why)
        raise IgnoreRequest(f"redirect loop: {target} {why}")
