"""The policy inside Chromium: a Playwright route filter for every request a page makes.

Playwright's routes see the first request of a chain only — Chromium follows redirects
without asking again (microsoft/playwright#3993). So the guard does not let Chromium fetch:
for every request it checks the URL, fetches it itself with ``route.fetch(max_redirects=0)``,
checks each ``Location`` before fetching that hop, and hands the final answer to the page with
``route.fulfill``. A refused URL — a script's ``fetch`` of an internal address, a redirect to
one — is aborted before any connection is made. (A redirected page keeps its first URL in the
browser.) WebSockets are checked the same way (``route_web_socket``).

One guard per platform (its :class:`~outbound.policy.Policy`); ``skip`` is an extra predicate
(e.g. images and fonts the crawl never needs). Install it on a sync page/context with
:meth:`RouteGuard.install`, on an async one with :meth:`RouteGuard.install_async`.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit, urlunsplit

from .policy import Policy

log = logging.getLogger(__name__)

REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
_LOCAL = ("data:", "blob:", "about:")          # never leave the browser


def _http_form(url: str) -> str:
    """ws(s):// judged as the http(s):// request its handshake is."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, *parts[1:]))


class RouteGuard:
    def __init__(self, policy: Policy, skip: Callable | None = None, on_refuse: Callable | None = None):
        self.policy = policy
        self.skip = skip
        self.on_refuse = on_refuse       # called with (url, reason) for each refusal
        self.refused: deque[tuple[str, str]] = deque(maxlen=100)    # the latest (url, reason)
        self.refusals = 0

    def judge(self, url: str) -> str | None:
        """Why the page may not fetch ``url``, or None."""
        if url.startswith(_LOCAL):
            return None
        return self.policy.refusal(_http_form(url))

    def _refuse(self, url: str, reason: str) -> None:
        self.refused.append((url, reason))
        self.refusals += 1
        log.warning("browser request refused %s: %s", url, reason)
        if self.on_refuse:
            self.on_refuse(url, reason)

    @staticmethod
    def _next_hop(url: str, response) -> str | None:
        """The URL a redirect response points to; None when the response is the answer."""
        location = response.headers.get("location")
        if response.status not in REDIRECTS or not location:
            return None
        return urljoin(url, location)

    # -- sync Playwright (evidence) ----------------------------------------------------------
    def install(self, target) -> None:
        """Route every request and WebSocket of a sync Page or BrowserContext through the guard."""
        target.route("**/*", self.handle)
        target.route_web_socket("**/*", self.handle_web_socket)

    def handle(self, route, request) -> None:
        url = request.url
        if url.startswith(_LOCAL):
            route.continue_()
            return
        if self.skip is not None and self.skip(request):
            route.abort("blockedbyclient")
            return
        reason = self.judge(url)
        for _ in range(MAX_REDIRECTS + 1):
            if reason:
                self._refuse(url, reason)
                route.abort("blockedbyclient")
                return
            try:
                response = route.fetch(url=url, max_redirects=0)
            except Exception as exc:          # noqa: BLE001 — the page sees a failed load, as without the guard
                log.debug("browser fetch of %s failed: %s", url, exc)
                with contextlib.suppress(Exception):        # the page may be gone already
                    route.abort("failed")
                return
            target = self._next_hop(url, response)
            if target is None:
                route.fulfill(response=response)
                return
            url, reason = target, self.judge(target)
        self._refuse(url, f"more than {MAX_REDIRECTS} redirects")
        route.abort("blockedbyclient")

    def handle_web_socket(self, ws) -> None:
        reason = self.judge(ws.url)
        if reason:
            self._refuse(ws.url, reason)
            ws.close()
        else:
            ws.connect_to_server()

    # -- async Playwright (scrapy-playwright) ---------------------------------------------------
    async def install_async(self, target) -> None:
        await target.route("**/*", self.handle_async)
        await target.route_web_socket("**/*", self.handle_web_socket_async)

    async def handle_async(self, route, request) -> None:
        url = request.url
        if url.startswith(_LOCAL):
            await route.continue_()
            return
        if self.skip is not None and self.skip(request):
            await route.abort("blockedbyclient")
            return
        reason = await asyncio.to_thread(self.judge, url)        # a name is resolved: not on the loop
        for _ in range(MAX_REDIRECTS + 1):
            if reason:
                self._refuse(url, reason)
                await route.abort("blockedbyclient")
                return
            try:
                response = await route.fetch(url=url, max_redirects=0)
            except Exception as exc:          # noqa: BLE001 — the page sees a failed load, as without the guard
                log.debug("browser fetch of %s failed: %s", url, exc)
                with contextlib.suppress(Exception):        # the page may be gone already
                    await route.abort("failed")
                return
            target = self._next_hop(url, response)
            if target is None:
                await route.fulfill(response=response)
                return
            url, reason = target, await asyncio.to_thread(self.judge, target)
        self._refuse(url, f"more than {MAX_REDIRECTS} redirects")
        await route.abort("blockedbyclient")

    async def handle_web_socket_async(self, ws) -> None:
        reason = await asyncio.to_thread(self.judge, ws.url)
        if reason:
            self._refuse(ws.url, reason)
            await ws.close()
        else:
            ws.connect_to_server()
