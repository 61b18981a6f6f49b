"""Turn the classifier's explanation into highlighted segments of the original text.

The template escapes every segment; this module never builds HTML. Spans that do not
match the text (a stale explanation, a hostile offset) are dropped, not trusted.
"""
from __future__ import annotations


def spans_for(explanation: list, field: str, text: str) -> list[tuple[int, int, str]]:
    """(start, end, feature) for the spans of ``field`` that really point into ``text``."""
    out = []
    for entry in explanation or []:
        if not isinstance(entry, dict):
            continue
        feature = str(entry.get("feature", ""))
        for span in entry.get("spans") or []:
            if not isinstance(span, dict) or span.get("field") != field:
                continue
            start, end = span.get("start"), span.get("end")
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
                continue
            if "text" in span and text[start:end] != span["text"]:
                continue
            out.append((start, end, feature))
    return out


def segments(text: str, spans: list[tuple[int, int, str]]) -> list[dict]:
    """Split ``text`` into [{"text", "features"}]; overlapping spans merge into one highlight
    listing every feature that covers it."""
    text = text or ""
    cuts = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    out: list[dict] = []
    for a, b in zip(cuts, cuts[1:]):
        features = sorted({f for s, e, f in spans if s < b and e > a})
        if out and out[-1]["features"] == features:
            out[-1]["text"] += text[a:b]
        else:
            out.append({"text": text[a:b], "features": features})
    return out


def highlight(text: str, explanation: list, field: str) -> list[dict]:
    return segments(text, spans_for(explanation, field, text))
