"""crawler/browser.prepare_page on a real Chromium tab: the page's deadline comes first, and a page whose
route guard cannot be installed is closed (fail closed) instead of navigating unguarded."""
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
                page = await chromium.new_page()
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


def test_the_deadline_is_installed_before_the_guard(monkeypatch):
    """Even when the guard's install fails on a page that stays open, the tab is closed at its deadline
    (the hang that once stopped a crawl: no deadline, content() never returned)."""
    class _SlowBrokenGuard:
        async def install_async(self, target):
            await asyncio.sleep(0.5)          # past the 0.2 s deadline: the watch must already be running
            raise RuntimeError("guard failed")

    monkeypatch.setitem(browser._GUARDS, "slow", _SlowBrokenGuard())

    async def check(page):
        request = _Request({"download_slot": "slow", "browser_deadline": 0.2})
        with pytest.raises(RuntimeError):
            await browser.prepare_page(page, request)
        return request.meta.get("browser_failure"), page.is_closed()

    failure, closed = _run(check)
    assert failure == "hung" and closed
