"""``bosun apply`` holds the changes of suspended resources, as bosun serve does."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from reconciler.cli import cli


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_a_suspended_stack_is_planned_but_not_applied(tmp_path: Path) -> None:
    root, state = tmp_path / "repo", str(tmp_path / "state")
    assert run("init", str(root)).exit_code == 0
    common = ("--provider", "memory", "--state-dir", state)
    assert run("apply", str(root), *common).exit_code == 0
    stack = root / "stacks/hello/stack.yaml"
    stack.write_text(stack.read_text().replace("hello from bosun", "hello again"))

    assert run("suspend", "Stack/hello", "--reason", "migrating", "--state-dir",
               state).exit_code == 0
    held = run("apply", str(root), *common)
    assert held.exit_code == 0, held.output
    assert ("Held: Stack/hello is suspended (migrating); 'bosun resume Stack/hello' hands it "
            "back.") in held.output
    assert "Applying" not in held.output
    still = run("plan", str(root), *common, "--detailed-exitcode")
    assert still.exit_code == 2 and "~ Stack/hello" in still.output, still.output

    assert run("resume", "Stack/hello", "--state-dir", state).exit_code == 0
    applied = run("apply", str(root), *common)
    assert applied.exit_code == 0 and "Applying 1 change(s)" in applied.output, applied.output
    assert "No changes." in run("plan", str(root), *common).output
