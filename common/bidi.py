"""Bidirectional control characters in crawled text, made visible wherever text is shown.

A seller's ``\u202eNIMDA`` renders as "ADMIN": override, embedding and isolate characters
reorder what a reviewer, a platform's moderator or a terminal user reads. The database keeps
them (they are part of the evidence); every display path — the review UI, report bodies and
subjects, terminal tables and `sweep search` — passes text through ``neutralise``, which
replaces each one with a visible ``‹U+202E›`` (no HTML, rich-markup or shell metacharacters,
so it is safe inside already-escaped output too).
"""
from __future__ import annotations

# U+061C ALM, U+200E/F LRM/RLM, U+202A-E embeddings and overrides, U+2066-9 isolates.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_VISIBLE = {ord(c): f"\u2039U+{ord(c):04X}\u203a" for c in BIDI_CONTROLS}
_JSON_ESCAPED = {ord(c): f"\\u{ord(c):04x}" for c in BIDI_CONTROLS}


def neutralise(text):
    """``text`` with every bidi control replaced by a visible marker; non-strings unchanged."""
    return text.translate(_VISIBLE) if isinstance(text, str) else text


def neutralise_json(dumped: str) -> str:
    """JSON text with bidi controls written as ``\\u202e`` escapes: the same data, shown safely.

    Only valid on JSON produced by ``json.dumps`` (the characters can only occur inside strings).
    """
    return dumped.translate(_JSON_ESCAPED)
