"""The layering of STYLE.md holds, and the checks that keep it would notice a breach.

Two independent checks: import-linter with the contracts in pyproject.toml (also
run by ``make lint``), and a small AST walk over the sources.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
STAGES = ("load", "validate", "resolve", "policy", "observe", "plan", "apply")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _module(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def breaches(root: Path) -> list[str]:
    """Imports that break the layering, as ``module -> imported`` lines."""
    out: list[str] = []
    for path in sorted(root.glob("reconciler/**/*.py")) + sorted(root.glob("providers/**/*.py")):
        mod = _module(path, root)
        for name in sorted(_imports(path)):
            top = name.split(".")[0]
            if mod.startswith("reconciler.model") and top in ("reconciler", "providers",
                                                             "webhook") \
                    and not name.startswith("reconciler.model"):
                out.append(f"{mod} -> {name}")
            # The command line and the server assemble the whole program; the
            # registry falls back to the memory provider. Nothing else of the
            # core reaches up into providers or webhooks.
            assembles = mod.startswith("reconciler.cli") or mod in (
                "reconciler.registry", "reconciler.server")
            if mod.startswith("reconciler.") and not assembles \
                    and top in ("providers", "webhook"):
                out.append(f"{mod} -> {name}")
            if mod.startswith("providers") and any(
                name == f"reconciler.{s}" or name.startswith(f"reconciler.{s}.")
                for s in (*STAGES, "pipeline", "cli")
            ):
                out.append(f"{mod} -> {name}")
            stage = next((s for s in STAGES if mod == f"reconciler.{s}"
                          or mod.startswith(f"reconciler.{s}.")), None)
            if stage is not None:
                for other in STAGES:
                    if other != stage and (name == f"reconciler.{other}"
                                           or name.startswith(f"reconciler.{other}.")):
                        out.append(f"{mod} -> {name}")
    return out


def test_the_sources_keep_the_layering() -> None:
    assert breaches(ROOT) == []


def test_the_ast_check_notices_a_breach(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "reconciler", tmp_path / "reconciler")
    shutil.copytree(ROOT / "providers", tmp_path / "providers")
    common = tmp_path / "reconciler" / "model" / "common.py"
    common.write_text(common.read_text() + "\nfrom reconciler.errors import Problem\n")
    plan = tmp_path / "reconciler" / "plan.py"
    plan.write_text(plan.read_text() + "\nimport reconciler.apply\n")
    assert breaches(tmp_path) == [
        "reconciler.model.common -> reconciler.errors",
        "reconciler.model.common -> reconciler.errors.Problem",
        "reconciler.plan -> reconciler.apply",
    ]


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(cwd / "pyproject.toml"),
                           "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_import_linter_contracts_pass() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_import_linter_contracts_bite(tmp_path: Path) -> None:
    for folder in ("reconciler", "providers", "webhook"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    validate = tmp_path / "reconciler" / "validate.py"
    validate.write_text(validate.read_text() + "\nfrom reconciler import resolve as _r\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "Stages do not import each other BROKEN" in result.stdout
    assert "reconciler.validate is not allowed to import reconciler.resolve" in result.stdout
