"""One cycle: crawl the enabled platforms (classifying and storing as listings arrive), record the run."""
from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field

from classifier import artifact
from common.clock import SYSTEM, offset_of
from common.config import Config, ConfigError, load_config
from crawler.profile import PROFILE_DIR, ProfileError, load_profiles
from crawler.run import crawl, crawl_settings
from crawler.stats import summarise

from store.db import open_db
from store.listings import Store


_CONTACT = re.compile(r"^(?:mailto:)?[^@\s;()<>]+@[^@\s;()<>]+\.[A-Za-z]{2,}$|^https?://[^\s;()<>]+$")


# -- crawl settings from the config file ---------------------------------------------------------
def crawl_overrides(config: Config | None = None) -> dict:
    """Crawl settings from sweep.toml: ``[crawl] contact`` → USER_AGENT, ``[monitors]`` → SWEEP_MONITOR_*."""
    from crawler.monitors import THRESHOLDS
    from crawler.settings import user_agent

    config = config if config is not None else load_config()
    out = {}
    contact = config.section("crawl").get("contact")
    if contact is not None:
        if not isinstance(contact, str) or not _CONTACT.match(contact):
            raise ConfigError(f"[crawl] contact = {contact!r}: give an email address or an http(s) URL where "
                              f"platforms can reach the operator")
        out["SWEEP_CONTACT"] = contact
        out["USER_AGENT"] = user_agent(contact)
    for key, value in config.section("monitors").items():
        if key not in THRESHOLDS:
            raise ConfigError(f"[monitors] {key}: unknown threshold (known: {', '.join(THRESHOLDS)})")
        out[THRESHOLDS[key][0]] = value
    return out


# -- monitor results -----------------------------------------------------------------------------
def monitor_failures(monitors: dict[str, list[dict]]) -> list[str]:
    """One line per failed check, naming the platform and the check."""
    from crawler.monitors import failures

    return [f"{platform}: monitor {row['monitor']} failed: {row['message']}"
            for platform, rows in monitors.items() for row in failures(rows)]


@dataclass
class CycleResult:
    run_id: int
    outcome: str
    platforms: dict[str, dict] = field(default_factory=dict)    # name -> selected crawl stats
    failures: list[str] = field(default_factory=list)
    monitors: dict[str, list[dict]] = field(default_factory=dict)   # name -> crawler/monitors.py checks

    @property
    def total(self) -> int:
        return sum(p.get("listings", 0) for p in self.platforms.values())


_CONNECTION_FAILURES = {"DownloadConnectionRefusedError": "connection refused", "ConnectionRefusedError":
                        "connection refused", "CannotResolveHostError": "host name not found", "DNSLookupError":
                        "host name not found", "DownloadTimeoutError": "timed out", "TCPTimedOutError": "timed out",
                        "TimeoutError": "timed out", "NoRouteError": "no route to host", "ConnectError":
                        "cannot connect", "DownloadFailedError": "download failed"}


def _unreachable(stats: dict) -> str | None:
    """Why a platform that answered nothing at all could not be reached (None if it answered)."""
    if stats.get("response_received_count", 0):
        return None
    errors = [k.rpartition(".")[2] for k in stats if k.startswith("downloader/exception_type_count/")]
    reasons = sorted({_CONNECTION_FAILURES[e] for e in errors if e in _CONNECTION_FAILURES})
    return ", ".join(reasons) or None


def run_cycle(db_path: str, platforms: list[str] | None = None, profiles_dir=None, base_urls: dict | None = None,
              keywords: str | None = None, progress: bool = True, log_level: str = "WARNING",
              config=None, resume: bool = False, clock=SYSTEM) -> CycleResult:
    """``resume``: continue what an interrupted crawl of these platforms left in the frontier."""
    overrides = crawl_overrides(config)      # [crawl] contact → User-Agent, [monitors] thresholds (sweep.toml)
    profiles = load_profiles(profiles_dir or PROFILE_DIR, platforms or None)
    if not profiles:
        raise ValueError("no enabled platform profiles to crawl")
    known = [p.name for p in load_profiles(profiles_dir or PROFILE_DIR, enabled_only=False)]
    stray = sorted(set(base_urls or {}) - set(known))
    if stray:      # ignoring it would let a mistyped name's platform go to the profile's own address
        raise ProfileError(f"--base-url {', '.join(stray)}: no profile of that name (profiles: {', '.join(known)})")
    artifact.load()           # refuse to start with a missing or untrusted model, before any crawling
    store = Store(open_db(db_path), clock)      # the run's row: on the cycle's clock (--now)
    store.register_platforms([p.rebase(base_urls[p.name]) if p.name in (base_urls or {}) else p for p in profiles])
    run_id = store.start_run([p.name for p in profiles])
    settings = crawl_settings(db_path, run_id, base_urls, profiles_dir,
                              {"SWEEP_PROGRESS_INTERVAL": 1 if progress else 0, "LOG_LEVEL": log_level, **overrides,
                               "SWEEP_RESUME": resume, "SWEEP_LOG_TRACEBACKS": log_level == "INFO",
                               "SWEEP_CLOCK_OFFSET": offset_of(clock)})
    try:
        stats = crawl(profiles, settings, keywords)
    except BaseException:
        store.finish_run(run_id, "failed", {})
        raise
    result = CycleResult(run_id, "ok", {name: summarise(s) for name, s in stats.items()})
    result.monitors = {name: s.get("sweep/monitors", []) for name, s in stats.items()}
    unreachable = {}
    for profile in profiles:
        why = _unreachable(stats.get(profile.name, {}))
        if why:
            url = (base_urls or {}).get(profile.name, profile.base_url)
            unreachable[profile.name] = (f"{profile.name}: cannot reach {url} ({why}) — is the platform up, and is "
                                         f"its address right (base_url in {profile.path or 'its profile'}, or "
                                         f"--base-url)? -v shows every request")
    for name, summary in result.platforms.items():
        if name in unreachable:          # its monitors all fail for this one reason: say it once
            result.failures.append(unreachable[name])
        elif summary["finish_reason"] != "finished":
            result.failures.append(f"{name}: crawl ended with {summary['finish_reason']!r} — what it did not "
                                   f"finish is kept: rerun with --resume to continue")
        elif summary.get("sweep/store/unsaved"):
            result.failures.append(f"{name}: {summary['sweep/store/unsaved']} listings could not be stored — "
                                   f"rerun with --resume to fetch them again")
        elif summary["listings"] == 0:
            result.failures.append(f"{name}: no listings crawled ({summary['pages']} pages fetched) — "
                                   f"is the platform reachable and its profile current?")
    # "<platform>: monitor <check> failed: …" — but not for an unreachable platform, already said above
    result.failures += monitor_failures({n: m for n, m in result.monitors.items() if n not in unreachable})
    result.outcome = "failed" if result.failures else "ok"
    try:
        store.record_monitors(run_id, result.monitors)
        store.finish_run(run_id, result.outcome, {"platforms": result.platforms, "failures": result.failures})
    except sqlite3.Error as exc:            # e.g. the disk is full: the crawl itself already stopped cleanly
        result.outcome = "failed"
        result.failures.append(f"run {run_id} could not be recorded in {db_path}: {exc}")
    store.db.close()
    return result
