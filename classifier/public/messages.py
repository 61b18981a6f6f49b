"""Application UI translations (gettext .mo catalogues) as short ordinary rows.

A phone or mail app's buttons and notices ("发送短信", "屏蔽此号码", "来电") are the short generic
texts a crawler meets on app pages, and they must not be flagged. A catalogue holds them one
message at a time, so a row joins one to six neighbouring messages of one catalogue; .mo files
keep messages sorted by context and English original, so neighbours are usually of one dialog.
"""
from __future__ import annotations

import re
import struct
from pathlib import Path

_MAGIC = {0x950412DE: "<", 0xDE120495: ">"}
# Mnemonic markers a user never sees: GTK "(_S)" / "_S", LibreOffice "~", Qt "(&S)" / "&S".
_MNEMONIC = re.compile(r"[(（][_&~][A-Za-z0-9][)）]|(?<![_&~\w])[_~&](?=\w)|~")
_SPACE = re.compile(r"\s+")


class CatalogueError(ValueError):
    pass


def read_mo(data: bytes) -> list[tuple[str, str]]:
    """(msgid, translation) pairs of a .mo file in its own order; the header and untranslated
    messages are left out, a message with plural forms gives its first form."""
    if len(data) < 28:
        raise CatalogueError("not a .mo file: too short")
    order = _MAGIC.get(struct.unpack("<I", data[:4])[0])
    if order is None:
        raise CatalogueError("not a .mo file: bad magic number")
    _, count, originals, translations = struct.unpack(order + "4I", data[4:20])
    out = []
    for i in range(count):
        try:
            olen, ooff = struct.unpack_from(order + "2I", data, originals + 8 * i)
            tlen, toff = struct.unpack_from(order + "2I", data, translations + 8 * i)
        except struct.error:
            raise CatalogueError(f"not a .mo file: table entry {i} out of range") from None
        if ooff + olen > len(data) or toff + tlen > len(data):
            raise CatalogueError(f"not a .mo file: string {i} out of range")
        msgid = data[ooff:ooff + olen].decode("utf-8", "replace")
        text = data[toff:toff + tlen].decode("utf-8", "replace").split("\x00")[0]
        if msgid and text:
            out.append((msgid.split("\x00")[0], text))
    return out


def shown(text: str) -> str:
    """The message as a user sees it: without mnemonic markers, on one line."""
    return _SPACE.sub(" ", _MNEMONIC.sub("", text)).strip()


def catalogues(root: Path, locale: str = "zh_CN", errors: list | None = None):
    """(path, shown translations) of every catalogue of ``locale`` under an unpacked package,
    each translation once, in catalogue order; an unreadable catalogue is skipped and added to
    ``errors`` as (path, reason)."""
    for path in sorted(root.glob(f"usr/**/{locale}/LC_MESSAGES/*.mo")):
        seen: dict[str, None] = {}
        try:
            pairs = read_mo(path.read_bytes())
        except (OSError, CatalogueError) as exc:
            if errors is not None:
                errors.append((path.relative_to(root), str(exc)))
            continue
        for _, text in pairs:
            seen.setdefault(shown(text), None)
        yield path.relative_to(root), [t for t in seen if t]
