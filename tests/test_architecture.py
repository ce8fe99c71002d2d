"""The shape of the code: no import cycles, no `_private` names taken across modules,
and one module (agents/config.py) that reads the environment."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("agents", "tools", "evals")


def modules() -> dict[str, Path]:
    """Every module of our packages, by dotted name (a package by its own name)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(path: Path, name: str, known: dict[str, Path]) -> Iterator[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import in the file, at any
    depth: inside functions and under `if TYPE_CHECKING:` too."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in known:  # `from pkg import module` imports the module
                    yield submodule, None, node.lineno
                else:
                    yield base, alias.name, node.lineno


def graph() -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for target, _, _ in imports(path, name, known):
            # `import a.b.c` depends on a.b.c; the packages above it are not counted as edges
            if target in known and target != name:
                edges[name].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_scanner_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    edges = graph()
    assert "agents.models.build" in edges["agents.pipeline"]  # the scan sees real imports
    assert cycles(edges) == []


def test_no_private_names_imported_across_modules() -> None:
    known = modules()
    private = []
    for name, path in known.items():
        for target, imported, line in imports(path, name, known):
            if imported and imported.startswith("_") and not imported.startswith("__") and target in known:
                private.append(f"{path.relative_to(ROOT)}:{line}: {imported} from {target}")
    assert private == []


ENV_NAMES = {"environ", "getenv", "environb", "getenvb", "load_dotenv", "dotenv_values", "find_dotenv"}


def environment_reads(path: Path) -> Iterator[int]:
    """Lines that touch os.environ / os.getenv or python-dotenv (code only, not docstrings)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ENV_NAMES
            or isinstance(node, ast.Name)
            and node.id in ENV_NAMES
            or isinstance(node, ast.ImportFrom)
            and any(a.name in ENV_NAMES for a in node.names)
        ):
            yield node.lineno


def test_the_environment_scan_sees_reads() -> None:
    assert list(environment_reads(ROOT / "agents" / "config.py"))


def test_only_the_config_module_reads_the_environment() -> None:
    readers = [
        f"{path.relative_to(ROOT)}:{line}"
        for name, path in modules().items()
        if name != "agents.config"
        for line in environment_reads(path)
    ]
    assert readers == []
