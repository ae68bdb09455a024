"""The four steps on the memory provider, through the real command line.

plan shows the creates (exit 2 with --detailed-exitcode), apply makes them,
plan again prints ``No changes.`` (exit 0), apply again sends no write: the
memory engine's write counter in ``memory.json`` does not move.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"


def _writes(state: Path) -> int:
    data = json.loads((state / "memory.json").read_text(encoding="utf-8"))
    writes = data["writes"]
    assert isinstance(writes, int)
    return writes


def test_four_steps_on_the_quickstart(tmp_path: Path) -> None:
    runner = CliRunner()
    state = tmp_path / "state"
    common = [str(QUICKSTART), "--provider", "memory", "--state-dir", str(state)]

    first = runner.invoke(cli, ["plan", *common, "--detailed-exitcode"])
    assert first.exit_code == 2, first.output
    for ref in ("Gateway/edge", "Stack/web", "Route/web", "Schedule/web-heartbeat"):
        assert f"  + {ref}  (create:" in first.stdout
    assert first.stdout.rstrip().endswith("Plan: 4 to add, 0 to change, 0 to destroy.")
    assert not (state / "memory.json").exists(), "plan must not write"

    applied = runner.invoke(cli, ["apply", *common])
    assert applied.exit_code == 0, applied.output
    assert "Apply complete: 4 applied, 0 not applied" in applied.stdout
    assert _writes(state) == 4

    second = runner.invoke(cli, ["plan", *common, "--detailed-exitcode"])
    assert second.exit_code == 0, second.output
    assert second.stdout.rstrip().endswith("No changes.")

    before = (state / "memory.json").stat().st_mtime_ns
    again = runner.invoke(cli, ["apply", *common])
    assert again.exit_code == 0, again.output
    assert "No changes." in again.stdout
    assert _writes(state) == 4
    assert (state / "memory.json").stat().st_mtime_ns == before


def test_a_change_in_the_repository_plans_one_update(tmp_path: Path) -> None:
    runner = CliRunner()
    repo = tmp_path / "repo"
    shutil.copytree(QUICKSTART, repo)
    assert runner.invoke(cli, ["apply", str(repo), "--provider", "memory"]).exit_code == 0
    stack = repo / "stacks" / "web" / "stack.yaml"
    stack.write_text(stack.read_text().replace("Hello from bosun", "Hello again"))
    plan = runner.invoke(cli, ["plan", str(repo), "--provider", "memory",
                               "--detailed-exitcode"])
    assert plan.exit_code == 2, plan.output
    assert "  ~ Stack/web  (update:" in plan.stdout
    assert '~ spec.env.GREETING: "Hello from bosun" -> "Hello again"' in plan.stdout
    assert plan.stdout.rstrip().endswith("Plan: 0 to add, 1 to change, 0 to destroy.")
    assert (repo / ".bosun" / "memory.json").is_file(), "state defaults to .bosun/ in the repo"


def test_removing_a_manifest_plans_a_delete(tmp_path: Path) -> None:
    runner = CliRunner()
    repo = tmp_path / "repo"
    shutil.copytree(QUICKSTART, repo)
    assert runner.invoke(cli, ["apply", str(repo), "--provider", "memory"]).exit_code == 0
    stack = repo / "stacks" / "web" / "stack.yaml"
    docs = stack.read_text().split("---\n")
    stack.write_text("---\n".join(d for d in docs if "kind: Schedule" not in d))
    plan = runner.invoke(cli, ["plan", str(repo), "--provider", "memory", "--format", "json"])
    assert plan.exit_code == 0, plan.output
    report = json.loads(plan.stdout)
    assert [(c["action"], c["resource"]) for c in report["changes"]] == [
        ("delete", "Schedule/web-heartbeat")
    ]
    applied = runner.invoke(cli, ["apply", str(repo), "--provider", "memory"])
    assert applied.exit_code == 0, applied.output
    again = runner.invoke(cli, ["plan", str(repo), "--provider", "memory", "--detailed-exitcode"])
    assert again.exit_code == 0, again.output
