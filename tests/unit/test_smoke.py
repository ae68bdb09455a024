"""The memory provider's four steps through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli


def test_init_validate_plan_apply(tmp_path: Path) -> None:
    runner = CliRunner()
    repo = tmp_path / "repo"
    assert runner.invoke(cli, ["init", str(repo)]).exit_code == 0
    assert runner.invoke(cli, ["validate", str(repo)]).exit_code == 0
    args = ["plan", str(repo), "--provider", "memory", "--detailed-exitcode"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 2, first.output
    assert "Plan: 3 to add, 0 to change, 0 to destroy." in first.output
    applied = runner.invoke(cli, ["apply", str(repo), "--provider", "memory"])
    assert applied.exit_code == 0, applied.output
    second = runner.invoke(cli, args)
    assert second.exit_code == 0, second.output
    assert "No changes." in second.output
