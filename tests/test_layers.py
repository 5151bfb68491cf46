"""The layers of DESIGN §4, held for every import in promoter/, at module level and inside
functions alike: a package imports only the packages below it (and the ground modules).

The table, top to bottom (a package may import any package on a lower line):

    cli                          interface
    ci                           integration (its service.py is ground)
    pipeline                     orchestration
    build                        stages: a stage imports only the stages after it
    promote
    policy
    tagging
    signing                      supply chain: keys, DSSE, cosign's storage conventions
    transfer                     graph copy
    registry                     OCI distribution client
    oci, config                  model (each may import the other's leaf helpers)

Ground, importable from anywhere: errors, units, redaction, untrusted, files, jsontypes,
settings (the run's settings value), environment (the one reader of the process
environment), and ci/service.py.

Inside registry/, its folders are layers too (as go-containerregistry splits remote/
and transport/), top to bottom:

    registry/            the front: Target, open_target, inspect, the public names
    local/, remote/      OCI layout and archive; the verbs over HTTP (neither imports
                         the other)
    transport/           one registry's HTTP transport and its layers
    access/              options, credentials and their lookup, trust roots, retry policy

oci/raw.py holds the manifest bytes and blob sources every target reads and writes; no
import cycle joins two modules of registry/.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "promoter"

#: Top first; a package may import a package of a later row.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli",),
    ("ci",),
    ("pipeline",),
    ("build",),
    ("promote",),
    ("policy",),
    ("tagging",),
    ("signing",),
    ("transfer",),
    ("registry",),
    ("oci", "config"),
)
GROUND = {
    "errors",
    "units",
    "redaction",
    "untrusted",
    "files",
    "settings",
    "environment",
    "jsontypes",
    "structs",
    "notices",
    "__init__",
    "__main__",
}
GROUND_MODULES = {"promoter.ci.service"}


def _rank(package: str) -> int:
    return next(i for i, row in enumerate(LAYERS) if package in row)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every promoter module ``path`` imports, with its line: module level or not."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.startswith("promoter.")]


def test_every_package_is_in_the_table() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    placed = {name for row in LAYERS for name in row}
    assert packages - placed == set()
    assert modules - GROUND == set()


def test_each_package_imports_only_the_layers_below_it() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if source in GROUND:
            continue
        for line, name in _imports(path):
            target = name.split(".")[1]
            if target in GROUND or name in GROUND_MODULES or target == source:
                continue
            if _rank(target) <= _rank(source) and not _same_model_row(source, target):
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {name}")
    assert wrong == []


def _same_model_row(source: str, target: str) -> bool:
    return {source, target} == {"oci", "config"}


def test_the_table_catches_an_upward_import(tmp_path: Path) -> None:
    """The check itself: an import of a higher layer is found, in a function too."""
    module = tmp_path / "x.py"
    module.write_text("def f():\n    from promoter.policy.engine import run\n")
    (line, name) = _imports(module)[0]
    assert (line, name) == (2, "promoter.policy.engine")
    assert _rank("policy") < _rank("signing")


#: registry/'s folders, top first; "" is registry/ itself. Siblings on a row do not
#: import each other.
REGISTRY_LAYERS: tuple[tuple[str, ...], ...] = (
    ("",),
    ("local", "remote"),
    ("transport",),
    ("access",),
)


def _folder(module: str) -> str:
    """The registry/ folder of a ``promoter.registry...`` module ("" for registry/ itself)."""
    parts = module.split(".")
    placed = {name for row in REGISTRY_LAYERS for name in row}
    return parts[2] if len(parts) > 2 and parts[2] in placed else ""


def _folder_rank(folder: str) -> int:
    return next(i for i, row in enumerate(REGISTRY_LAYERS) if folder in row)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _registry_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((PACKAGE / "registry").rglob("*.py"))}


def _registry_imports(path: Path, modules: dict[str, Path]) -> list[tuple[int, str]]:
    """The registry/ modules ``path`` imports, ``from package import module`` included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [
                (node.lineno, f"{node.module}.{alias.name}")
                for alias in node.names
                if f"{node.module}.{alias.name}" in modules
            ]
    return [(line, name) for line, name in found if name in modules]


def test_every_registry_folder_is_in_the_table() -> None:
    folders = {p.name for p in (PACKAGE / "registry").iterdir() if (p / "__init__.py").exists()}
    assert folders == {name for row in REGISTRY_LAYERS for name in row} - {""}


def test_registry_folders_import_only_the_folders_below() -> None:
    """The verbs import the transport, never the reverse; the local targets import
    nothing of the HTTP side; access imports nothing else of registry/."""
    modules = _registry_modules()
    wrong = []
    for source, path in modules.items():
        for line, name in _registry_imports(path, modules):
            if _folder(name) == _folder(source):
                continue
            if _folder_rank(_folder(name)) <= _folder_rank(_folder(source)):
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {name}")
    assert wrong == []


def test_no_import_cycle_in_registry() -> None:
    """At module level, in functions and under TYPE_CHECKING alike."""
    modules = _registry_modules()
    graph = {m: {n for _, n in _registry_imports(p, modules)} - {m} for m, p in modules.items()}
    assert _cycles(graph) == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_registry_checks_catch_an_upward_import_and_a_cycle() -> None:
    """The checks themselves: transport importing a verb is upward, local and remote are
    siblings, and a loop of two modules is a cycle."""
    assert _folder_rank(_folder("promoter.registry.remote.client")) < _folder_rank(
        _folder("promoter.registry.transport.auth")
    )
    assert _folder_rank("local") == _folder_rank("remote")
    assert _folder("promoter.registry.target") == _folder("promoter.registry") == ""
    assert _folder("promoter.registry.transport") == "transport"
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
