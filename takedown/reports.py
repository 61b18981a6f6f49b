"""Filing reports: a transactional outbox, bundled by seller, citing the law, sent once per report
(exactly once where the channel dedupes or can look a receipt up; e-mail at least once, same Message-ID).

    confirmed/escalated listings ──plan──► reports (pending) ──send──► reports (sent) + listings reported
                                  one transaction                 one transaction after the channel's receipt

A report row (with its listings and a fresh idempotency key) is committed before anything
is sent, and marked sent in the same transaction that moves its listings to ``reported``.
A crash in between leaves a ``pending`` row with ``attempts > 0``; the next run first asks
the channel for a receipt under that key (``ReceiptLookup``) and otherwise resends with
the same key, which idempotent channels (platform intakes, exports) fold into the first
report. SMTP cannot be asked, so an e-mail in that window may be sent twice — with the same
Message-ID (and ``X-Sweep-Attempt`` counting up), which the receiving desk can dedupe. Only
one filer runs at a time (a lock file beside the database), so two schedulers cannot send
the same row.

Transient failures are retried a few times at once, then with exponential backoff
(``next_attempt_at``); permanent ones mark the report ``failed`` with the error (``sweep
report --retry-failed`` puts them back). Sends are spaced per channel and platform
(``rate_limit_per_minute``). Reports containing a relisted listing go first.

Configuration (all optional; the sandbox platforms work with none):

    [reporter]                     org, contact, domain — who the reports say they are from
    [reports]                      max_attempts = 8, backoff_seconds = 60, max_backoff_seconds = 21600,
                                   quick_retries = 2, capture_evidence = true, require_evidence = true
    [exports]                      dir = "<db dir>/exports" (XARF and 12321 files)
    [platforms.<name>]             channels = ["sandbox_intake", "email"], escalation = ["refile", "xarf",
                                   "csv_12321"], abuse_email, deadline_hours = 48, rate_limit_per_minute = 60,
                                   report_url, token_env
    [channels.smtp]                host, port, username, password_env, starttls, ssl, ca_file,
                                   allow_plaintext_auth, from_addr (see channels/email.py)
"""
from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import uuid
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

from takedown.channels import (CHANNELS, Channel, Citation, EvidenceRef, ListingRef, NotConfigured, PermanentError,
                       PlatformSettings, Receipt, ReceiptLookup, Report, TransientError, Withdraw)
from common.clock import SYSTEM, iso
from common.config import Config, ConfigError
from store.db import open_db
from takedown.escalation import count_needing_person
from takedown.evidence import resolve_path
from takedown.fetch_policy import platform_policy
from store.states import audit, transition

log = logging.getLogger(__name__)

ACTOR = "sweep-report"
SANDBOX_PLATFORMS = ("marketplace", "appstore", "forum", "codehost", "social")
DEFAULT_CHANNELS = ["sandbox_intake", "email"]
DEFAULT_ESCALATION = ["refile", "xarf", "csv_12321"]
DEFAULT_REPORTER = {"org": "Sweep trust and safety", "contact": "abuse-team@example.org", "domain": "example.org"}
# When a bundle mixes categories, the report is filed under the most frequent; ties go to the first here.
SEVERITY = ["modem_pool", "voice_gateway", "caller_id_spoof", "call_bomber", "sms_bomber", "other"]

# -- the law each category breaks --------------------------------------------------------------
ATFL = "《中华人民共和国反电信网络诈骗法》"
MIIT_2018 = "工业和信息化部等十三部门《综合整治骚扰电话专项行动方案》（2018年）"
_ART14 = "任何单位和个人不得非法制造、买卖、提供或者使用下列设备、软件："
_ART14_DUTY = Citation(ATFL, "第十四条第二款",
                       "电信业务经营者、互联网服务提供者应当采取技术措施，及时识别、阻断前款规定的非法设备、软件接入网络，"
                       "并向公安机关和相关行业主管部门报告。",
                       "Anti-Telecom and Online Fraud Law Art. 14(2): internet service providers must identify and "
                       "block such devices and software and report them")
LAW: dict[str, list[Citation]] = {
    "modem_pool": [Citation(ATFL, "第十四条第一款第（一）项", _ART14 + "电话卡批量插入设备",
                            "Anti-Telecom and Online Fraud Law Art. 14(1)(i): devices holding SIM cards in bulk "
                            "(modem pools) may not be made, sold, provided or used"), _ART14_DUTY],
    "voice_gateway": [Citation(ATFL, "第十四条第一款第（一）、（二）项",
                               _ART14 + "电话卡批量插入设备；具有改变主叫号码、虚拟拨号、互联网电话违规接入公用电信网络等"
                                        "功能的设备、软件",
                               "Anti-Telecom and Online Fraud Law Art. 14(1)(i)-(ii): SIM gateways that hold SIMs in "
                               "bulk and connect internet calls to the public network"), _ART14_DUTY],
    "caller_id_spoof": [Citation(ATFL, "第十四条第一款第（二）项",
                                 _ART14 + "具有改变主叫号码、虚拟拨号、互联网电话违规接入公用电信网络等功能的设备、软件",
                                 "Anti-Telecom and Online Fraud Law Art. 14(1)(ii): devices and software that change "
                                 "the calling number"), _ART14_DUTY],
    "call_bomber": [Citation(MIIT_2018, "", "整治骚扰电话，清理网上销售、传播的“呼死你”等骚扰呼叫软件和服务",
                             "MIIT and 12 other departments, 2018 work plan on harassing calls: remove call-bombing "
                             "(呼死你) software and services sold online")],
    "sms_bomber": [Citation(MIIT_2018, "", "整治骚扰电话及短信骚扰，清理网上销售、传播的短信轰炸等骚扰工具和服务",
                            "MIIT and 12 other departments, 2018 work plan on harassing calls: remove SMS-bombing "
                            "tools and services sold online")],
}


def citations(labels: list[str]) -> list[Citation]:
    """Every citation the labels call for, each once, in a stable order."""
    out: list[Citation] = []
    for label in sorted(set(labels), key=lambda x: SEVERITY.index(x) if x in SEVERITY else 99):
        for c in LAW.get(label, []):
            if c not in out:
                out.append(c)
    return out


def bundle_category(labels: list[str]) -> str:
    counts = Counter(label for label in labels if label)
    if not counts:
        return "other"
    return max(counts, key=lambda x: (counts[x], -(SEVERITY.index(x) if x in SEVERITY else 99)))


# -- settings ----------------------------------------------------------------------------------
def platform_settings(db, config: Config, name: str) -> PlatformSettings:
    """A platform's channels, deadline and limits: [platforms.<name>] over sandbox defaults."""
    sect = config.section(f"platforms.{name}")
    row = db.execute("SELECT base_url, profile_path FROM platforms WHERE name = ?", [name]).fetchone()
    sandbox = name in SANDBOX_PLATFORMS
    removed = sect.get("removed") or _profile_removed(name, row[1] if row else None)
    return PlatformSettings(
        name=name, base_url=sect.get("base_url") or (row[0] if row else None),
        abuse_email=sect.get("abuse_email") or _endpoint_owner(db, name) or (f"abuse@{name}.example" if sandbox else None),
        channels=_names(sect, "channels", DEFAULT_CHANNELS if sandbox else [], name),
        escalation=_names(sect, "escalation", DEFAULT_ESCALATION if sandbox else [], name, extra=("refile",)),
        deadline_hours=_number(sect, "deadline_hours", 48, name),
        rate_limit_per_minute=_number(sect, "rate_limit_per_minute", 60, name),
        removed=removed, settings=sect, policy=platform_policy(db, config, name).policy)


def _endpoint_owner(db, name: str) -> str | None:
    """An endpoint-abuse report's "platform" is ``endpoint:<domain>``: it goes to the contact found for it."""
    from takedown.endpoints.store import owner_contact

    return owner_contact(db, name.partition(":")[2]) if name.startswith("endpoint:") else None


def _names(sect: dict, key: str, default: list, platform: str, extra: tuple = ()) -> list[str]:
    value = sect.get(key, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"[platforms.{platform}] {key} must be a list of names, e.g. {default or ['email']}")
    unknown = [v for v in value if v not in CHANNELS and v not in extra]
    if unknown:
        raise ConfigError(f"[platforms.{platform}] {key}: unknown channel {unknown[0]!r} "
                          f"(have: {', '.join(sorted(CHANNELS) + list(extra))})")
    return list(value)


def _number(sect: dict, key: str, default: float, platform: str) -> float:
    value = sect.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"[platforms.{platform}] {key} must be a non-negative number, not {value!r}")
    return float(value)


def _profile_removed(name: str, profile_path: str | None) -> dict:
    from crawler.profile import PROFILE_DIR, ProfileError

    for path in (profile_path, PROFILE_DIR / f"{name}.yaml"):
        if path and Path(path).exists():
            try:
                return dict(_load_removed(str(path), Path(path).stat().st_mtime_ns))
            except ProfileError:
                continue
    return {}


@functools.lru_cache(maxsize=64)
def _load_removed(path: str, mtime_ns: int) -> dict:
    """A profile's removal signals (validating a profile is slow; reload only when the file changes)."""
    from crawler.profile import load_profile

    return load_profile(path).listing.get("removed", {}) or {}


def exports_dir(db_path, config: Config) -> Path:
    configured = config.section("exports").get("dir")
    return Path(configured) if configured else Path(db_path).resolve().parent / "exports"


def build_channel(name: str, ps: PlatformSettings, config: Config, db_path) -> Channel:
    """The adapter for ``name`` with its settings and secrets; NotConfigured when it lacks them."""
    if name not in CHANNELS:
        raise ConfigError(f"[platforms.{ps.name}]: unknown channel {name!r} (have: {', '.join(sorted(CHANNELS))})")
    if name == "email":
        settings = config.section("channels.smtp")
        for key in ("starttls", "ssl", "allow_plaintext_auth"):     # "false" as a string would be true
            if not isinstance(settings.get(key, False), bool):
                raise ConfigError(f"[channels.smtp] {key} must be true or false, not {settings[key]!r}")
        secrets = {"password": config.secret("channels.smtp", "password")}
    elif name in ("xarf", "csv_12321"):
        settings, secrets = {"dir": str(exports_dir(db_path, config))}, {}
    else:
        settings, secrets = config.section(f"channels.{name}"), {"token": config.secret(f"platforms.{ps.name}", "token")}
    return CHANNELS[name](ps, settings, secrets)


def steps(ps: PlatformSettings, level: int) -> list[str]:
    """The channels a report of escalation ``level`` goes to (0: first filing)."""
    if level == 0:
        return ps.channels
    step = ps.escalation[level - 1] if level - 1 < len(ps.escalation) else None
    return ps.channels if step == "refile" else [step] if step else []


def _settings(config: Config) -> dict:
    s = config.section("reports")
    return {"max_attempts": int(s.get("max_attempts", 8)), "backoff": float(s.get("backoff_seconds", 60)),
            "max_backoff": float(s.get("max_backoff_seconds", 6 * 3600)), "quick_retries": int(s.get("quick_retries", 2)),
            "capture_evidence": bool(s.get("capture_evidence", True)),
            "require_evidence": bool(s.get("require_evidence", True))}


@contextlib.contextmanager
def immediate(db):
    """A write transaction taken up front, so read-then-insert cannot race another process."""
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextlib.contextmanager
def filer_lock(db_path):
    """One filer per database; released by the OS if the process dies. Yields False when busy."""
    path = Path(str(db_path) + ".report.lock")
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# -- planning (the outbox) ---------------------------------------------------------------------
def label_sql(db) -> str:
    """SQL for a listing's category: the reviewer's (latest confirming review), else the model's."""
    if "reviews" not in db.table_names():
        return "l.label"
    return ("coalesce((SELECT rv.category FROM reviews rv WHERE rv.listing_id = l.id AND rv.decision = 'confirmed' "
            "AND rv.category IS NOT NULL ORDER BY rv.decided_at DESC, rv.id DESC LIMIT 1), l.label)")


def current_level(conn, listing_id: str) -> int:
    row = conn.execute("SELECT max(r.escalation_level) FROM reports r JOIN report_listings rl ON rl.report_id = r.id "
                       "WHERE rl.listing_id = ? AND r.state = 'sent'", [listing_id]).fetchone()
    return row[0] if row and row[0] is not None else -1


def plan_reports(db, config: Config, clock=SYSTEM, db_path=None, notes: dict | None = None) -> int:
    """Commit pending reports for confirmed (level 0) and escalated (next level) listings; returns rows made."""
    notes = notes if notes is not None else {}
    require_evidence = _settings(config)["require_evidence"]
    now = iso(clock.now())
    made = 0
    with immediate(db) as conn:
        rows = conn.execute(
            f"SELECT l.id, l.platform, l.seller_id, {label_sql(db)}, l.state, "
            "(SELECT e.id FROM evidence e WHERE e.listing_id = l.id ORDER BY e.version DESC, e.id DESC LIMIT 1) "
            "FROM listings l WHERE l.state IN ('confirmed', 'escalated') ORDER BY l.platform, l.seller_id, l.id"
        ).fetchall()
        groups: dict[tuple, list] = defaultdict(list)
        channels_of: dict[tuple, list] = {}
        settings_of: dict[str, PlatformSettings] = {}
        for lid, platform, seller, label, state, evidence_id in rows:
            if require_evidence and evidence_id is None:
                notes.setdefault("waiting_for_evidence", []).append(lid)
                continue
            if platform not in settings_of:
                settings_of[platform] = platform_settings(db, config, platform)
            ps = settings_of[platform]
            level = 0 if state == "confirmed" else current_level(conn, lid) + 1
            for channel in steps(ps, level):
                key = (channel, platform, level)
                if key not in channels_of:
                    channels_of[key] = _available(channel, ps, config, db_path, notes)
                if not channels_of[key]:
                    continue
                taken = conn.execute(
                    "SELECT 1 FROM reports r JOIN report_listings rl ON rl.report_id = r.id WHERE rl.listing_id = ? "
                    "AND r.channel = ? AND r.escalation_level = ? AND r.platform = ?",
                    [lid, channel, level, platform]).fetchone()     # not an endpoint-abuse report citing it
                if not taken:
                    groups[(channel, platform, level, seller or lid)].append((lid, label, evidence_id))
        for (channel, platform, level, seller), items in groups.items():
            size = CHANNELS[channel].max_bundle
            for start in range(0, len(items), size):
                chunk = items[start:start + size]
                cur = conn.execute(
                    "INSERT INTO reports (channel, platform, seller_id, category, idempotency_key, state, attempts, "
                    "created_at, escalation_level) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
                    [channel, platform, seller if seller not in {i[0] for i in chunk} else None,
                     bundle_category([i[1] for i in chunk]), f"sweep-{uuid.uuid4().hex}", now, level])
                for lid, _, evidence_id in chunk:
                    conn.execute("INSERT INTO report_listings (report_id, listing_id, evidence_id) VALUES (?, ?, ?)",
                                 [cur.lastrowid, lid, evidence_id])
                made += 1
    return made


def _available(channel: str, ps: PlatformSettings, config: Config, db_path, notes: dict) -> bool:
    try:
        build_channel(channel, ps, config, db_path).close()
        return True
    except NotConfigured as exc:
        notes.setdefault("not_configured", {})[f"{channel}@{ps.name}"] = str(exc)
        return False


# -- loading a report for a channel -------------------------------------------------------------
def load_report(db, report_id: int, db_path, config: Config) -> Report:
    r = next(iter(db.query("SELECT * FROM reports WHERE id = ?", [report_id])), None)
    if r is None:
        raise KeyError(f"no report {report_id}")
    listings = []
    for row in db.query(
            f"SELECT l.id, l.platform, l.platform_id, l.url, l.title, {label_sql(db)} AS label, l.score, l.seller_id, "
            "l.description, "
            "l.kind, s.name AS seller_name, e.id AS eid, e.captured_at, e.url AS eurl, e.http_status, e.wacz_path, "
            "e.wacz_sha256, e.response_sha256, e.screenshot_path, e.screenshot_sha256 "
            "FROM report_listings rl JOIN listings l ON l.id = rl.listing_id LEFT JOIN sellers s ON s.id = l.seller_id "
            "LEFT JOIN evidence e ON e.id = rl.evidence_id WHERE rl.report_id = ? ORDER BY l.id", [report_id]):
        evidence = None
        if row["eid"]:
            evidence = EvidenceRef(row["eid"], row["captured_at"], row["eurl"], row["http_status"],
                                   resolve_path(db_path, row["wacz_path"]), row["wacz_sha256"], row["response_sha256"],
                                   resolve_path(db_path, row["screenshot_path"]), row["screenshot_sha256"])
        listings.append(ListingRef(row["id"], row["platform"], row["platform_id"], row["url"], row["title"] or "",
                                   row["label"], row["score"], row["seller_id"], row["seller_name"],
                                   row["description"] or "", row["kind"] or "", evidence))
    seller_name = listings[0].seller_name if listings and r["seller_id"] else None
    abused = []
    if r["platform"].startswith("endpoint:"):           # the repositories are evidence; the domain is reported
        from takedown.endpoints.store import endpoints_of

        seller_name, abused = r["seller_id"], endpoints_of(db, r["platform"].partition(":")[2])
    return Report(r["id"], r["idempotency_key"], r["channel"], r["platform"], r["category"] or "other",
                  r["escalation_level"] or 0, listings, citations([i.label for i in listings if i.label]),
                  r["created_at"], r["seller_id"], seller_name,
                  {**DEFAULT_REPORTER, **config.section("reporter")}, max(1, r["attempts"] or 0), abused)


# -- sending ---------------------------------------------------------------------------------
class RateLimiter:
    """Space sends per (channel, platform) to at most ``per_minute``."""

    def __init__(self, clock):
        self.clock = clock
        self.last: dict[tuple, object] = {}

    def wait(self, key: tuple, per_minute: float) -> None:
        if per_minute <= 0:
            return
        gap = timedelta(seconds=60.0 / per_minute)
        last = self.last.get(key)
        if last is not None:
            remaining = (last + gap - self.clock.now()).total_seconds()
            if remaining > 0:
                self.clock.sleep(remaining)
        self.last[key] = self.clock.now()


def _mark_sent(db, report: Report, receipt: Receipt, clock) -> None:
    now = clock.now()
    with immediate(db) as conn:
        conn.execute("UPDATE reports SET state = 'sent', sent_at = ?, receipt = ?, error = NULL, next_attempt_at = NULL "
                     "WHERE id = ? AND state = 'pending'", [iso(now), receipt.receipt, report.id])
        for item in report.listings:
            state = conn.execute("SELECT state FROM listings WHERE id = ?", [item.id]).fetchone()[0]
            # Only a report to the listing's own platform reports it (not an endpoint-abuse report citing it).
            if state in ("confirmed", "escalated") and item.platform == report.platform:
                transition(conn, item.id, "reported", ACTOR,
                           f"report {report.id} via {report.channel}: {receipt.receipt}", at=now,
                           detail={"report_id": report.id, "channel": report.channel,
                                   "escalation_level": report.escalation_level})
                conn.execute("UPDATE listings SET reported_at = ? WHERE id = ?", [iso(now), item.id])


def _mark_retry(db, report_id: int, attempts: int, error: str, clock, cfg: dict,
                retry_after: float | None = None) -> str:
    if attempts >= cfg["max_attempts"]:
        with immediate(db) as conn:
            conn.execute("UPDATE reports SET state = 'failed', error = ?, next_attempt_at = NULL WHERE id = ?",
                         [f"gave up after {attempts} attempts: {error}"[:500], report_id])
        return "failed"
    delay = min(cfg["max_backoff"], cfg["backoff"] * 2 ** (attempts - 1))
    delay = max(delay, retry_after or 0)
    with immediate(db) as conn:
        conn.execute("UPDATE reports SET error = ?, next_attempt_at = ? WHERE id = ?",
                     [error[:500], iso(clock.now() + timedelta(seconds=delay)), report_id])
    return "retrying"


def _drop_withdrawn(db, report_id: int) -> bool:
    """Before the first attempt, take out listings rejected by a reviewer or confirmed removed since; False if
    none remain (the report is then cancelled)."""
    with immediate(db) as conn:
        # Correlated: one primary-key lookup per listing of the report, not every rejected/removed id per report.
        conn.execute("DELETE FROM report_listings WHERE report_id = ? AND EXISTS (SELECT 1 FROM listings l "
                     "WHERE l.id = report_listings.listing_id AND l.state IN ('rejected', 'removed'))", [report_id])
        left = conn.execute("SELECT count(*) FROM report_listings WHERE report_id = ?", [report_id]).fetchone()[0]
        if not left:
            conn.execute("UPDATE reports SET state = 'failed', error = 'cancelled: every listing was rejected or "
                         "removed before sending' WHERE id = ?", [report_id])
    return bool(left)


def send_one(db, report_id: int, channel: Channel, clock, cfg: dict, db_path, config: Config) -> str:
    """One attempt (plus quick retries) at one pending report: sent | recovered | retrying | failed | cancelled."""
    for quick in range(cfg["quick_retries"] + 1):
        row = db.execute("SELECT attempts, state FROM reports WHERE id = ?", [report_id]).fetchone()
        if row is None or row[1] != "pending":
            return "skipped"
        previous = row[0]
        if previous == 0 and not _drop_withdrawn(db, report_id):
            return "cancelled"
        # Count the attempt before it happens: after a crash, attempts > 0 means "may have been sent".
        with immediate(db) as conn:           # a report a reviewer emptied since (undo) is not sent
            counted = conn.execute("UPDATE reports SET attempts = attempts + 1 WHERE id = ? AND state = 'pending' AND "
                                   "EXISTS (SELECT 1 FROM report_listings WHERE report_id = ?)", [report_id, report_id])
            if not counted.rowcount:
                return "skipped"
        report = load_report(db, report_id, db_path, config)
        try:
            if previous > 0 and isinstance(channel, ReceiptLookup):
                found = channel.find_receipt(report)
                if found is not None:
                    _mark_sent(db, report, found, clock)
                    return "recovered"
            receipt = channel.file(report)
        except PermanentError as exc:
            with immediate(db) as conn:
                conn.execute("UPDATE reports SET state = 'failed', error = ?, next_attempt_at = NULL WHERE id = ?",
                             [str(exc)[:500], report_id])
            return "failed"
        except TransientError as exc:
            if quick < cfg["quick_retries"] and previous + 1 < cfg["max_attempts"] and (exc.retry_after or 0) <= 5:
                clock.sleep(exc.retry_after or 0.5 * (quick + 1))
                continue
            return _mark_retry(db, report_id, previous + 1, str(exc), clock, cfg, exc.retry_after)
        except Exception as exc:         # a bug in one report must not stop the batch; it stays visible
            log.exception("report %s: unexpected error", report_id)
            return _mark_retry(db, report_id, previous + 1, f"{type(exc).__name__}: {exc}", clock, cfg)
        _mark_sent(db, report, receipt, clock)
        return "recovered" if receipt.duplicate and previous > 0 else "sent"
    return "retrying"


def send_pending(db, config: Config, clock=SYSTEM, db_path=None, summary: dict | None = None) -> dict:
    """Send every pending report that is due, relists first; returns counts by outcome."""
    summary = summary if summary is not None else {}
    cfg = _settings(config)
    now = iso(clock.now())
    due = db.execute(
        "SELECT r.id, r.channel, r.platform FROM reports r WHERE r.state = 'pending' "
        "AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= ?) ORDER BY "
        "EXISTS (SELECT 1 FROM report_listings rl JOIN relists x ON x.listing_id = rl.listing_id "
        "WHERE rl.report_id = r.id) DESC, r.escalation_level DESC, r.id", [now]).fetchall()
    limiter = RateLimiter(clock)
    channels: dict[tuple, Channel | None] = {}
    settings_of: dict[str, PlatformSettings] = {}
    try:
        for report_id, channel_name, platform in due:
            key = (channel_name, platform)
            if key not in channels:
                settings_of.setdefault(platform, platform_settings(db, config, platform))
                try:
                    channels[key] = build_channel(channel_name, settings_of[platform], config, db_path)
                except NotConfigured as exc:
                    channels[key] = None
                    summary.setdefault("not_configured", {})[f"{channel_name}@{platform}"] = str(exc)
            channel = channels[key]
            if channel is None:
                continue
            if channel.rate_limited:
                limiter.wait(key, settings_of[platform].rate_limit_per_minute)
            outcome = send_one(db, report_id, channel, clock, cfg, db_path, config)
            summary[outcome] = summary.get(outcome, 0) + 1
    finally:
        for channel in channels.values():
            if channel:
                channel.close()
    return summary


UNSUPPORTED = "withdrawal not supported by this channel — contact the platform"


def send_withdrawals(db, config: Config, clock=SYSTEM, db_path=None) -> dict:
    """Withdraw sent reports for listings a reviewer reopened: through the channel where it can
    (``Withdraw``), else recorded as unsupported so a person contacts the platform. Both end
    in the audit log; a transient failure is tried again next run."""
    done = {"withdrawn": 0, "unsupported": 0, "withdraw_errors": 0}
    pending = db.execute("SELECT w.id, w.report_id, w.listing_id, w.reason, r.channel, r.platform, r.receipt, l.url "
                         "FROM withdrawals w JOIN reports r ON r.id = w.report_id "
                         "JOIN listings l ON l.id = w.listing_id "
                         "WHERE w.state = 'pending' ORDER BY w.id").fetchall()
    for wid, report_id, lid, reason, channel_name, platform, receipt, url in pending:
        state, note = "unsupported", UNSUPPORTED
        if issubclass(CHANNELS.get(channel_name, Channel), Withdraw):
            try:
                channel = build_channel(channel_name, platform_settings(db, config, platform), config, db_path)
                try:
                    channel.withdraw(load_report(db, report_id, db_path, config), receipt or "", [url], reason or "")
                finally:
                    channel.close()
                state, note = "withdrawn", f"withdrawn via {channel_name} (receipt {receipt})"
            except (NotConfigured, TransientError) as exc:
                done["withdraw_errors"] += 1
                with immediate(db) as conn:
                    conn.execute("UPDATE withdrawals SET error = ? WHERE id = ?", [str(exc)[:500], wid])
                continue
            except PermanentError as exc:
                state, note = "failed", f"{channel_name} refused the withdrawal: {exc}"[:500]
        with immediate(db) as conn:
            conn.execute("UPDATE withdrawals SET state = ?, done_at = ?, error = ? WHERE id = ?",
                         [state, iso(clock.now()), None if state == "withdrawn" else note, wid])
            audit(conn, ACTOR, f"report:withdrawal_{state}", lid,
                  {"report_id": report_id, "channel": channel_name, "reason": note}, clock.now())
        done[state if state in ("withdrawn", "unsupported") else "withdraw_errors"] += 1
    return done


def retry_failed(db, clock=SYSTEM) -> int:
    """Put failed reports back in the outbox (after fixing what made them fail)."""
    with immediate(db) as conn:
        cur = conn.execute("UPDATE reports SET state = 'pending', attempts = 0, next_attempt_at = NULL, "
                           "error = 'retry requested ' || ? || ': ' || coalesce(error, '') WHERE state = 'failed' "
                           "AND coalesce(error, '') NOT LIKE 'cancelled:%'", [iso(clock.now())])
        return cur.rowcount


def file_confirmed(db_path, config: Config | None = None, clock=SYSTEM) -> dict:
    """Scheduler hook: capture missing evidence, plan reports for confirmed/escalated listings, send what is due.

    Returns counts: ``captured``, ``planned``, ``sent``, ``recovered`` (found already sent after
    a crash), ``retrying``, ``failed``, ``cancelled``, plus ``not_configured`` channels and
    ``busy`` if another filer holds the lock.
    """
    config = config or Config()
    cfg = _settings(config)
    summary: dict = {"captured": 0, "planned": 0, "sent": 0, "recovered": 0, "retrying": 0, "failed": 0}
    with filer_lock(db_path) as locked:
        if not locked:
            summary["busy"] = True
            return summary
        if cfg["capture_evidence"]:
            from takedown.evidence import capture_listings

            from takedown.evidence import missing

            db = open_db(db_path)
            try:
                needing = [r["id"] for r in missing(db, states=("confirmed", "escalated"))]
            finally:
                db.close()
            if needing:
                result = capture_listings(db_path, config, clock, listing_ids=needing)
                summary["captured"] = len(result.captured)
                if result.errors:
                    summary["evidence_errors"] = result.errors
        db = open_db(db_path)
        try:
            summary.update({k: v for k, v in send_withdrawals(db, config, clock, db_path).items() if v})
            notes: dict = {}
            summary["planned"] = plan_reports(db, config, clock, db_path, notes)
            summary.update({k: v for k, v in notes.items()})
            send_pending(db, config, clock, db_path, summary)
            summary["needs_person"] = count_needing_person(db)
        finally:
            db.close()
    return summary


def report_rows(db, states: tuple = ("pending", "sent", "failed")) -> list[dict]:
    """Reports with their listing count, newest first (for `sweep report --list`)."""
    return [dict(r) for r in db.query(
        f"SELECT r.*, (SELECT count(*) FROM report_listings rl WHERE rl.report_id = r.id) AS listings FROM reports r "
        f"WHERE r.state IN ({', '.join('?' * len(states))}) ORDER BY r.id DESC", list(states))]


def dumps(summary: dict) -> str:
    return json.dumps(summary, ensure_ascii=False, sort_keys=True)


__all__ = ["LAW", "citations", "file_confirmed", "plan_reports", "send_pending", "platform_settings", "retry_failed"]
