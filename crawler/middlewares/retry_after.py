"""429 and 503: back off — for as long as the platform asks (Retry-After) — and retry.

Scrapy's RetryMiddleware retries at once; a platform that says "429, Retry-After: 30" means
*nobody from you for 30 seconds*. So here a 429/503 response

- pauses the whole download slot (the platform) until the Retry-After time (delta-seconds or an
  HTTP date), or, without the header, for an exponential backoff
  ``SWEEP_BACKOFF_BASE * 2**retries`` (capped at ``SWEEP_BACKOFF_MAX``, with ±20% jitter);
- retries the request after the pause (counted in Scrapy's ``retry/*`` stats, at most
  ``SWEEP_RETRY_AFTER_TIMES``), then gives the response to the spider as the failure it is;
- slows the platform down: its download delay gets a floor (``SWEEP_BACKOFF_MIN_DELAY``,
  doubled at every further 429/503, decaying by ``SWEEP_BACKOFF_DECAY`` with every other
  response) that AutoThrottle cannot go below — so the requests that waited out the pause do
  not all arrive at once and get refused again;
- gives up at once when the platform asks for longer than ``SWEEP_RETRY_AFTER_MAX`` seconds
  (``sweep/retry_after/too_long``): a crawl is not held for hours, and the platform is not
  asked again before it said.

Requests waiting for a paused slot do not count against the platform's concurrency. Remove
429/503 from RETRY_HTTP_CODES (crawler/settings.py) so they are not retried twice.

Settings read: SWEEP_RETRY_AFTER_CODES, SWEEP_RETRY_AFTER_TIMES, SWEEP_RETRY_AFTER_MAX,
SWEEP_BACKOFF_BASE, SWEEP_BACKOFF_MAX, SWEEP_BACKOFF_MIN_DELAY, SWEEP_BACKOFF_DECAY.
"""
from __future__ import annotations

import logging
import random
import time
from email.utils import parsedate_to_datetime

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from common.clock import SYSTEM

logger = logging.getLogger(__name__)


def parse_retry_after(value: bytes | str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None if absent/invalid."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (SYSTEM.now().timestamp() if now is None else now))


async def _sleep(seconds: float) -> None:
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    from scrapy.utils.defer import maybe_deferred_to_future

    await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))


class RetryAfterMiddleware:
    def __init__(self, crawler, codes, times: int, max_wait: float, base: float, cap: float,
                 min_delay: float = 0.1, decay: float = 0.98):
        self.crawler = crawler
        self.stats = crawler.stats
        self.codes = set(codes)
        self.times = times
        self.max_wait = max_wait
        self.base = base
        self.cap = cap
        self.min_delay = min_delay
        self.decay = decay
        self.paused_until: dict[str, float] = {}
        self.floor: dict[str, float] = {}          # slot -> lowest download delay while it recovers
        self.clock = time.monotonic

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        codes = [int(c) for c in s.getlist("SWEEP_RETRY_AFTER_CODES")]
        if not codes or s.getint("SWEEP_RETRY_AFTER_TIMES") < 1:
            raise NotConfigured("no SWEEP_RETRY_AFTER_CODES / SWEEP_RETRY_AFTER_TIMES")
        return cls(crawler, codes, s.getint("SWEEP_RETRY_AFTER_TIMES"), s.getfloat("SWEEP_RETRY_AFTER_MAX"),
                   s.getfloat("SWEEP_BACKOFF_BASE"), s.getfloat("SWEEP_BACKOFF_MAX"),
                   s.getfloat("SWEEP_BACKOFF_MIN_DELAY", 0.1), s.getfloat("SWEEP_BACKOFF_DECAY", 0.98))

    @staticmethod
    def slot_of(request) -> str:
        return request.meta.get("download_slot") or urlparse_cached(request).hostname or ""

    async def process_request(self, request, spider=None):
        wait = self.paused_until.get(self.slot_of(request), 0.0) - self.clock()
        if wait > 0:
            self.stats.inc_value("sweep/retry_after/waits")
            await _sleep(wait)
        return None

    def backoff(self, retries: int) -> float:
        return min(self.cap, self.base * 2 ** retries) * random.uniform(0.8, 1.2)

    def _hold_floor(self, key: str) -> None:
        """Keep the slot's delay (which AutoThrottle lowers as responses come back fast) at the floor."""
        try:
            slot = self.crawler.engine.downloader.slots.get(key)
        except (AttributeError, RuntimeError):     # no engine (yet): nothing to slow down
            return
        if slot is not None and slot.delay < self.floor[key]:
            slot.delay = self.floor[key]

    def process_response(self, request, response, spider=None):
        key = self.slot_of(request)
        if response.status not in self.codes or request.meta.get("dont_retry"):
            if key in self.floor:
                self.floor[key] *= self.decay
                if self.floor[key] < self.min_delay / 10:
                    del self.floor[key]
                else:
                    self._hold_floor(key)
            return response
        asked = parse_retry_after(response.headers.get("Retry-After"))
        if asked is not None and asked > self.max_wait:
            self.stats.inc_value("sweep/retry_after/too_long")
            logger.warning("%s answered %d with Retry-After %.0fs (more than %.0fs): not retried", request.url,
                           response.status, asked, self.max_wait)
            return response
        wait = asked if asked is not None else self.backoff(request.meta.get("retry_times", 0))
        retry = get_retry_request(request, spider=self.crawler.spider, reason=f"{response.status} with backoff",
                                  max_retry_times=self.times)
        if retry is None:
            return response
        self.paused_until[key] = max(self.paused_until.get(key, 0.0), self.clock() + wait)
        self.floor[key] = min(self.cap, max(self.floor.get(key, 0.0) * 2, self.min_delay))
        self._hold_floor(key)
        self.stats.max_value("sweep/retry_after/delay_floor", round(self.floor[key], 3))
        self.stats.inc_value(f"sweep/retry_after/{response.status}")
        self.stats.max_value("sweep/retry_after/longest_wait", round(wait, 3))
        return retry
