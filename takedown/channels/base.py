"""The one interface every reporting channel implements, and what flows through it.

A channel is constructed with plain arguments — the platform it reports to, its settings
and its secrets (already read from the environment or the private config file by
common/config.py) — and never prompts, logs or stores a secret. It answers two questions:

    file(report)   -> Receipt       send one report (a bundle of one seller's listings)
    check(listing) -> CheckResult   is the listing still up, as this channel can tell

``file`` raises ``TransientError`` for what a retry may fix (network, 429, 5xx) and
``PermanentError`` for what it will not (unknown listing, refused recipient). A channel
whose receiver dedupes on ``report.idempotency_key`` sets ``idempotent = True``: resending
after a crash is then safe. One that can look a receipt up implements ``ReceiptLookup``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from takedown.page_check import CheckResult


class NotConfigured(Exception):
    """The channel lacks settings it needs (e.g. no SMTP host); it is skipped, not failed."""


class ChannelError(Exception):
    pass


class TransientError(ChannelError):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(ChannelError):
    pass


@dataclass(frozen=True)
class Citation:
    law: str            # 《中华人民共和国反电信网络诈骗法》
    article: str        # 第十四条第一款第（一）项
    text: str           # what it prohibits, in the law's words
    english: str        # a short English gloss for partners


@dataclass
class EvidenceRef:
    id: int
    captured_at: str
    url: str
    http_status: int
    wacz_path: Path
    wacz_sha256: str
    response_sha256: str
    screenshot_path: Path
    screenshot_sha256: str


@dataclass
class ListingRef:
    id: str
    platform: str
    platform_id: str
    url: str
    title: str
    label: str | None
    score: float | None = None
    seller_id: str | None = None
    seller_name: str | None = None
    description: str = ""
    kind: str = ""                     # ecommerce | appstore | forum | code | social
    evidence: EvidenceRef | None = None


@dataclass
class Report:
    id: int
    idempotency_key: str
    channel: str
    platform: str
    category: str
    escalation_level: int
    listings: list[ListingRef]
    citations: list[Citation]
    created_at: str
    seller_id: str | None = None
    seller_name: str | None = None
    reporter: dict = field(default_factory=dict)      # org, contact, domain
    attempt: int = 1                                   # which attempt at sending this is (1: the first)
    abused_endpoints: list = field(default_factory=list)   # endpoint-abuse reports: [{host, path, description}]


@dataclass
class Receipt:
    receipt: str                       # the channel's id for the report (report number, Message-ID, file)
    duplicate: bool = False            # the receiver already had this idempotency key
    detail: dict = field(default_factory=dict)


@dataclass
class PlatformSettings:
    """What a channel knows about the platform it reports to (see takedown/platforms.py)."""

    name: str
    base_url: str | None = None
    abuse_email: str | None = None
    channels: list[str] = field(default_factory=list)       # filed at once
    escalation: list[str] = field(default_factory=list)     # one step per missed deadline ("refile" or a channel)
    deadline_hours: float = 48.0
    rate_limit_per_minute: float = 60.0
    removed: dict = field(default_factory=dict)              # the profile's listing.removed block
    settings: dict = field(default_factory=dict)             # the raw [platforms.<name>] table
    policy: object = None                                    # outbound.policy.Policy: what may be fetched


class Channel(ABC):
    name: ClassVar[str]
    max_bundle: ClassVar[int] = 20        # listings one report may carry
    idempotent: ClassVar[bool] = False    # the receiver dedupes on the idempotency key
    rate_limited: ClassVar[bool] = True   # sends count against the platform's rate limit

    def __init__(self, platform: PlatformSettings, settings: dict | None = None, secrets: dict | None = None):
        self.platform = platform
        self.settings = settings or {}
        self._secrets = secrets or {}

    @abstractmethod
    def file(self, report: Report) -> Receipt:
        """Send one report; raise TransientError or PermanentError when it did not go through."""

    def check(self, listing: ListingRef) -> CheckResult | None:
        """Whether the listing is still up as this channel can tell; None when it cannot."""
        return None

    def close(self) -> None:
        """Release connections (called once per batch)."""
        return None     # optional hook: most channels hold nothing open

    def __repr__(self) -> str:          # never shows secrets
        return f"<{type(self).__name__} {self.platform.name}>"


class Withdraw:
    """Mixin: the receiver lets a reporter take a report back for some of its listings."""

    def withdraw(self, report: Report, receipt: str, listing_urls: list[str], reason: str) -> Receipt:
        """Withdraw the report the channel acknowledged as ``receipt``; Transient/PermanentError as ``file``."""
        raise NotImplementedError


class ReceiptLookup:
    """Mixin: the channel can find a report it received by idempotency key (a check of the receipt)."""

    def find_receipt(self, report: Report) -> Receipt | None:
        raise NotImplementedError
