"""The JSON schema of sweep.toml: every section and key Sweep reads, so a typo is an error.

Add a key here when code starts reading it (common/config.py validates every file loaded).
Only names are fixed here; the code reading a value checks it and says what it expects.
"""
from __future__ import annotations

import difflib
import re

from jsonschema import Draft202012Validator


def _section(*keys: str, extra: dict | None = None) -> dict:
    return {"type": "object", "properties": {k: {} for k in keys}, "additionalProperties": False, **(extra or {})}


SECRET_KEY = r"^(password|token|api_key|secret)(_env)?$"
PLATFORM = _section("channels", "escalation", "abuse_email", "deadline_hours", "rate_limit_per_minute", "removed",
                    "base_url", "report_url", "display_name", "domain", extra={"patternProperties": {SECRET_KEY: {}}})
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "reporter": _section("org", "contact", "domain"),
        "crawl": _section("contact"),
        "schedule": _section("cycles", "timezone", "stale_after_seconds", "heartbeat_seconds"),
        "monitors": _section("min_listings", "max_validation_errors", "max_error_ratio", "max_retry_ratio",
                             "max_spider_errors", "max_empty_description_ratio", "max_unrendered_ratio"),
        "web": _section("trusted_proxies"),
        "redis": _section("url", "username", "password", "password_env"),
        "recheck": _section("first_after_hours", "interval_hours", "confirm_checks", "confirm_gap_hours",
                            "watch_removed_days", "removed_interval_hours", "rate_limit_per_minute", "max_per_cycle"),
        "relist": _section("text_threshold", "num_perm", "same_seller", "shared_contact"),
        "reports": _section("max_attempts", "backoff_seconds", "max_backoff_seconds", "quick_retries",
                            "capture_evidence", "require_evidence"),
        "evidence": _section("dir", "timeout_ms", "max_per_cycle", "browser_user"),
        "endpoints": _section("contacts", "allow_hosts", "security_txt_url", "allow_loopback", "resolve", "channel"),
        "check": _section("block_score", "key_refresh_seconds", "sample_allow", "bank_refresh_seconds",
                          "max_body_bytes", "max_batch", "workers", "decisions"),
        "exports": _section("dir"),
        "channels": _section("sandbox_intake", "email", "xarf", "csv_12321", extra={"properties": {
            "smtp": _section("host", "port", "starttls", "ssl", "username", "password", "password_env", "ca_file",
                             "allow_plaintext_auth", "from_addr", "max_attachment_mb", "timeout"),
            "sandbox_intake": _section("user_agent"),
        }}),
        "platforms": {"type": "object", "additionalProperties": PLATFORM},
    },
}
# channels.smtp is the e-mail channel's section; the rest are named as the channels are.
SCHEMA["properties"]["channels"]["properties"].update({"email": {"type": "object"}, "xarf": {"type": "object"},
                                                       "csv_12321": {"type": "object"}})
SCHEMA["properties"]["check"]["properties"]["decisions"] = _section("contact", "link", "seller", "signature",
                                                                    "domain", "imported")
_VALIDATOR = Draft202012Validator(SCHEMA)


def problems(data: dict) -> list[str]:
    """One line per problem: where it is, what is wrong and, for an unknown key, the nearest known one."""
    out = []
    for error in sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(map(str, error.absolute_path))
        place = f"[{where}] " if where else ""
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = list(error.schema.get("properties", {}))
            patterns = error.schema.get("patternProperties", {})
            for key in error.instance:
                if key in known or any(re.search(p, key) for p in patterns):
                    continue
                near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(known)})" if known else ""
                out.append(f"{place}unknown key {key!r}{hint}")
        else:
            out.append(f"{place}{error.message}")
    return out
