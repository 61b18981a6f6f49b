"""Browser and mail-client UI translations: the Fluent (.ftl) files of a Mozilla language pack.

A langpack (.xpi, a zip) keeps each screen's strings in one .ftl file in source order, so
neighbouring messages belong together. A message gives its value and its attributes (.label,
.title, .placeholder…); brand terms ({ -brand-short-name }) are filled in from the pack's own term
definitions, as a user sees them; messages that choose between variants (selectors) are left out.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from .messages import shown

_ENTRY = re.compile(r"^(-?[A-Za-z][\w-]*)[ \t]*=[ \t]*(.*)$")
_ATTRIBUTE = re.compile(r"^[ \t]+\.([\w-]+)[ \t]*=[ \t]*(.*)$")
_TERM_REF = re.compile(r"\{ *(-[\w-]+) *\}")


def parse_ftl(text: str) -> tuple[list[tuple[str, list[str]]], dict[str, str]]:
    """(message id, [value, attribute values…]) in file order, and the terms the file defines."""
    entries: list[tuple[str, list[str]]] = []
    parts: list[list[str]] | None = None
    for line in text.splitlines():
        entry, attribute = _ENTRY.match(line), _ATTRIBUTE.match(line)
        if entry:
            parts = [[entry.group(2)]]
            entries.append((entry.group(1), parts))
        elif parts is not None and attribute:
            parts.append([attribute.group(2)])
        elif parts is not None and line[:1] in (" ", "\t") and line.strip():
            parts[-1].append(line.strip())
        elif not line.strip() and parts is not None:
            continue
        else:
            parts = None                                  # a comment or junk ends the entry
    messages, terms = [], {}
    for name, chunks in entries:
        texts = [" ".join(c).strip() for c in chunks]
        if name.startswith("-"):
            if texts[0] and "{" not in texts[0]:
                terms[name] = texts[0]
        else:
            messages.append((name, [t for t in texts if t and "->" not in t]))
    return messages, terms


def langpack_files(xpi: Path) -> list[tuple[str, list[str]]]:
    """(file inside the pack, shown texts) of every .ftl file, brand terms filled in."""
    with zipfile.ZipFile(xpi) as pack:
        files = [(n, pack.read(n).decode("utf-8", "replace")) for n in sorted(pack.namelist()) if n.endswith(".ftl")]
    parsed = [(name, *parse_ftl(text)) for name, text in files]
    terms = {k: v for _, _, t in parsed for k, v in t.items()}
    out = []
    for name, messages, _ in parsed:
        seen: dict[str, None] = {}
        for _, texts in messages:
            for text in texts:
                seen.setdefault(shown(_TERM_REF.sub(lambda m: terms.get(m.group(1), m.group(0)), text)), None)
        out.append((name, [t for t in seen if t]))
    return out


def langpacks(root: Path, locale: str = "zh-CN", errors: list | None = None):
    """(xpi!file, texts) for the .ftl files of every ``locale`` langpack under an unpacked package;
    an unreadable pack is skipped and added to ``errors`` as (path, reason)."""
    for xpi in sorted(root.glob(f"usr/lib/**/langpack-{locale}@*.xpi")):
        try:
            files = langpack_files(xpi)
        except (OSError, zipfile.BadZipFile) as exc:
            if errors is not None:
                errors.append((xpi.relative_to(root), f"not a language pack: {exc}"))
            continue
        for name, texts in files:
            yield f"{xpi.relative_to(root)}!{name}", texts
