"""The allow-list: only a profile's hosts, never private/link-local addresses (loopback only with
allow_loopback), redirects and rendered pages included. Addresses outside loopback are only ever
checked without a request being sent; real crawls only touch the probe site on 127.0.0.1."""
from __future__ import annotations

import asyncio
import json
import sqlite3
from types import SimpleNamespace

import pytest
from scrapy import Request, Spider
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler.middlewares.offsite import AllowListMiddleware, BrowserRequestFilter, check_url, url_refusal
from tests.helpers import sweep
from tests.fixtures_ops import probe_profile, write_profile

HOSTS = ["shop.example", "*.cdn.example", "93.184.216.34", "10.0.0.7", "169.254.169.254", "127.0.0.1", "::1",
         "fe80::1", "fd00::5", "::ffff:192.168.1.9", "100.64.0.1", "224.0.0.1", "0.0.0.0"]


@pytest.mark.parametrize("url, allow_loopback, refused", [
    ("https://shop.example/item/1", False, None),
    ("https://img.cdn.example/a.png", False, None),
    ("https://cdn.example.evil/a.png", False, "not in the profile's allowed_hosts"),
    ("https://other.example/", False, "not in the profile's allowed_hosts"),
    ("ftp://shop.example/x", False, "scheme"),
    ("file:///etc/passwd", False, "scheme"),
    ("http://93.184.216.34/", False, None),
    ("http://10.0.0.7/admin", False, "private address"),
    ("http://169.254.169.254/latest/meta-data/", False, "link-local address"),
    ("http://[fe80::1]/", False, "link-local address"),
    ("http://[fd00::5]/", False, "private address"),
    ("http://[::ffff:192.168.1.9]/", False, "private address"),
    ("http://100.64.0.1/", False, "not a public address"),
    ("http://224.0.0.1/", False, "not a public address"),
    ("http://0.0.0.0:8080/", False, "not a public address"),
    ("http://127.0.0.1:8701/", False, "loopback address"),
    ("http://[::1]:8701/", False, "loopback address"),
    ("http://127.0.0.1:8701/", True, None),
    ("http://10.0.0.7/admin", True, "private address"),          # allow_loopback is loopback only
    ("http://169.254.169.254/", True, "link-local address"),
])
def test_url_refusal(url, allow_loopback, refused):
    reason = url_refusal(url, HOSTS, allow_loopback)
    assert (reason is None) if refused is None else (refused in reason), reason


def test_a_name_is_judged_by_the_address_it_resolves_to():
    profile = SimpleNamespace(allowed_hosts=["shop.example"], allow_loopback=False)
    assert check_url("https://shop.example/", profile, resolve=lambda host: ["93.184.216.34"]) is None
    assert "private" in check_url("https://shop.example/", profile, resolve=lambda host: ["93.184.216.34", "10.1.2.3"])
    assert "loopback" in check_url("https://shop.example/", profile, resolve=lambda host: ["127.0.0.1"])

    def broken(host):
        raise OSError("Name or service not known")

    assert "does not resolve" in check_url("https://shop.example/", profile, resolve=broken)
    assert "allowed_hosts" in check_url("https://elsewhere.example/", profile, resolve=lambda h: pytest.fail("asked"))


class _Spider(Spider):
    name = "probe"


def middleware(allowed_hosts, allow_loopback=False):
    crawler = get_crawler(_Spider)
    crawler.spider = _Spider()
    crawler.spider.profile = SimpleNamespace(allowed_hosts=allowed_hosts, allow_loopback=allow_loopback)
    return crawler, AllowListMiddleware.from_crawler(crawler)


def test_middleware_refuses_a_redirect_to_cloud_metadata_without_sending_it():
    crawler, allow = middleware(["93.184.216.34", "169.254.169.254"])      # even if a profile lists it
    first = Request("http://93.184.216.34/item/1", dont_filter=True, meta={"allow_offsite": True})
    assert asyncio.run(allow.process_request(first)) is None
    redirect = Response(first.url, status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"},
                        request=first)
    follow = RedirectMiddleware.from_crawler(crawler).process_response(first, redirect)
    assert isinstance(follow, Request) and follow.url.startswith("http://169.254.169.254/")
    with pytest.raises(IgnoreRequest, match="link-local"):
        asyncio.run(allow.process_request(follow))                 # dont_filter / allow_offsite change nothing
    assert crawler.stats.get_value("sweep/allowlist/refused") == 1


def test_rendered_response_that_chromium_redirected_elsewhere_is_dropped():
    _, allow = middleware(["127.0.0.1"], allow_loopback=True)
    request = Request("http://127.0.0.1:8701/item/1", meta={"playwright": True})
    moved = Response("http://10.9.8.7/internal", request=request)
    with pytest.raises(IgnoreRequest, match="not in the profile's allowed_hosts"):
        allow.process_response(request, moved)
    assert allow.process_response(request, Response(request.url, request=request)).url == request.url


def test_browser_filter_aborts_requests_a_rendered_page_makes_elsewhere():
    profile = SimpleNamespace(allowed_hosts=["127.0.0.1"], allow_loopback=True)
    policy = BrowserRequestFilter(profile, "crawler.browser.abort_request")
    page = lambda url, kind="xhr": SimpleNamespace(url=url, resource_type=kind)   # noqa: E731
    assert policy(page("http://127.0.0.1:8701/api/item/1/desc")) is False
    assert policy(page("http://127.0.0.1:8701/img/1.png", "image")) is True       # the bundled policy still applies
    assert policy(page("http://169.254.169.254/latest/meta-data/")) is True
    assert policy(page("https://tracker.example/t.js", "script")) is True
    assert policy(page("data:text/plain,hi")) is False
    assert BrowserRequestFilter(profile, policy).inner is policy.inner               # never wrapped twice


def test_crawl_never_follows_links_or_redirects_off_the_allow_list(probe_site, probe_profiles, model_path, tmp_path):
    port = probe_site.port
    probe_site.links = ["/item/1", f"http://localhost:{port}/other/2",                       # another host name
                        f"/redirect?to=http://localhost:{port}/other/3",                       # redirect SSRF
                        f"/redirect?to=http://127.0.0.1:{port}/item/4"]                       # redirect on the list
    db = tmp_path / "allow.db"
    sweep("crawl", "--db", str(db), "--profiles", str(probe_profiles), "--platform", "probe")
    assert probe_site.paths("/other/") == []
    assert set(probe_site.paths("/item/")) == {"/item/1", "/item/4"}
    stats = json.loads(sqlite3.connect(db).execute("SELECT stats FROM crawl_runs").fetchone()[0])
    assert stats["platforms"]["probe"]["sweep/allowlist/refused"] == 2


def test_a_host_name_that_resolves_to_loopback_is_refused_without_allow_loopback(probe_site, probe_profiles,
                                                                               model_path, tmp_path):
    url = f"http://localhost:{probe_site.port}"
    write_profile(probe_profiles, probe_profile(url, allowed_hosts=["localhost"], allow_loopback=False))
    proc = sweep("crawl", "--db", str(tmp_path / "lo.db"), "--profiles", str(probe_profiles), check=False)
    assert probe_site.hits == []                                 # not even robots.txt
    assert proc.returncode != 0 and "probe: monitor min_listings failed" in proc.stderr
