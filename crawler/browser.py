"""Browser-side request policy for rendered pages.

Every rendered page gets the platform's outbound route guard (outbound/browser.py) before it
navigates: :func:`prepare_page` is the ``playwright_page_init_callback`` AllowListMiddleware
puts on every browser request. The guard checks each request the page makes and each redirect
hop, fetching them itself, so Chromium never connects anywhere the profile does not allow.
"""
from __future__ import annotations

from outbound.browser import RouteGuard
from outbound.policy import Policy

PREPARE = "crawler.browser.prepare_page"
# Rendering needs the page's scripts and XHR only; images, fonts and media are skipped.
_SKIP = {"image", "media", "font"}
# {profile name: its guard}, registered when a rendering spider starts (request meta only carries
# the profile name as ``download_slot``: meta must stay plain data for the frontier).
_GUARDS: dict[str, RouteGuard] = {}


def abort_request(request) -> bool:
    """Called by scrapy-playwright for every request a rendered page makes."""
    return request.resource_type in _SKIP


def register_guard(name: str, guard: RouteGuard) -> None:
    _GUARDS[name] = guard


def guard_for(name: str | None) -> RouteGuard:
    """The platform's guard; an unknown platform gets one that refuses everything."""
    return _GUARDS.get(name) or RouteGuard(Policy(()), skip=abort_request)


async def prepare_page(page, request) -> None:
    """playwright_page_init_callback: guard the page (popups: refused), then bound its lifetime."""
    from .middlewares.browser_retry import watch_page

    try:
        ua = request.headers.get(b"User-Agent")
        if ua:       # the guard fetches for the page: with the crawl's User-Agent, as scrapy-playwright would
            await page.set_extra_http_headers({"User-Agent": ua.decode("latin-1")})
        await guard_for(request.meta.get("download_slot")).install_async(page)
        if not getattr(page.context, "_sweep_guarded", False):
            # Popups are pages the page route misses, and rendering never needs them: refuse all. Marked
            # before the await so concurrent pages install it once; unmarked if it fails, so the next tries.
            page.context._sweep_guarded = True
            try:
                await guard_for(None).install_async(page.context)
            except Exception:
                page.context._sweep_guarded = False
                raise
    except Exception:
        # Fail closed: scrapy-playwright only logs an init callback's exception and goes on with the page,
        # so a page whose guard could not be installed would navigate unguarded and without a deadline
        # (a hang-after-load tab once hung the crawl). Closing it fails the request, which the browser
        # retry middleware retries on a fresh page or gives up.
        if not page.is_closed():
            await page.close()
        raise
    # The deadline bounds navigation and content from here: setting the page up (slow while Chromium
    # starts on a busy machine) is not the page's time.
    await watch_page(page, request)
