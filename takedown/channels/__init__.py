"""Reporting channels: one adapter per channel behind one interface (see base.py).

``CHANNELS`` maps the names used in ``[platforms.<name>] channels`` / ``escalation`` to
adapters. Adding a channel is adding a module with a ``Channel`` subclass and a line here.
"""
from __future__ import annotations

from takedown.channels.base import (Channel, CheckResult, Citation, EvidenceRef, ListingRef, NotConfigured, PermanentError,
                   PlatformSettings, Receipt, ReceiptLookup, Report, TransientError, Withdraw)
from takedown.channels.csv_12321 import Csv12321Export
from takedown.channels.email import EmailChannel
from takedown.channels.sandbox_intake import SandboxIntake
from takedown.channels.xarf_export import XarfExport

CHANNELS: dict[str, type[Channel]] = {cls.name: cls for cls in (SandboxIntake, EmailChannel, XarfExport,
                                                                 Csv12321Export)}

__all__ = ["CHANNELS", "Channel", "CheckResult", "Citation", "EvidenceRef", "ListingRef", "NotConfigured",
           "PermanentError", "PlatformSettings", "Receipt", "ReceiptLookup", "Report", "TransientError", "Withdraw"]
