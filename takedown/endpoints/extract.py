"""Abused endpoints out of a bomber's config file: owning domain, host, path and the tool's own
description of each — nothing else.

The file is hostile data. It is parsed as data only (JSON, YAML ``safe_load``, a Python list
through ``ast.literal_eval``; never executed), and what is kept of each URL is its host and path:
query strings, fragments, user-info, headers, cookies, tokens and request bodies are dropped,
and path segments that look like secrets are masked. A file that parses as none of the shapes is
scanned for URLs, so a truncated list ("……共 216 项") still yields what it shows.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import yaml

from outbound.policy import _suffixes

MAX_TEXT = 200_000          # a config file larger than this is read only this far
MAX_ENDPOINTS = 2_000       # per file
_URL = re.compile(r"""https?://[^\s'"<>\\,;)\]}]+""", re.I)
_NAME_KEYS = ("name", "desc", "description", "title", "site", "remark", "comment", "note", "备注", "名称")
_SECRETISH = re.compile(r"^[A-Za-z0-9_\-+/=]{24,}$")      # long opaque segments: keys, signatures
_HOST = re.compile(r"^[a-z0-9.-]+$")


@dataclass(frozen=True)
class Endpoint:
    domain: str          # registrable domain: whom to notify
    host: str
    path: str
    description: str = ""


def registrable(host: str) -> str:
    """The owning domain of ``host`` (the bundled Public Suffix List, offline); names under a
    special-use TLD the list does not carry (``.test``, ``.invalid``) keep their last two labels."""
    parts = _suffixes()(host)
    if parts.suffix and parts.domain:
        return f"{parts.domain}.{parts.suffix}"
    return ".".join(host.split(".")[-2:])


def endpoint_of(url: str, description: str = "") -> Endpoint | None:
    """Host and path of ``url`` (anything else dropped), or None when it is not a usable http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or "." not in host or not _HOST.match(host):
        return None
    segments = [("{secret}" if _SECRETISH.match(unquote(s)) else s) for s in (parts.path or "/").split("/")]
    path = "/".join(segments)[:300] or "/"
    return Endpoint(registrable(host), host, path, " ".join(description.split())[:120])


def _parse(text: str) -> list | None:
    """The file's data roots, or None when it is no JSON, YAML or Python file."""
    for load in (json.loads, yaml.safe_load):
        try:
            data = load(text)
        except Exception:         # each loader has its own error types; not this shape
            continue
        if isinstance(data, (list, dict)):
            return [data]
    try:                           # APIS = [...] / apis = {...}: each literal assigned, evaluated as data
        tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    roots = []
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, (ast.List, ast.Dict, ast.Tuple)):
            try:
                roots.append(ast.literal_eval(node.value))
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                # Not a pure literal (a call inside): its source text is scanned for URLs instead.
                roots.append(ast.get_source_segment(text, node.value) or "")
    return roots or None


def _walk(node, out: list, depth: int = 0) -> None:
    if depth > 20 or len(out) >= MAX_ENDPOINTS:
        return
    if isinstance(node, str):
        out.extend((u, "") for u in _URL.findall(node))
    elif isinstance(node, dict):
        name = next((str(node[k]) for k in _NAME_KEYS if isinstance(node.get(k), (str, int))), "")
        for key, value in node.items():
            # Only URL-bearing values: headers, cookies, bodies and tokens are never read.
            if isinstance(value, str) and _URL.match(value.strip()):
                out.append((value, name))
            elif isinstance(value, (list, dict)) and str(key).lower() not in (
                    "headers", "header", "cookies", "cookie", "data", "body", "json", "params", "form", "payload"):
                _walk(value, out, depth + 1)
    elif isinstance(node, (list, tuple)):
        for child in node:
            _walk(child, out, depth + 1)


def extract(text: str) -> list[Endpoint]:
    """Every distinct abused endpoint ``text`` (a config file) lists, in file order."""
    text = (text or "")[:MAX_TEXT]
    roots = _parse(text)
    found: list[tuple[str, str]] = []
    if roots is not None:
        _walk(roots, found)
    else:
        found = [(u, "") for u in _URL.findall(text)[:MAX_ENDPOINTS]]
    seen, out = set(), []
    for url, description in found:
        ep = endpoint_of(url, description)
        if ep and (ep.host, ep.path) not in seen:
            seen.add((ep.host, ep.path))
            out.append(ep)
    return out
