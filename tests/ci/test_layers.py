"""The CI layer sits above orchestration: only its service rule may be imported below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.cli import run_cli

PACKAGE = Path(__file__).resolve().parents[2] / "promoter"

#: Everything below the CLI and the CI layer (DESIGN §4).
BELOW = (
    "pipeline",
    "build",
    "tagging",
    "policy",
    "promote",
    "transfer",
    "registry",
    "oci",
    "config",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_lower_layers_use_only_the_service_rule() -> None:
    offenders = []
    for package in BELOW:
        root = PACKAGE / package
        files = [root.with_suffix(".py")] if not root.is_dir() else sorted(root.rglob("*.py"))
        for path in files:
            if not path.exists():
                continue
            for name in _imports(path):
                if name.startswith("promoter.ci") and name != "promoter.ci.service":
                    offenders.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert offenders == []


def test_the_ci_package_never_imports_the_cli() -> None:
    for path in (PACKAGE / "ci").rglob("*.py"):
        assert not any(name.startswith("promoter.cli") for name in _imports(path)), path


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--ci", "jenkins", "validate"], {}, "--ci 'jenkins': choose one of"),
        (["validate", "--ci=travis"], {}, "--ci 'travis': choose one of"),
        (["validate"], {"PROMOTER_CI": "circle"}, "PROMOTER_CI='circle': choose one of"),
    ],
)
def test_an_unknown_service_is_bad_input(
    args: list[str], env: dict[str, str], message: str, tmp_path: Path
) -> None:
    (tmp_path / "pipeline.yml").write_text("version: 1\nregistries: {}\nimages: {}\n")
    done = run_cli(args, cwd=tmp_path, env={"PATH": "/usr/bin:/bin", **env}, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr.splitlines()[0]
