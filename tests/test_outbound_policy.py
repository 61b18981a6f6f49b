"""The outbound policy's rules (outbound/policy.py), the allow-list check run when profiles load, and
how Chromium is launched (outbound/chromium.py). Nothing here connects anywhere: names are mapped by
an injected resolver, and the one real launch loads a data: URL."""
from __future__ import annotations

import logging
import os
from types import SimpleNamespace

import pytest

from crawler.profile import ProfileError, parse_profile
from outbound.chromium import Facts, decide, launch, probe
from outbound.policy import Policy, Refused, address_refusal, allowlist_problem, url_refusal
from tests.fixtures_ops import probe_profile


@pytest.mark.parametrize("address, refused", [
    ("fec0::1", "site-local"),                               # deprecated site-local: internal by design
    ("fec0:0:0:ffff::1", "site-local"),
    ("::ffff:10.0.0.1", "10.0.0.1 is a private address"),    # IPv4-mapped
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "link-local"),
    ("2002:a00:1::1", "10.0.0.1 is a private address"),      # 6to4 of 10.0.0.1
    ("2002:a9fe:a9fe::1", "169.254.169.254 is a link-local address"),
    ("2002:7f00:1::1", "loopback"),
    ("64:ff9b::a00:1", "10.0.0.1 is a private address"),      # NAT64 of 10.0.0.1
    ("64:ff9b::a9fe:a9fe", "link-local"),
    ("64:ff9b:1::a00:1", "site-local"),                       # local-use NAT64 (RFC 8215): refused whole
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "10.0.0.1 is a private address"),  # Teredo, client 10.0.0.1
    ("::10.0.0.1", "not a public address"),                   # IPv4-compatible (deprecated)
    ("2002:5db8:d822::1", None),                              # 6to4 of 93.184.216.34: judged by it
    ("64:ff9b::5db8:d822", None),                             # NAT64 of 93.184.216.34
    ("::ffff:93.184.216.34", None),
    ("2606:2800:220:1:248:1893:25c8:1946", None),
])
def test_addresses_inside_ipv6_are_judged_by_the_ipv4_they_carry(address, refused):
    reason = address_refusal(address)
    assert (reason is None) if refused is None else (refused in reason), reason


def test_loopback_carried_in_ipv6_follows_allow_loopback():
    assert address_refusal("::ffff:127.0.0.1", allow_loopback=True) is None
    assert "private" in address_refusal("2002:a00:1::1", allow_loopback=True)


def test_localhost_is_judged_by_its_address_not_its_name():
    """A name passes the host check; the address it resolves to decides (the old browser filter let it by)."""
    resolve = {"localhost": ["127.0.0.1", "::1"]}.__getitem__
    no_loopback = Policy(("localhost",), False, resolve)
    assert "loopback" in no_loopback.refusal("http://localhost:8080/")
    assert Policy(("localhost",), True, resolve).refusal("http://localhost:8080/") is None
    with pytest.raises(Refused, match="loopback"):
        no_loopback.require("http://localhost:8080/admin")


def test_a_name_resolving_to_any_internal_address_is_refused():
    resolve = {"shop.example": ["93.184.216.34", "10.1.2.3"], "ok.example": ["93.184.216.34"],
               "v6.example": ["2002:a00:1::1"], "none.example": []}.__getitem__
    policy = Policy(("shop.example", "ok.example", "v6.example", "none.example"), False, resolve)
    assert "private" in policy.refusal("https://shop.example/")
    assert "private" in policy.refusal("https://v6.example/")
    assert "does not resolve" in policy.refusal("https://none.example/")
    assert policy.refusal("https://ok.example/x") is None
    assert policy.addresses("https://ok.example/x") == ["93.184.216.34"]
    assert "allowed_hosts" in policy.refusal("https://other.example/")
    assert "scheme" in policy.refusal("file:///etc/passwd")


def test_policy_of_a_profile_and_widening():
    profile = SimpleNamespace(allowed_hosts=["127.0.0.1"], allow_loopback=True)
    policy = Policy.of(profile).widened("shop.example", "127.0.0.1")
    assert policy.allowed_hosts == ("127.0.0.1", "shop.example") and policy.allow_loopback
    assert url_refusal("http://127.0.0.1:1/", policy.allowed_hosts, policy.allow_loopback) is None


# -- the allow-list itself --------------------------------------------------------------------
@pytest.mark.parametrize("entries, problem", [
    (["*.com"], "public suffix"),
    (["shop.example", "*.co.uk"], "public suffix"),
    (["*.github.io"], "public suffix"),                      # the list's private section counts too
    (["*.xn--fiqs8s"], "public suffix"),                      # .中国
    (["*.example"], "public suffix"),                         # a single label: a whole top-level name
    (["*"], "only allowed as the first label"),
    (["img.*.example.com"], "only allowed as the first label"),
    (["*.*.example.com"], "only allowed as the first label"),
    (["*.10.0.0.1"], "IP address"),
    (["*.example.com", "*.cdn.example", "shop.example", "127.0.0.1", "*.user.github.io"], None),
])
def test_allowlist_wildcards_must_name_a_registrable_domain(entries, problem):
    found = allowlist_problem(entries)
    assert (found is None) if problem is None else (problem in found), found


def test_a_profile_with_a_wildcard_on_a_public_suffix_is_refused_at_load():
    data = probe_profile("http://127.0.0.1:8080", allowed_hosts=["127.0.0.1", "*.com"])
    with pytest.raises(ProfileError, match=r"field 'allowed_hosts': '\*\.com'.*public suffix"):
        parse_profile(data, "probe.yaml")
    assert parse_profile(probe_profile("http://127.0.0.1:8080", allowed_hosts=["127.0.0.1", "*.shop.com"]),
                         "probe.yaml").allowed_hosts[-1] == "*.shop.com"


# -- Chromium's sandbox -----------------------------------------------------------------------
def test_launch_decision():
    wrap = lambda facts, exe: f"/wrapped/{facts.user}"        # noqa: E731
    user = decide(Facts(euid=1000, user=None, userns=True))
    assert user.sandbox and "--no-sandbox" not in user.args and user.executable == "/usr/bin/chromium"
    assert user.playwright_options()["chromium_sandbox"] is True
    root = decide(Facts(euid=0, user="nobody", uid=65534, gid=65534, setpriv="/usr/bin/setpriv", userns=True),
                  wrapper=wrap)
    assert root.sandbox and root.executable == "/wrapped/nobody" and "--no-sandbox" not in root.args
    for facts, why in [
        (Facts(euid=0, user=None, setpriv="/usr/bin/setpriv", userns=False), "browser user does not exist"),
        (Facts(euid=0, user="nobody", uid=65534, gid=65534, setpriv=None), "setpriv"),
        (Facts(euid=0, user="nobody", uid=65534, gid=65534, setpriv="/usr/bin/setpriv", userns=False,
               userns_detail="unshare: Operation not permitted"), "Operation not permitted"),
        (Facts(euid=1000, user=None, userns=False, userns_detail="disabled"), "user namespaces"),
    ]:
        chosen = decide(facts, wrapper=wrap)
        assert not chosen.sandbox and chosen.args[0] == "--no-sandbox" and why in chosen.why
        assert chosen.playwright_options()["chromium_sandbox"] is False


def test_without_a_sandbox_it_says_so_once(caplog):
    launch.cache_clear()
    try:
        with caplog.at_level(logging.INFO, logger="outbound.chromium"):
            first = launch(user="no-such-user-sweep")
            launch(user="no-such-user-sweep")
        if os.geteuid() == 0:                 # as root, without a user to run as, there is no sandbox
            assert not first.sandbox and "--no-sandbox" in first.args
            warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
            assert len(warnings) == 1 and "WITHOUT its sandbox" in warnings[0].getMessage()
            assert "browser user does not exist" in warnings[0].getMessage()
    finally:
        launch.cache_clear()


@pytest.mark.browser
def test_chromium_runs_sandboxed_where_the_machine_allows_it():
    """A real launch in whatever mode this machine allows; sandboxed renderers live in their own
    user namespace and, when Sweep runs as root, as the unprivileged browser user."""
    from playwright.sync_api import sync_playwright

    facts = probe()
    chosen = launch()
    assert chosen.sandbox == (facts.userns and (facts.euid != 0 or facts.user is not None))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**chosen.playwright_options())
        try:
            page = browser.new_page()
            page.goto("data:text/html,<p>sandboxed?</p>")
            assert page.inner_text("body") == "sandboxed?"
            renderers = _renderers_of(browser)
            assert renderers, "no renderer process found"
            for pid in renderers:
                own_ns = os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")
                assert own_ns == chosen.sandbox
                if chosen.sandbox and facts.euid == 0:
                    assert os.stat(f"/proc/{pid}").st_uid == facts.uid
        finally:
            browser.close()


def _renderers_of(browser) -> list[int]:
    """Renderer pids among this test process's descendants (the driver, Chromium and its zygotes)."""
    import psutil

    return [p.pid for p in psutil.Process().children(recursive=True)
            if "--type=renderer" in " ".join(p.cmdline())]


def test_the_crawl_browser_filter_refuses_localhost_without_allow_loopback():
    from crawler.middlewares.offsite import BrowserRequestFilter

    request = SimpleNamespace(url="http://localhost:8701/api/item/1", resource_type="xhr")
    closed = SimpleNamespace(name="closed", allowed_hosts=["127.0.0.1", "localhost"], allow_loopback=False)
    assert BrowserRequestFilter(closed, "crawler.browser.abort_request")(request) is True
    sandbox = SimpleNamespace(name="sandboxed", allowed_hosts=["127.0.0.1", "localhost"], allow_loopback=True)
    assert BrowserRequestFilter(sandbox, "crawler.browser.abort_request")(request) is False


def test_a_platforms_rule_outside_the_crawl(tmp_path):
    """Its profile's hosts and loopback flag, the host it was crawled at, its configured URLs;
    a platform without a profile gets its base URL's host only, never loopback."""
    from crawler.profile import load_profile
    from common.config import Config
    from store.db import open_db
    from takedown.fetch_policy import platform_policy
    from store.listings import Store
    from tests.fixtures_ops import write_profile

    data = probe_profile("http://127.0.0.1:8080")
    data["listing"]["browser"] = {"when": "css:#out"}
    profile = load_profile(write_profile(tmp_path, data))
    db = open_db(tmp_path / "sweep.db")
    Store(db).register_platforms([profile.rebase("http://localhost:9000")])
    config = Config({"platforms": {"probe": {"report_url": "https://intake.example/api"}}})
    rule = platform_policy(db, config, "probe")
    assert rule.renders and rule.policy.allow_loopback
    assert set(rule.policy.allowed_hosts) == {"127.0.0.1", "localhost", "intake.example"}
    db.execute("INSERT INTO platforms (name, kind, base_url) VALUES ('other', 'forum', 'https://bbs.example')")
    other = platform_policy(db, Config(), "other")
    assert other.policy.allowed_hosts == ("bbs.example",) and not other.policy.allow_loopback and not other.renders
    assert "allowed_hosts" in platform_policy(db, Config(), "unknown").policy.refusal("https://bbs.example/")
    db.close()


@pytest.mark.parametrize("url", ["http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://127.1/"])
def test_odd_spellings_of_an_address_are_judged_by_the_address(url):
    """Numeric host forms are not IP literals to ipaddress; the resolver (inet_aton, no DNS) says 127.0.0.1."""
    from urllib.parse import urlsplit

    policy = Policy((urlsplit(url).hostname,), False)
    assert "loopback" in policy.refusal(url)
