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
