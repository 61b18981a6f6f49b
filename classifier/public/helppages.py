"""Paragraphs of user help: GNOME's Mallard pages and DocBook-made HTML manuals.

Readers yield (path, title, paragraphs) per page or section, like the readers in extract.py;
paragraphs keep their original text, only whitespace is folded.
"""
from __future__ import annotations

import re
from pathlib import Path

from lxml import etree
from lxml import html as lxml_html

MALLARD = "{http://projectmallard.org/1.0/}"
_SPACE = re.compile(r"\s+")
_HEADINGS = ("h1", "h2", "h3", "h4")


def _text(el) -> str:
    return _SPACE.sub(" ", "".join(el.itertext())).strip()


def mallard_pages(root: Path, locale: str = "zh_CN"):
    """Every Mallard page of ``locale`` (usr/share/help/LOCALE/APP/*.page): its title and its
    paragraphs, the page's <info> block (credits, links, licence) left out."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for path in sorted(root.glob(f"usr/share/help/{locale}/*/*.page")):
        try:
            page = etree.parse(str(path), parser).getroot()
        except (OSError, etree.XMLSyntaxError):
            continue
        title = page.find(f"{MALLARD}title")
        paras = [_text(p) for p in page.iter(f"{MALLARD}p")
                 if next(p.iterancestors(f"{MALLARD}info"), None) is None]
        yield path.relative_to(root), _text(title) if title is not None else "", paras


def html_sections(root: Path, pattern: str):
    """Each section of the HTML manuals matching ``pattern``: the nearest heading above as title,
    the <p> paragraphs under it (a chapter file holds many sections). Files are read as UTF-8:
    without a charset declaration lxml would assume Latin-1."""
    parser = lxml_html.HTMLParser(encoding="utf-8")
    for path in sorted(root.glob(pattern)):
        try:
            doc = lxml_html.parse(str(path), parser).getroot()
        except (OSError, ValueError):
            continue
        title, paras, n = "", [], 0
        for el in doc.iter(*_HEADINGS, "p"):
            if el.tag in _HEADINGS:
                if paras:
                    yield f"{path.relative_to(root)}#{n}", title, paras
                title, paras, n = _text(el), [], n + 1
            else:
                paras.append(_text(el))
        if paras:
            yield f"{path.relative_to(root)}#{n}", title, paras
