"""Declarative site profiles: everything platform-specific, loaded and checked before a crawl.

A profile is a YAML file in ``crawler/profiles/`` (or any directory given with
``--profiles``). Adding a platform of a known kind is adding a file; see docs/crawling.md,
"Adding a platform". A bad profile fails at load with the file, the field and the problem.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import yaml
from parsel import Selector

from outbound.policy import allowlist_problem
from common.errors import SweepError

PROFILE_DIR = Path(__file__).parent / "profiles"
KEYWORDS_FILE = Path(__file__).parent / "keywords.txt"
KINDS = ("ecommerce", "appstore", "forum", "code", "social")

# header: reads a response header; header:Link[rel=next] the URL a Link header names (crawler/extract.py).
_SELECTOR = {"type": "string", "pattern": "^(css|xpath|jmes|header):.+"}
_SELECTORS = {"oneOf": [_SELECTOR, {"type": "array", "items": _SELECTOR, "minItems": 1}]}
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "kind", "base_url", "allowed_hosts", "seeds", "list", "listing"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{1,31}$"},
        "kind": {"enum": list(KINDS)},
        "enabled": {"type": "boolean"},
        "description": {"type": "string"},
        "base_url": {"type": "string", "pattern": "^https?://[^/]+/?$"},
        "allowed_hosts": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "allow_loopback": {"type": "boolean"},
        "encoding": {"type": "string"},
        "politeness": {
            "type": "object", "additionalProperties": False,
            "properties": {"download_delay": {"type": "number", "minimum": 0},
                           "concurrency": {"type": "integer", "minimum": 1, "maximum": 64}},
        },
        "monitors": {     # per-platform thresholds of crawler/monitors.py (defaults: SWEEP_MONITOR_*)
            "type": "object", "additionalProperties": False,
            "properties": {"min_listings": {"type": "integer", "minimum": 0},
                           "max_validation_errors": {"type": "integer", "minimum": 0},
                           "max_error_ratio": {"type": "number", "minimum": 0, "maximum": 1},
                           "max_retry_ratio": {"type": "number", "minimum": 0},
                           "max_spider_errors": {"type": "integer", "minimum": 0},
                           "max_empty_description_ratio": {"type": "number", "minimum": 0, "maximum": 1},
                           "max_unrendered_ratio": {"type": "number", "minimum": 0, "maximum": 1}},
        },
        "seeds": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "search": {"type": "array", "items": {"type": "string", "pattern": "\\{keyword\\}"}},
                "keywords": {"oneOf": [{"const": "default"}, {"type": "array", "items": {"type": "string"}}]},
                "pages": {"type": "array", "items": {"type": "string"}},
            },
        },
        "list": {
            "type": "object", "additionalProperties": False, "required": ["links"],
            "properties": {
                "links": _SELECTORS, "next": _SELECTORS, "max_pages": {"type": "integer", "minimum": 1},
                "embedded": {"type": "string", "minLength": 1},
                # Lists that number their pages instead of linking the next one ({total, page, size, items}).
                "page_param": {
                    "type": "object", "additionalProperties": False, "required": ["name"],
                    "properties": {"name": {"type": "string", "minLength": 1},
                                   "first": {"type": "integer", "minimum": 0},
                                   "total": _SELECTORS, "size": _SELECTORS},
                },
            },
        },
        "listing": {
            "type": "object", "additionalProperties": False, "required": ["url", "fields"],
            "properties": {
                "url": {"type": "string"},
                "fields": {
                    "type": "object", "additionalProperties": False, "required": ["title", "description"],
                    "properties": dict.fromkeys((
                        "title", "description", "price", "seller_name", "seller_url", "images",
                        "developer", "version", "downloads", "replies", "posts", "topics", "stars", "files"),
                        _SELECTORS),
                },
                "seller_id": {"type": "string"},
                # A JSON/JS-literal state blob the page carries (crawler/embedded.py): `jmes:` fields read it.
                "embedded": {"type": "string", "minLength": 1},
                "strip": _SELECTORS,
                "next": _SELECTORS,
                "max_pages": {"type": "integer", "minimum": 1},
                # Files a listing page links to whose text is kept with the listing (a repository's config).
                "attachments": {
                    "type": "object", "additionalProperties": False, "required": ["links", "match"],
                    "properties": {"links": _SELECTORS, "match": {"type": "string", "minLength": 1},
                                   "text": _SELECTORS, "max": {"type": "integer", "minimum": 1, "maximum": 20},
                                   "max_chars": {"type": "integer", "minimum": 100, "maximum": 200000}},
                },
                "browser": {
                    "type": "object", "additionalProperties": False, "required": ["when"],
                    "properties": {"when": _SELECTOR, "wait_for": _SELECTOR,
                                   "timeout_ms": {"type": "integer", "minimum": 100}},
                },
                "removed": {
                    "type": "object", "additionalProperties": False,
                    "properties": {"status": {"type": "array", "items": {"type": "integer"}},
                                   "text": {"type": "array", "items": {"type": "string"}},
                                   "redirect_to": {"type": "array", "items": {"type": "string"}}},
                },
            },
        },
    },
}


class ProfileError(SweepError, ValueError):
    """A profile that cannot be used; the message names the file, the field and the problem."""


@dataclass
class Profile:
    name: str
    kind: str
    base_url: str
    allowed_hosts: list[str]
    seeds: dict
    list: dict
    listing: dict
    path: str = ""
    enabled: bool = True
    description: str = ""
    allow_loopback: bool = False
    encoding: str | None = None
    politeness: dict = field(default_factory=dict)
    monitors: dict = field(default_factory=dict)
    listing_url_re: re.Pattern = None

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def keywords(self) -> list[str]:
        words = self.seeds.get("keywords", "default")
        if words == "default":
            return read_keywords()
        return list(words)

    def rebase(self, base_url: str) -> Profile:
        """The same profile pointed at another address (the sandbox on free ports)."""
        host = urlsplit(base_url).hostname
        clone = Profile(**{**self.__dict__, "base_url": base_url.rstrip("/"),
                           "allowed_hosts": sorted({*self.allowed_hosts, host})})
        return clone


def read_keywords(path: Path = KEYWORDS_FILE) -> list[str]:
    """The editable seed keyword list: one per line, # comments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def _check_selector(where: str, spec: str) -> None:
    how, _, expr = spec.partition(":")
    if how == "header":
        if not re.fullmatch(r"[A-Za-z0-9-]+(?:\[rel=[\w-]+\])?", expr):
            raise ProfileError(f"{where}: {spec!r} is not a valid header selector (header:Name or "
                               f"header:Link[rel=next])")
        return
    try:
        if how == "css":
            Selector(text="<html></html>").css(expr)
        elif how == "xpath":
            Selector(text="<html></html>").xpath(expr)
        else:
            import jmespath

            jmespath.compile(expr)
    except Exception as exc:  # parsel/cssselect/lxml/jmespath each raise their own types
        raise ProfileError(f"{where}: {spec!r} is not a valid {how} selector: {exc}") from None


def _walk_selectors(node, path):
    if isinstance(node, str) and re.match(r"^(css|xpath|jmes|header):", node):
        yield path, node
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _walk_selectors(child, f"{path}[{i}]")
    elif isinstance(node, dict):
        for key, child in node.items():
            yield from _walk_selectors(child, f"{path}.{key}" if path else key)


def _refuse_robots_override(data: dict, source: str) -> None:
    """robots.txt is always obeyed: say so plainly to a profile that tries to switch it off."""
    politeness = data.get("politeness") if isinstance(data.get("politeness"), dict) else {}
    for where, key in [*((k, k) for k in data), *((f"politeness.{k}", k) for k in politeness)]:
        if "robots" in str(key).lower():
            raise ProfileError(f"{source}: field '{where}': robots.txt is always obeyed; a profile cannot "
                               f"change that (ROBOTSTXT_OBEY is fixed in crawler/settings.py)")


def parse_profile(data, source: str) -> Profile:
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: a profile must be a mapping of fields, got {type(data).__name__}")
    _refuse_robots_override(data, source)
    try:
        jsonschema.validate(data, SCHEMA)
    except jsonschema.ValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise ProfileError(f"{source}: field '{where}': {exc.message}") from None
    for where, spec in _walk_selectors({k: data[k] for k in ("list", "listing")}, ""):
        _check_selector(f"{source}: field '{where}'", spec)
    try:
        url_re = re.compile(data["listing"]["url"])
    except re.error as exc:
        raise ProfileError(f"{source}: field 'listing.url': not a valid regular expression: {exc}") from None
    if "id" not in url_re.groupindex:
        raise ProfileError(f"{source}: field 'listing.url': the pattern needs a named group (?P<id>...)")
    if "attachments" in data["listing"]:
        try:
            re.compile(data["listing"]["attachments"]["match"])
        except re.error as exc:
            raise ProfileError(f"{source}: field 'listing.attachments.match': not a valid regular expression: "
                               f"{exc}") from None
    if "seller_id" in data["listing"]:
        try:
            if "id" not in re.compile(data["listing"]["seller_id"]).groupindex:
                raise ProfileError(f"{source}: field 'listing.seller_id': the pattern needs a named group (?P<id>...)")
        except re.error as exc:
            raise ProfileError(f"{source}: field 'listing.seller_id': not a valid regular expression: {exc}") from None
    seeds = data["seeds"]
    if not seeds.get("search") and not seeds.get("pages"):
        raise ProfileError(f"{source}: field 'seeds': give at least one of 'search' or 'pages'")
    if data.get("encoding"):
        import codecs

        try:
            codecs.lookup(data["encoding"])
        except LookupError:
            raise ProfileError(f"{source}: field 'encoding': unknown encoding {data['encoding']!r}") from None
    problem = allowlist_problem(data["allowed_hosts"])
    if problem:
        raise ProfileError(f"{source}: field 'allowed_hosts': {problem}")
    host = urlsplit(data["base_url"]).hostname
    if host not in data["allowed_hosts"]:
        raise ProfileError(f"{source}: field 'allowed_hosts': must include the base_url host {host!r}")
    return Profile(**data, path=source, listing_url_re=url_re)


def load_profile(path: str | Path) -> Profile:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {exc}") from None
    return parse_profile(data, str(path))


def load_profiles(directory: str | Path = PROFILE_DIR, names: list[str] | None = None,
                  enabled_only: bool = True) -> list[Profile]:
    """All profiles in ``directory`` (sorted by name); ``names`` picks some, enabled or not."""
    profiles = [load_profile(p) for p in sorted(Path(directory).glob("*.y*ml"))]
    seen = set()
    for p in profiles:
        if p.name in seen:
            raise ProfileError(f"{p.path}: field 'name': {p.name!r} is used by another profile")
        seen.add(p.name)
    if names:
        unknown = set(names) - seen
        if unknown:
            raise ProfileError(f"no profile named {', '.join(sorted(unknown))} in {directory} "
                               f"(have: {', '.join(sorted(seen))})")
        return [p for p in profiles if p.name in names]
    return [p for p in profiles if p.enabled or not enabled_only]
