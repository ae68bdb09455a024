"""Broken repositories under tests/cases/invalid/ and the exact lines they produce.

Each folder is a repository; its ``expected.txt`` holds every line ``bosun
validate`` must print, as ``path:line:col: Kind/name: field: message``. The
command runs through the real entry point from inside the folder and must exit 1
having printed exactly those lines, plus the summary line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

CASES = Path(__file__).resolve().parent.parent / "cases" / "invalid"
CASE_DIRS = sorted(p for p in CASES.iterdir() if p.is_dir())


def test_there_are_enough_cases() -> None:
    assert len(CASE_DIRS) >= 35
    for case in CASE_DIRS:
        assert (case / "expected.txt").is_file(), f"{case.name} has no expected.txt"


@pytest.mark.parametrize("case", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_invalid_case(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert expected, f"{case.name}/expected.txt is empty"
    monkeypatch.chdir(case)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    n = len(expected)
    assert lines[-1] == f"bosun: {n} problem{'s' if n != 1 else ''} found; nothing was done."
    assert lines[:-1] == expected
    assert result.stdout == ""
    assert not (case / ".bosun").exists(), "validate must not write state"


def test_json_output_carries_positions(monkeypatch: pytest.MonkeyPatch) -> None:
    case = next(p for p in CASE_DIRS if p.name.endswith("several-problems-at-once"))
    monkeypatch.chdir(case)
    result = CliRunner().invoke(cli, ["validate", "--output", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    expected = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert len(report["problems"]) == len(expected)
    for problem, line in zip(report["problems"], expected, strict=True):
        assert line.startswith(f"{problem['file']}:{problem['line']}:{problem['column']}: ")
        assert line.endswith(problem["message"])
        assert problem["resource"] in line and problem["field"] in line


def test_path_argument_prefixes_file_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from elsewhere, the printed paths lead to the files from the current folder."""
    case = next(p for p in CASE_DIRS if p.name.endswith("route-unknown-gateway"))
    monkeypatch.chdir(CASES)
    result = CliRunner().invoke(cli, ["validate", case.name])
    assert result.exit_code == 1
    expected = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert result.stderr.splitlines()[:-1] == [f"{case.name}/{line}" for line in expected]
