"""Listing data a page carries as JSON in a <script>: read without a browser.

Many real pages ship the listing as a state blob (``window.__INITIAL_STATE__ = {...}``,
``<script id="__NEXT_DATA__" type="application/json">``, ``window.__DETAIL__ = {...};``) and
fill the visible page from it with JavaScript. Reading the blob with JMESPath gets the same
fields ~50x cheaper than rendering the page in Chromium.

A profile names the blob in ``listing.embedded`` (or ``list.embedded``): either a selector of
the script's text (``css:script#__NEXT_DATA__::text``) or the JavaScript name it is assigned to
(``window.__INITIAL_STATE__``). The blob may be strict JSON or a JavaScript object literal
(unquoted keys, single-quoted strings, trailing commas, ``undefined``); ``\\u003c``-style escapes
decode as in JSON.
"""
from __future__ import annotations

import json
import re

_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script\s*>", re.S | re.I)
# Tokens of a JS object literal: strings (either quote), then identifiers/keywords, then the rest.
_TOKEN = re.compile(r'''"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z_$][\w$]*'''
                    r'''|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\S''', re.S)
_JS_WORDS = {"true": "true", "false": "false", "null": "null", "undefined": "null", "NaN": "null",
             "Infinity": "null"}


class EmbeddedDataError(ValueError):
    """The page has no such blob, or it is not an object literal we can read."""


def assigned_literal(html: str, name: str) -> str:
    """The object/array literal assigned to ``name`` in one of the page's scripts."""
    pattern = re.compile(re.escape(name) + r"\s*=\s*")
    for script in _SCRIPT.findall(html):
        m = pattern.search(script)
        if m:
            return balanced(script, m.end())
    raise EmbeddedDataError(f"no script assigns {name}")


def balanced(text: str, start: int) -> str:
    """The bracketed literal starting at ``text[start]`` (strings skipped, nesting counted)."""
    if start >= len(text) or text[start] not in "{[":
        raise EmbeddedDataError("the assigned value is not an object or array literal")
    depth, i, quote = 0, start, None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'`":
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
        i += 1
    raise EmbeddedDataError("the literal is not closed")


def js_to_json(literal: str) -> str:
    """A JavaScript object literal as JSON text: quote keys, double-quote strings, drop trailing commas."""
    out, tokens = [], _TOKEN.findall(literal)
    for n, tok in enumerate(tokens):
        nxt = tokens[n + 1] if n + 1 < len(tokens) else ""
        if tok[0] == "'":
            body = tok[1:-1].replace('\\"', '"').replace("\\'", "'").replace('"', '\\"')
            out.append(f'"{body}"')
        elif tok[0] == '"' or tok[0].isdigit() or tok[0] == "-":
            out.append(tok)
        elif tok[0].isalpha() or tok[0] in "_$":
            out.append(json.dumps(tok) if nxt == ":" else _JS_WORDS.get(tok, json.dumps(tok)))
        elif tok == "," and nxt in ("}", "]"):
            continue
        else:
            out.append(tok)
    return "".join(out)


def parse_literal(literal: str):
    try:
        return json.loads(literal)
    except json.JSONDecodeError:
        pass
    try:
        return json.loads(js_to_json(literal))
    except json.JSONDecodeError as exc:
        raise EmbeddedDataError(f"not a readable object literal: {exc.msg}") from None
