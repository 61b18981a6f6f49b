"""Screenshots: one headless Debian Chromium per batch, every request the page makes checked.

Chromium runs sandboxed where the machine allows it (outbound/chromium.py); each page gets the
route guard (outbound/browser.py) with the platform's outbound policy, so a refused navigation
fails the capture and nothing of it is screenshotted. JavaScript runs only where the profile asks.
Playwright's sync API runs on a thread of the browser's own: it refuses a thread that runs an
asyncio loop (a Starlette handler, Scrapy's asyncio reactor, a notebook), and its objects belong
to the thread that made them.
"""
from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import sync_playwright

from outbound.browser import RouteGuard
from outbound.chromium import launch
from outbound.policy import Policy
from takedown.archive import EvidenceRefused

log = logging.getLogger(__name__)


class Browser:
    """One headless Debian Chromium for a batch of screenshots (started lazily), sandboxed where the
    machine allows it; a context with JavaScript and one without, and every page guarded."""

    def __init__(self, timeout_ms: int = 20000, user: str = "nobody"):
        self.timeout_ms = timeout_ms
        self.user = user
        self.sandboxed: bool | None = None        # known once started
        self._pw = self._browser = None
        self._contexts: dict[bool, object] = {}
        self._thread: ThreadPoolExecutor | None = None     # every Playwright call runs on it

    def _on_thread(self, fn, *args):
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweep-chromium")
        return self._thread.submit(fn, *args).result()

    def _context(self, ua: str, javascript: bool):
        if self._browser is None:
            _warn_without_cjk_font()
            chosen = launch(self.user)
            self.sandboxed = chosen.sandbox
            self._pw = sync_playwright().start()
            self._browser = self._pw.chromium.launch(**chosen.playwright_options())
        if javascript not in self._contexts:
            context = self._browser.new_context(user_agent=ua, viewport={"width": 1280, "height": 900},
                                                locale="zh-CN", java_script_enabled=javascript,
                                                service_workers="block")    # a worker's fetches escape routes
            RouteGuard(Policy(())).install(context)      # popups: the page's own guard is on the page only
            self._contexts[javascript] = context
        return self._contexts[javascript]

    def screenshot(self, url: str, ua: str, policy: Policy, javascript: bool = False) -> tuple[bytes, str, list]:
        """Full-page PNG of the rendered page, its visible text (what the screenshot shows, searchable) and
        the URLs the page asked for that ``policy`` refused. A refused navigation fails the capture."""
        return self._on_thread(self._screenshot, url, ua, policy, javascript)

    def _screenshot(self, url: str, ua: str, policy: Policy, javascript: bool) -> tuple[bytes, str, list]:
        page = self._context(ua, javascript).new_page()
        guard = RouteGuard(policy)
        guard.install(page)
        try:
            try:
                page.goto(url, wait_until="networkidle", timeout=self.timeout_ms)
            except Exception:
                refused = [f"{u}: {why}" for u, why in guard.refused]
                if refused:
                    raise EvidenceRefused(f"cannot capture {url}: refused {refused[0]}") from None
                raise
            if page.url != url and guard.judge(page.url):      # belt and braces: never shoot a refused page
                raise EvidenceRefused(f"cannot capture {url}: the page moved to {page.url}")
            shot = page.screenshot(full_page=True, type="png", timeout=self.timeout_ms)
            return shot, page.inner_text("body", timeout=self.timeout_ms), [u for u, _ in guard.refused]
        finally:
            page.close()

    def close(self) -> None:
        if self._thread is None:
            return
        self._thread.submit(self._close).result()
        self._thread.shutdown(wait=True)
        self._thread = None

    def _close(self) -> None:
        for closer in (*self._contexts.values(), self._browser):
            with contextlib.suppress(Exception):
                closer and closer.close()
        if self._pw:
            with contextlib.suppress(Exception):
                self._pw.stop()
        self._pw = self._browser = None
        self._contexts = {}


def _warn_without_cjk_font() -> None:
    """Without a CJK font Chromium draws Chinese as empty boxes: evidence nobody can read."""
    if shutil.which("fc-list"):
        found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout.strip()
        if not found:
            log.warning("no Chinese font installed: screenshots will show boxes for Chinese text "
                        "(install Debian's fonts-wqy-microhei or fonts-noto-cjk)")

