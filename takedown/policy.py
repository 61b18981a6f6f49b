"""Takedown policy: what a report cites, where it goes, how it escalates and how fast — data and pure
functions only (no database, no network, no files), so recheck, relist and the outbox read the same rules
without reaching into one another.

    LAW / citations()         the law each category breaks, cited in every report
    bundle_category()         one category for a bundle of one seller's listings
    make_settings()           a platform's channels, escalation ladder, deadline and rate limit, validated
    steps()                   which channels a report of escalation level N goes to
    RateLimiter               sends/checks spaced per key, on an injected clock

Loading the inputs (the platforms table, the profile, the outbound rule) is takedown/platforms.py.

    [platforms.<name>]  channels = ["sandbox_intake", "email"], escalation = ["refile", "xarf", "csv_12321"],
                        abuse_email, deadline_hours = 48, rate_limit_per_minute = 60, removed, base_url
"""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from common.config import ConfigError
from takedown.channels import CHANNELS, Citation, PlatformSettings

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
                               _ART14 + "电话卡批量插入设备；具有改变主叫号码、虚拟拨号、"
                                        "互联网电话违规接入公用电信网络等功能的设备、软件",
                               "Anti-Telecom and Online Fraud Law Art. 14(1)(i)-(ii): SIM gateways that hold SIMs in "
                               "bulk and connect internet calls to the public network"), _ART14_DUTY],
    "caller_id_spoof": [Citation(ATFL, "第十四条第一款第（二）项",
                                 _ART14 + "具有改变主叫号码、虚拟拨号、互联网电话违规接入公用电信网络等"
                                          "功能的设备、软件",
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


# -- a platform's settings ---------------------------------------------------------------------
def make_settings(name: str, sect: dict, base_url: str | None = None, abuse_email: str | None = None,
                  removed: dict | None = None, policy=None) -> PlatformSettings:
    """[platforms.<name>] (``sect``) over the sandbox defaults, validated; the arguments are what the
    platforms table, the endpoint store, the profile and the outbound rule say (takedown/platforms.py)."""
    sandbox = name in SANDBOX_PLATFORMS
    return PlatformSettings(
        name=name, base_url=sect.get("base_url") or base_url,
        abuse_email=sect.get("abuse_email") or abuse_email or (f"abuse@{name}.example" if sandbox else None),
        channels=_names(sect, "channels", DEFAULT_CHANNELS if sandbox else [], name),
        escalation=_names(sect, "escalation", DEFAULT_ESCALATION if sandbox else [], name, extra=("refile",)),
        deadline_hours=_number(sect, "deadline_hours", 48, name),
        rate_limit_per_minute=_number(sect, "rate_limit_per_minute", 60, name),
        removed=sect.get("removed") or removed or {}, settings=sect, policy=policy)


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


def steps(ps: PlatformSettings, level: int) -> list[str]:
    """The channels a report of escalation ``level`` goes to (0: first filing)."""
    if level == 0:
        return ps.channels
    step = ps.escalation[level - 1] if level - 1 < len(ps.escalation) else None
    return ps.channels if step == "refile" else [step] if step else []


# -- pace --------------------------------------------------------------------------------------
class RateLimiter:
    """Space sends per key (e.g. (channel, platform)) to at most ``per_minute``."""

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
