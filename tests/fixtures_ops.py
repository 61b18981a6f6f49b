"""Fixtures of the ops area (loaded by tests/conftest.py through pytest_plugins).

- ``probe_site``: a tiny marketplace on 127.0.0.1 that records every request it gets (path,
  User-Agent, arrival time, requests in flight) and can answer 429/503, redirect, or be slow —
  what politeness and allow-list tests watch a real crawl through.
- ``probe_profiles`` / ``small_profiles``: profile directories for crawls of the probe site and
  a small (search-only) crawl of the sandbox app store.
- ``write_config``: a sweep.toml with the mode asked for.
"""
from __future__ import annotations

import asyncio
import os
import threading
import time
from html import escape
from pathlib import Path

import pytest
import yaml
from aiohttp import web

PROFILES = Path(__file__).resolve().parent.parent / "crawler" / "profiles"


class ProbeSite:
    """``site.links`` are the hrefs its list page (/list) shows; every request lands in ``site.hits``."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.links: list[str] = []
        self.robots = "User-agent: *\nDisallow: /private/\n"
        self.hits: list[dict] = []
        self.inflight = 0
        self.seen: set[str] = set()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def paths(self, prefix: str = "/") -> list[str]:
        return [h["path"] for h in self.hits if h["path"].startswith(prefix)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.inflight += 1
        hit = {"path": request.path_qs, "ua": request.headers.get("User-Agent", ""),
               "referer": request.headers.get("Referer"),
               "at": time.monotonic(),
               "inflight": self.inflight}
        self.hits.append(hit)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return self.answer(request)
        finally:
            self.inflight -= 1

    def answer(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        first = path not in self.seen
        self.seen.add(path)
        if path == "/robots.txt":
            return web.Response(text=self.robots)
        if path == "/list":
            cards = "".join(f'<div class="card"><a class="title" href="{escape(h)}">item</a></div>' for h in self.links)
            return web.Response(text=f"<html><body>{cards}</body></html>", content_type="text/html")
        if path == "/redirect":
            raise web.HTTPFound(request.query["to"])
        if path.startswith("/limited/") and first:
            return web.Response(status=429, text="too many", headers={"Retry-After": request.query.get("after", "1")})
        if path.startswith("/busy/") and first:
            return web.Response(status=503, text="busy")
        if path.startswith("/toolong/"):
            return web.Response(status=429, text="come back tomorrow", headers={"Retry-After": "86400"})
        name = path.rstrip("/").rpartition("/")[2]
        return web.Response(text=f'<html><body><h1 class="t">probe listing {escape(name)}</h1>'
                                 f'<div class="desc">短信轰炸 测试 {escape(path)}</div></body></html>',
                            content_type="text/html")

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self.handle)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    def __enter__(self) -> ProbeSite:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "probe site did not start"
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def probe_profile(base_url: str, **changes) -> dict:
    profile = {
        "name": "probe", "kind": "ecommerce", "base_url": base_url, "allowed_hosts": ["127.0.0.1"],
        "allow_loopback": True, "politeness": {"download_delay": 0, "concurrency": 4},
        "seeds": {"pages": ["/list"]},
        "list": {"links": "css:div.card a.title::attr(href)"},
        "listing": {"url": r"/(?:item|private|limited|busy|toolong|other)/(?P<id>\d+)$",
                    "fields": {"title": "css:h1.t::text", "description": "css:div.desc ::text"}},
    }
    profile.update(changes)
    return profile


@pytest.fixture
def probe_site():
    with ProbeSite() as site:
        yield site


@pytest.fixture
def probe_profiles(tmp_path, probe_site):
    """A profile directory with `probe` pointed at the probe site; tests may rewrite it."""
    directory = tmp_path / "profiles"
    directory.mkdir()
    write_profile(directory, probe_profile(probe_site.url))
    return directory


def write_profile(directory: Path, profile: dict) -> Path:
    path = Path(directory) / f"{profile['name']}.yaml"
    path.write_text(yaml.safe_dump(profile, allow_unicode=True), encoding="utf-8")
    return path


def bundled_profile(name: str) -> dict:
    return yaml.safe_load((PROFILES / f"{name}.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def small_profiles(tmp_path):
    """The sandbox app store, searched for one keyword only (no category pages): a crawl of seconds."""
    directory = tmp_path / "small-profiles"
    directory.mkdir()
    app = bundled_profile("appstore")
    app["seeds"] = {"search": app["seeds"]["search"], "keywords": ["猫池"]}
    write_profile(directory, app)
    return directory


@pytest.fixture
def write_config(tmp_path):
    def write(text: str, mode: int = 0o600, name: str = "sweep.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        os.chmod(path, mode)
        return path

    return write
