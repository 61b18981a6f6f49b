"""crawler/browser.prepare_page on a real Chromium tab: a page whose route guard cannot be installed is
closed (fail closed) instead of navigating unguarded and unbounded; the deadline counts from a guarded page."""
import asyncio

import pytest

from crawler import browser
from outbound.chromium import launch

pytestmark = pytest.mark.browser


class _Request:
    def __init__(self, meta):
        self.meta = meta
        self.headers = {}


class _BrokenGuard:
    async def install_async(self, target):
        raise RuntimeError("BrowserContext.route_web_socket: Target page, context or browser has been closed")


def _run(check):
    from playwright.async_api import async_playwright

    async def main():
        async with async_playwright() as p:
            chromium = await p.chromium.launch(**launch().playwright_options())
            try:
                page = await (await chromium.new_context()).new_page()
                return await check(page)
            finally:
                await chromium.close()

    return asyncio.run(main())


def test_a_page_whose_guard_cannot_be_installed_is_closed_not_navigated(monkeypatch):
    monkeypatch.setitem(browser._GUARDS, "broken", _BrokenGuard())

    async def check(page):
        request = _Request({"download_slot": "broken", "browser_deadline": 30.0})
        with pytest.raises(RuntimeError, match="has been closed"):
            await browser.prepare_page(page, request)
        return page.is_closed()

    assert _run(check)


def test_the_deadline_counts_from_a_guarded_page(monkeypatch):
    """Setting the page up is not the page's time: a slow guard install does not eat the deadline (it
    once did, and a tab that only timed out was reported hung). A failed install closes the page
    instead (above), so no page is left unbounded."""
    class _SlowGuard:
        async def install_async(self, target):
            await asyncio.sleep(0.5)          # longer than the 0.2 s deadline

    monkeypatch.setitem(browser._GUARDS, "slow", _SlowGuard())

    async def check(page):
        request = _Request({"download_slot": "slow", "browser_deadline": 0.2})
        await browser.prepare_page(page, request)
        closed_at_once = page.is_closed()
        await asyncio.sleep(0.5)              # the deadline, from the end of set-up, has passed
        return closed_at_once, request.meta.get("browser_failure"), page.is_closed()

    assert _run(check) == (False, "hung", True)


def test_a_context_guard_that_failed_is_installed_by_the_next_page(monkeypatch):
    """The context's popup guard is installed once per context; one that failed must not count as installed
    (every later page of the context would then render with popups unguarded)."""
    calls = []

    class _ContextFailsOnce:
        async def install_async(self, target):
            if not hasattr(target, "goto"):           # a BrowserContext, not a Page
                calls.append(target)
                if len(calls) == 1:
                    raise RuntimeError("context guard failed")

    monkeypatch.setattr(browser, "guard_for", lambda name: _ContextFailsOnce())

    async def check(page):
        with pytest.raises(RuntimeError, match="context guard failed"):
            await browser.prepare_page(page, _Request({"browser_deadline": 30.0}))
        second = await page.context.new_page()
        await browser.prepare_page(second, _Request({"browser_deadline": 30.0}))
        return len(calls), second.is_closed()

    assert _run(check) == (2, False)
