"""The endpoint host: stands in for the owners of the placeholder domains bomber configs name
(``*.sandbox.test``, ``*.example.invalid``), on 127.0.0.1.

It serves each domain's ``/.well-known/security.txt`` (by the Host header) and records every other
request — a request to an abused endpoint's path is exactly what Sweep must never send, so a test
fails on any entry in ``hits``. It sends nothing and answers every endpoint path with 403.

`python -m sandbox` runs one beside the platforms (sandbox/server.py), and the code host's config
files name its port, so the demo's endpoints really resolve here; another process reads what it
recorded at ``GET /_sandbox/hits`` asked by loopback address (a placeholder domain asking for that
path is recorded as a hit like any other).
"""
from __future__ import annotations

import asyncio
import ipaddress
import re
import threading

from aiohttp import web

# A URL on a placeholder domain, without a port (one with a port or credentials is left alone).
_PLACEHOLDER_URL = re.compile(r"https?://((?:[\w-]+\.)*(?:sandbox\.test|example\.invalid))(?![\w.:-])")
# Domains with a security.txt (the rest have none: 404, as most sites).
SECURITY_TXT = {
    "sandbox.test": "# 沙箱占位域名\nContact: mailto:security@sandbox.test\nContact: https://sandbox.test/security\n"
                    "Expires: 2099-12-31T23:59:59Z\nPreferred-Languages: zh, en\n",
}


class EndpointHost:
    """``with EndpointHost() as host:`` — serving on ``host.port``; ``host.hits``: (method, host, path) of
    every request that was not for a security.txt; ``host.lookups``: the security.txt requests."""

    def __init__(self, security_txt: dict[str, str] | None = None):
        self.security_txt = dict(SECURITY_TXT if security_txt is None else security_txt)
        self.hits: list[tuple[str, str, str]] = []
        self.lookups: list[str] = []
        self.port = 0
        self._ready = threading.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        host = (request.host or "").rsplit(":", 1)[0].lower()
        if request.method == "GET" and request.path == "/.well-known/security.txt":
            self.lookups.append(host)
            text = self.security_txt.get(host)
            return web.Response(text=text, content_type="text/plain") if text else web.Response(status=404)
        if request.method == "GET" and request.path == "/_sandbox/hits" and _is_ip(host):
            return web.json_response({"hits": self.hits, "lookups": self.lookups})
        self.hits.append((request.method, host, request.path))
        return web.Response(status=403, text="endpoint host: this path is an abused endpoint; nothing is served")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        runner = web.AppRunner(self.app(), access_log=None)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    def __enter__(self) -> EndpointHost:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("endpoint host did not start")
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def settings(self, **extra) -> dict:
        """The ``[endpoints]`` settings that point lookups for the placeholder domains here."""
        return endpoint_settings(self.port, **extra)


def endpoint_settings(port: int, **extra) -> dict:
    """``[endpoints]`` settings for an endpoint host on ``port`` (the placeholder domains resolve to it)."""
    return {"allow_hosts": ["sandbox.test", "*.sandbox.test", "example.invalid", "*.example.invalid"],
            "resolve": {"sandbox.test": "127.0.0.1", "example.invalid": "127.0.0.1"}, "allow_loopback": True,
            "security_txt_url": f"http://{{domain}}:{port}/.well-known/security.txt", **extra}


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return host == "localhost"


def point_urls_here(text: str, port: int) -> str:
    """The placeholder domains' URLs in ``text`` sent to this host: ``https://a.sandbox.test/x`` →
    ``http://a.sandbox.test:<port>/x`` (hosts without a URL, and credentials, are left as they are)."""
    return _PLACEHOLDER_URL.sub(lambda m: f"http://{m.group(1)}:{port}", text)

