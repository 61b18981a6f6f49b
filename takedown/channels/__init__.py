"""Reporting channels: one adapter per channel behind one interface (see base.py).

``CHANNELS`` maps the names used in ``[platforms.<name>] channels`` / ``escalation`` to
adapters; ``build_channel`` makes one with its settings and secrets. Adding a channel is adding a
module with a ``Channel`` subclass and a line here. Adapters import only ``base``/``text`` and
lower floors: they never call the outbox or the recheck orchestrator.
"""
from __future__ import annotations

from pathlib import Path

from common.config import Config, ConfigError
from takedown.page_check import CheckResult  # noqa: F401 — part of the channel interface
from takedown.channels.base import (Channel, Citation, EvidenceRef, ListingRef, NotConfigured,
                                    PermanentError, PlatformSettings, Receipt, ReceiptLookup, Report, TransientError,
                                    Withdraw)
from takedown.channels.csv_12321 import Csv12321Export
from takedown.channels.email import EmailChannel
from takedown.channels.sandbox_intake import SandboxIntake
from takedown.channels.xarf_export import XarfExport

CHANNELS: dict[str, type[Channel]] = {cls.name: cls for cls in (SandboxIntake, EmailChannel, XarfExport,
                                                                 Csv12321Export)}



def exports_dir(db_path, config: Config) -> Path:
    """Where the file channels (XARF, 12321 CSV) write: ``[exports] dir``, else beside the database."""
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
        settings = config.section(f"channels.{name}")
        secrets = {"token": config.secret(f"platforms.{ps.name}", "token")}
    return CHANNELS[name](ps, settings, secrets)


__all__ = ["CHANNELS", "build_channel", "exports_dir", "Channel", "CheckResult", "Citation", "EvidenceRef",
           "ListingRef", "NotConfigured", "PermanentError", "PlatformSettings", "Receipt", "ReceiptLookup", "Report",
           "TransientError", "Withdraw"]
