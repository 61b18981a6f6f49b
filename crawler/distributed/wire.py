"""What may come out of Redis: JSON only, checked against a schema before anything is built from it.

Whoever can write to Redis can put anything in a queue. Nothing read back is unpickled, imported
or called by a name it carries: an entry is JSON (no NaN/Infinity), at most MAX_ENTRY bytes, and
must match the schema of its kind (:mod:`.request_codec`, :mod:`.listing_codec`) — unknown keys
and wrong types included. Anything else raises :class:`Rejected`, whose ``reason`` names the
stat ``sweep/redis/rejected/<reason>``; :class:`Rejects` counts it, says it once per reason and
keeps the raw entry, for inspection, on ``<prefix>:rejected`` (the newest REJECTED_KEEP).
"""
from __future__ import annotations

import json
import logging
import unicodedata

import fastjsonschema

logger = logging.getLogger(__name__)

MAX_ENTRY = 16 * 1024 * 1024        # a request may carry a page body (DOWNLOAD_MAXSIZE 8 MB, base64)
REJECTED_KEEP = 1000
# fastjsonschema's failed rule -> the reason counted
_RULES = {"additionalProperties": "unknown_key", "required": "missing_key", "type": "bad_type"}


def printable(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` with control and format characters (bidi overrides too) escaped:
    the detail of a reject quotes what the entry held, and goes to a terminal."""
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c)[0] == "C" else c for c in text[:limit])


class Rejected(ValueError):
    def __init__(self, reason: str, detail: str):
        detail = printable(detail)
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def load(data: bytes | str, limit: int = MAX_ENTRY) -> dict:
    """``data`` as a JSON object; never anything that runs code."""
    if len(data) > limit:
        raise Rejected("too_large", f"{len(data)} bytes (limit {limit})")
    if isinstance(data, bytes) and data[:1] == b"\x80":       # pickle protocol 2+: never loaded
        raise Rejected("pickle", "a pickle, not JSON")
    try:
        obj = json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise Rejected("not_json", "nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:           # JSONDecodeError is a ValueError
        raise Rejected("not_json", str(exc)[:200]) from None
    if not isinstance(obj, dict):
        raise Rejected("not_json", f"a JSON {type(obj).__name__}, not an object")
    return obj


def compile_schema(schema: dict):
    """A checker for ``schema`` that raises :class:`Rejected` (reason from the rule that failed)."""
    validate = fastjsonschema.compile(schema)

    def check(obj: dict) -> dict:
        try:
            return validate(obj)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise Rejected(_RULES.get(exc.rule, "bad_value"), exc.message[:200]) from None

    return check


def dump(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


class Rejects:
    """Count, log once per reason, and keep a rejected entry; the caller goes on with the next."""

    def __init__(self, server, key: str, stats, what: str):
        self.server = server
        self.key = key
        self.stats = stats
        self.what = what
        self.said: set[str] = set()

    def __call__(self, data: bytes, error: Rejected, source: str) -> None:
        self.stats.inc_value(f"sweep/redis/rejected/{error.reason}")
        level = logging.DEBUG if error.reason in self.said else logging.ERROR
        self.said.add(error.reason)
        logger.log(level, "rejected a %s from Redis %s (%s; not executed; kept on %s; further %r rejects at "
                   "DEBUG, counted in sweep/redis/rejected/%s)", self.what, source, error, self.key, error.reason,
                   error.reason)
        try:
            pipe = self.server.pipeline(transaction=False)
            pipe.lpush(self.key, data)
            pipe.ltrim(self.key, 0, REJECTED_KEEP - 1)
            pipe.execute()
        except Exception as exc:          # keeping it is a courtesy; going on is what matters
            logger.warning("could not keep a rejected entry on %s: %s", self.key, exc)
