"""Rendered pages that crash, hang or time out the browser: bounded, retried on a fresh tab, given up.

What Debian's Chromium does under scrapy-playwright 0.0.48 (measured, see the tests):

- a script that never yields (``while(true){}``) before ``load``: Page.goto times out — bounded
  by the per-request goto timeout — and is not retried;
- the same after ``load``: Page.content(), which scrapy-playwright awaits on every page and which
  takes no timeout, never returns — the crawl waits forever;
- a runaway allocation crashes the tab ("Target crashed", ~1.5 s with the 512 MB V8 heap limit
  in PLAYWRIGHT_LAUNCH_OPTIONS); scrapy-playwright re-creates the page for TargetClosedError
  only, silently, up to three times, and not at all for a crash seen by a later call.

So for every browser request (meta ``playwright``) this middleware

- bounds the whole page: ``process_request`` installs :func:`watch_page` as the
  ``playwright_page_init_callback`` with a deadline of the goto timeout + the page methods'
  timeouts + SWEEP_BROWSER_GRACE seconds; past it the tab is closed, which ends whatever call was
  waiting on it. Once a tab of a request has crashed or hung, scrapy-playwright's silent
  re-creations are cut short (each new tab is closed at once) so the retry below is the only one;
- a page the outbound route guard refused (``ERR_BLOCKED_BY_CLIENT``) is not retried: it is
  ignored and counted as ``sweep/allowlist/refused``;
- retries what Playwright raised — ``timeout``, ``crashed``, ``hung``, ``closed``, ``error``,
  each counted as ``sweep/faults/browser_<reason>`` — on a fresh page, up to
  SWEEP_BROWSER_RETRY_TIMES times (``sweep/faults/browser_retried``), then gives up with one
  WARNING (``sweep/faults/browser_gave_up``). The spider's errback then keeps the listing's
  plain-HTTP content (ProfileSpider.on_browser_error) rather than losing it.

Settings read: SWEEP_RENDER, SWEEP_BROWSER_RETRY_TIMES, SWEEP_BROWSER_GRACE,
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT.
"""
from __future__ import annotations

import asyncio
import logging

from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)

WATCH = "crawler.middlewares.browser_retry.watch_page"
_SAID = {"timeout": "timed out", "crashed": "crashed its tab", "hung": "hung its tab", "closed": "lost its tab",
         "error": "failed to render"}


async def watch_page(page, request) -> None:
    """playwright_page_init_callback: close the tab when the request's deadline passes."""
    meta = request.meta
    if meta.get("browser_failure"):     # this attempt already crashed or hung: no silent re-creation
        await page.close()
        return
    loop = asyncio.get_running_loop()

    deadline = meta.get("browser_deadline", 60.0)

    def expire():
        if not page.is_closed():
            meta["browser_failure"], meta["browser_failure_detail"] = "hung", f"no answer within {deadline:g}s"
            loop.create_task(_close(page))

    def crashed(_page):
        meta.setdefault("browser_failure", "crashed")
        meta.setdefault("browser_failure_detail", "Target crashed")

    timer = loop.call_later(deadline, expire)
    page.on("close", lambda _page: timer.cancel())
    page.on("crash", crashed)


async def _close(page) -> None:
    try:
        await asyncio.wait_for(page.close(), 10)
    except Exception as exc:           # the browser itself is wedged: take the whole context down
        logger.error("could not close a hung tab (%s); closing its browser context", exc)
        await page.context.close()


def _reason(exception) -> str:
    from playwright.async_api import TimeoutError as PlaywrightTimeoutError

    message = str(exception).lower()
    if isinstance(exception, PlaywrightTimeoutError):
        return "timeout"
    if "crash" in message:
        return "crashed"
    if "closed" in message:
        return "closed"
    return "error"


class BrowserRetryMiddleware:
    def __init__(self, stats, retry_times: int, grace: float, navigation_timeout_ms: float):
        self.stats = stats
        self.retry_times = retry_times
        self.grace = grace
        self.navigation_timeout_ms = navigation_timeout_ms

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        if not s.getbool("SWEEP_RENDER", True):      # no browser, nothing to bound
            raise NotConfigured
        mw = cls(crawler.stats, s.getint("SWEEP_BROWSER_RETRY_TIMES", 2), s.getfloat("SWEEP_BROWSER_GRACE", 5.0),
                 s.getfloat("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT", 30000))
        mw.crawler = crawler
        return mw

    def deadline(self, meta: dict) -> float:
        """Seconds a page may live: every timed call at its limit, plus grace."""
        goto = (meta.get("playwright_page_goto_kwargs") or {}).get("timeout", self.navigation_timeout_ms)
        methods = meta.get("playwright_page_methods") or ()
        methods = methods.values() if isinstance(methods, dict) else methods
        waits = sum(getattr(m, "kwargs", {}).get("timeout", self.navigation_timeout_ms) for m in methods)
        return (goto + waits) / 1000 + self.grace

    def process_request(self, request):
        # A page the caller keeps (playwright_include_page) is the caller's to close.
        if request.meta.get("playwright") and not request.meta.get("playwright_include_page"):
            request.meta.setdefault("browser_deadline", self.deadline(request.meta))
            request.meta.setdefault("playwright_page_init_callback", WATCH)
        return None

    def process_exception(self, request, exception):
        from playwright.async_api import Error as PlaywrightError

        if not request.meta.get("playwright") or not isinstance(exception, PlaywrightError):
            return None
        if "ERR_BLOCKED_BY_CLIENT" in str(exception):
            # The outbound route guard (crawler/browser.py) refused the page or a redirect of it: policy,
            # not a fault — never retried, counted with the allow-list's refusals.
            from scrapy.exceptions import IgnoreRequest

            self.stats.inc_value("sweep/allowlist/refused")
            logger.warning("%s: the outbound policy refused rendering it (or where it redirects)", request.url)
            raise IgnoreRequest(f"refused {request.url}: the outbound policy refused the page or its redirect")
        reason = request.meta.get("browser_failure") or _reason(exception)
        self.stats.inc_value(f"sweep/faults/browser_{reason}")
        profile = getattr(self.crawler.spider, "profile", None)
        platform = getattr(profile, "name", "-")
        attempt = request.meta.get("browser_retries", 0) + 1
        # Once a tab crashed or hung, what the handler raised last is only the echo ("… has been closed").
        detail = (request.meta.get("browser_failure_detail") or str(exception).strip().split("\n")[0]
                  or type(exception).__name__)
        if attempt <= self.retry_times:
            retry = request.replace(dont_filter=True)
            retry.meta["browser_retries"] = attempt
            retry.meta.pop("browser_failure", None)
            self.stats.inc_value("sweep/faults/browser_retried")
            retry.meta.pop("browser_failure_detail", None)
            logger.info("%s: %s: the page %s (%s); retrying on a fresh page (%d/%d)", platform, request.url,
                        _SAID[reason], detail, attempt, self.retry_times)
            return retry
        self.stats.inc_value("sweep/faults/browser_gave_up")
        logger.warning("%s: %s: the page %s (%s); gave up after %d attempts", platform, request.url,
                       _SAID[reason], detail, attempt)
        return None
