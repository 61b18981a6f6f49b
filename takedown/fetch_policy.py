"""The outbound policy (outbound/policy.py) of a platform, for fetchers outside the crawl.

Evidence, rechecks and report intakes fetch a platform's pages with the rule its crawl used:
the profile's ``allowed_hosts`` and ``allow_loopback``, plus the host of the base URL the
platform was crawled at (the sandbox on free ports, as ``Profile.rebase``) and the hosts of
``[platforms.<name>] base_url``/``report_url``. A platform without a profile gets its base
URL's host only, never loopback.

``profile_rule`` is the one cached read of a platform's profile for takedown: the fetch rule above,
whether pages need the browser, and its removal signals (``listing.removed``, for rechecks).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from common.config import Config
from crawler.profile import PROFILE_DIR, ProfileError, load_profile
from outbound.policy import Policy


@dataclass(frozen=True)
class PlatformPolicy:
    policy: Policy
    renders: bool = False       # the profile marks pages for the browser (listing.browser): JavaScript on


def platform_policy(db, config: Config | None, name: str, resolve=None) -> PlatformPolicy:
    """The outbound rule for platform ``name`` (its profile, its crawled base URL, its configuration)."""
    row = db.execute("SELECT base_url, profile_path FROM platforms WHERE name = ?", [name]).fetchone()
    sect = (config or Config()).section(f"platforms.{name}")
    rule = profile_rule(name, row[1] if row else None)
    extra = [urlsplit(u).hostname for u in (row[0] if row else None, sect.get("base_url"), sect.get("report_url"))
             if isinstance(u, str) and u]
    policy = Policy(rule.allowed_hosts, rule.allow_loopback, **({"resolve": resolve} if resolve else {}))
    return PlatformPolicy(policy.widened(*[h for h in extra if h]), rule.renders)


@dataclass(frozen=True)
class ProfileRule:
    """What the takedown fetchers read from a platform's profile."""

    allowed_hosts: tuple = ()
    allow_loopback: bool = False
    renders: bool = False                                     # listing.browser
    removed: dict = field(default_factory=dict)               # listing.removed: how a removal shows


def profile_rule(name: str, profile_path: str | None) -> ProfileRule:
    """The rule of the platform's stored profile, else the bundled one by name, else an empty rule."""
    for path in (profile_path, PROFILE_DIR / f"{name}.yaml"):
        if path and Path(path).exists():
            try:
                return _load(str(path), Path(path).stat().st_mtime_ns)
            except ProfileError:
                continue
    return ProfileRule()


@functools.lru_cache(maxsize=64)
def _load(path: str, mtime_ns: int) -> ProfileRule:
    """A profile file's rule (validating a profile is slow: reloaded only when the file changes)."""
    profile = load_profile(path)
    return ProfileRule(tuple(profile.allowed_hosts), bool(profile.allow_loopback), bool(profile.listing.get("browser")),
                       dict(profile.listing.get("removed", {}) or {}))
