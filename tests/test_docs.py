"""The docs stay true: a short README that names every command and links every docs page, links
that resolve, and every sweep.toml key documented. Per-option docs are docs/cli.md's (its own test)."""
from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from cli.main import cli
from tests.helpers import cli_commands
from common.config_schema import SCHEMA

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
README_MAX_BYTES = 6 * 1024


COMMANDS = cli_commands()


def _prose(text: str) -> str:
    """Markdown without fenced code blocks and inline code, where `](` is not a link."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    return re.sub(r"`[^`\n]*`", "", text)


def links(path: Path) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", _prose(path.read_text(encoding="utf-8")))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL | re.MULTILINE)
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, flags=re.MULTILINE):
        base = slug(heading)
        out.add(f"{base}-{seen[base]}" if base in seen else base)
        seen[base] = seen.get(base, 0) + 1
    return out


def relative_links() -> list[tuple[Path, str]]:
    return [(page, target) for page in [README, *DOCS] for target in dict.fromkeys(links(page))
            if not re.match(r"[a-z][a-z0-9+.-]*:", target)]       # not http:, https:, mailto: …


# -- the README is a landing page ----------------------------------------------------------------
def test_readme_is_a_landing_page():
    size = len(README.read_bytes())
    assert size <= README_MAX_BYTES, f"README.md is {size:,} bytes; keep it ≤ 6 KB and move detail to docs/"


def test_quick_start_is_two_commands():
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_readme_lists_every_command(name):
    text = README.read_text(encoding="utf-8")
    assert re.search(rf"sweep {re.escape(name)}(?![\w-])", text), f"`sweep {name}` is not in README's command list"


@pytest.mark.parametrize("page", DOCS, ids=[p.name for p in DOCS])
def test_readme_links_every_docs_page(page):
    assert f"docs/{page.name}" in links(README), f"README.md does not link docs/{page.name}"


README_DOCS = sorted({t.split("#")[0] for t in links(README) if t.startswith("docs/")})


@pytest.mark.parametrize("target", README_DOCS)
def test_docs_page_linked_from_readme_exists(target):
    assert (ROOT / target).is_file(), f"README.md links {target}, which does not exist"


# -- every relative link resolves ---------------------------------------------------------------
@pytest.mark.parametrize("page, target", relative_links(), ids=[f"{p.name}->{t}" for p, t in relative_links()])
def test_relative_link_resolves(page, target):
    file_part, _, anchor = target.partition("#")
    resolved = (page.parent / file_part).resolve() if file_part else page
    assert resolved.exists(), f"{page.name}: link {target} points at nothing"
    if anchor and resolved.suffix == ".md":
        assert anchor in anchors(resolved), f"{page.name}: link {target}: no such heading in {resolved.name}"


def test_links_are_found():
    """The link checks above check something: the parser sees links, anchors and slugs as GitHub does."""
    assert "docs/configuration.md" in links(README)
    assert slug("Audit-search: what a platform's search still shows (搜不到)") == \
        "audit-search-what-a-platforms-search-still-shows-搜不到"
    assert slug("`[check.decisions]`") == "checkdecisions"


# -- every sweep.toml key is documented ----------------------------------------------------------
def config_sections(schema: dict, path: str = ""):
    """(dotted section, its keys) for every table of the schema; `<name>` for a table of tables."""
    props = schema.get("properties", {})
    if props and path:
        yield path, sorted(props)
    for key, sub in props.items():
        if sub.get("properties") or isinstance(sub.get("additionalProperties"), dict):
            yield from config_sections(sub, f"{path}.{key}" if path else key)
    nested = schema.get("additionalProperties")
    if isinstance(nested, dict) and nested.get("properties"):
        yield from config_sections(nested, f"{path}.<name>")


def documented_sections(text: str) -> dict[str, set[str]]:
    """configuration.md: a heading naming `[section]`, then a table whose rows start with `key`."""
    out: dict[str, set[str]] = {}
    for part in re.split(r"^(?=#{1,6} )", text, flags=re.MULTILINE):
        head = re.match(r"#{1,6} `\[([^\]]+)\]`", part)
        if head:
            out[head.group(1)] = set(re.findall(r"^\| `([\w.]+)` \|", part, flags=re.MULTILINE))
    return out


CONFIG_SECTIONS = list(config_sections(SCHEMA))


def test_config_schema_is_walked():
    names = dict(CONFIG_SECTIONS)
    assert "platforms.<name>" in names and "check.decisions" in names and "channels.smtp" in names
    assert "abuse_email" in names["platforms.<name>"]


@pytest.mark.parametrize("section, keys", CONFIG_SECTIONS, ids=[s for s, _ in CONFIG_SECTIONS])
def test_every_config_key_is_in_configuration_md(section, keys):
    documented = documented_sections((ROOT / "docs" / "configuration.md").read_text(encoding="utf-8"))
    assert section in documented, f"docs/configuration.md has no `[{section}]` section"
    missing = [k for k in keys if k not in documented[section]]
    assert not missing, f"docs/configuration.md [{section}] does not document {missing}"


# -- every command has an example in its help ----------------------------------------------------
@pytest.mark.parametrize("name, command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_command_help_has_an_example(name, command):
    assert "Example:" in (command.help or ""), f"`sweep {name}` help has no Example:"


# -- commands quoted in the docs exist, with the options they show --------------------------------
def quoted_commands():
    """(page, `sweep …` text) for each command line in code spans and code blocks of the docs."""
    for page in [README, *(d for d in DOCS if d.name != "cli.md")]:     # cli.md is --help itself
        text = page.read_text(encoding="utf-8")
        spans = re.findall(r"`(sweep [^`\n]+)`", text)
        blocks = re.findall(r"^```\w*\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)
        lines = [m for b in blocks for m in re.findall(r"(?:^|\s|bin/)(sweep [^#\n]+)", b, flags=re.MULTILINE)]
        for quoted in dict.fromkeys(spans + lines):       # `sweep a && sweep b`: each on its own
            yield from ((page, part) for part in re.split(r"\s(?:&&|\|\||;|\|)\s", quoted) if part.startswith("sweep "))


def resolve(words: list[str]) -> tuple[click.Command | None, str]:
    command, path = cli, "sweep"
    for word in words:
        if not isinstance(command, click.Group) or word not in command.commands:
            break
        command, path = command.commands[word], f"{path} {word}"
    return (None, path) if command is cli else (command, path)


QUOTED = list(dict.fromkeys(quoted_commands()))


@pytest.mark.parametrize("page, quoted", QUOTED, ids=[f"{p.name}:{q[:50]}" for p, q in QUOTED])
def test_quoted_command_and_options_exist(page, quoted):
    words = re.split(r"[\s\[\]|…/]+", quoted)[1:]
    command, path = resolve(words)
    if command is None:
        assert words[0] == "COMMAND", f"{page.name}: `{quoted}`: no command sweep {words[0]}"
        return
    known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)} | {"--help"}
    shown = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", quoted))
    assert shown <= known, f"{page.name}: `{quoted}`: {path} has no {sorted(shown - known)}"
