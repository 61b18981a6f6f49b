"""The floor plan (docs/architecture.md), enforced: every import points down, no cycles.

Imports inside functions count: a cycle hidden in a function body is still a cycle. The graph is
read from the source with ``ast``, so nothing is imported to check it.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Package -> floor. A package may import packages on lower floors only (never its own floor's
# neighbours, never upward). Keep in step with docs/architecture.md.
FLOORS = {
    "common": 0, "outbound": 0,
    "store": 1,
    "classifier": 2,
    "crawler": 3,
    "takedown": 4,
    "precheck": 5, "visibility": 5,
    "review": 6, "ops": 6,
    "cli": 7,
}
# The bundled fake platforms: production code reaches them only from the commands that start them.
SANDBOX_IMPORTERS = {"cli.main", "cli.sandbox"}
# Channel adapters send one report; deciding what to send, when, and rechecking is the outbox's and
# the orchestrators' job, above them.
ORCHESTRATORS = ("takedown.recheck", "takedown.reports", "takedown.outbox", "takedown.relist",
                 "takedown.evidence")


def _modules() -> dict[str, Path]:
    mods = {}
    for top in [*FLOORS, "sandbox"]:
        for path in (ROOT / top).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = path
    return mods


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    """Project modules ``module`` imports anywhere in its body (relative imports resolved)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            resolved = _resolve(target)
            if resolved and resolved != module:
                found.add(resolved)
                # Importing a.b.c first runs a/b/__init__: a dependency too, unless we live inside a.b.
                parts = resolved.split(".")
                found.update(p for p in (".".join(parts[:i]) for i in range(1, len(parts)))
                             if p in MODULES and not (module + ".").startswith(p + "."))
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _top(module: str) -> str:
    return module.split(".")[0]


def test_every_package_is_on_a_floor():
    tops = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} - {"tests", "bench"}
    assert tops <= set(FLOORS) | {"sandbox"}, f"place {tops - set(FLOORS)} in FLOORS and docs/architecture.md"


def test_imports_point_down():
    upward = sorted(f"{a} -> {b}" for a, targets in GRAPH.items() for b in targets
                    if _top(a) != _top(b) and _top(b) != "sandbox" and _top(a) != "sandbox"
                    and FLOORS[_top(b)] >= FLOORS[_top(a)])
    assert not upward, "imports that do not point down:\n" + "\n".join(upward)


def test_sandbox_is_reached_only_from_the_commands_that_start_it():
    reaching = sorted(f"{a} -> {b}" for a, targets in GRAPH.items() for b in targets
                      if _top(b) == "sandbox" and _top(a) != "sandbox" and a not in SANDBOX_IMPORTERS)
    assert not reaching, "\n".join(reaching)
    assert not any(_top(b) in FLOORS for a, targets in GRAPH.items() if _top(a) == "sandbox" for b in targets), \
        "the sandbox stands alone: it imports nothing from Sweep"


def test_channel_adapters_never_call_orchestrators():
    calls = sorted(f"{a} -> {b}" for a, targets in GRAPH.items() if a.startswith("takedown.channels")
                   for b in targets if b.startswith(ORCHESTRATORS))
    assert not calls, "\n".join(calls)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iterative)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_module_cycles():
    cycles = _cycles(GRAPH)
    assert not cycles, "module cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_package_cycles():
    packages = {}
    for a, targets in GRAPH.items():
        packages.setdefault(_top(a), set()).update(_top(b) for b in targets if _top(b) != _top(a))
    assert not _cycles(packages)


def test_a_package_init_on_the_way_counts(tmp_path):
    # Importing takedown.channels.base first runs takedown/channels/__init__, which imports every
    # channel: page_check once did that while a channel imported page_check — a cycle no
    # module-to-module edge showed. From inside takedown.channels the package is already running.
    source = tmp_path / "probe.py"
    source.write_text("from takedown.channels.base import Channel\n", encoding="utf-8")
    assert "takedown.channels" in _imports("takedown.probe", source)
    assert "takedown.channels" not in _imports("takedown.channels.probe", source)


def test_the_cycle_finder_finds_a_cycle():
    # The checks above pass vacuously if the finder is broken; it must see a hidden two-module loop.
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


SQL = re.compile(r"\b(SELECT\s+.+\s+FROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.I | re.S)


@pytest.mark.parametrize("path", sorted((ROOT / "cli").rglob("*.py")), ids=lambda p: p.name)
def test_the_cli_holds_no_sql(path):
    # The CLI parses options, calls a library function and prints; queries belong to the store
    # and the libraries above it.
    strings = [n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
               if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert not [s for s in strings if SQL.search(s)]
