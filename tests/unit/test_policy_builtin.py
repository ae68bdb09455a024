"""Every built-in policy passes the repositories it should and fails the others.

Cases live in tests/cases/policy/builtin.yaml; each repository is written to
disk and read by the real load/validate/resolve stages, then judged by the
policy stage with the shipped library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from reconciler import policy as policy_stage
from reconciler.model.kinds import Policy
from tests.unit.policy_repos import load, write_repo

CASES_FILE = Path(__file__).parent.parent / "cases/policy/builtin.yaml"
CASES: dict[str, dict[str, list[dict[str, Any]]]] = YAML(typ="safe").load(
    CASES_FILE.read_text(encoding="utf-8")
)
LIBRARY = {p.name: p for p in policy_stage.builtin_library()}


def _params(kind: str) -> list[Any]:
    return [
        pytest.param(name, i, case, id=f"{name}-{kind}-{i}")
        for name, cases in CASES.items()
        for i, case in enumerate(cases[kind])
    ]


def _judge(tmp_path: Path, policy: Policy, case: dict[str, Any]) -> list[Any]:
    root = write_repo(
        tmp_path / "repo", services=case.get("services"), hosts=case.get("hosts"),
        params=case.get("params"), labels=case.get("labels"),
    )
    desired = load(root)
    rule_ids = {r.id for r in policy.spec.rules}
    return [r for r in policy_stage.evaluate(desired, list(LIBRARY.values()))
            if r.rule in rule_ids]


def test_every_builtin_policy_has_cases() -> None:
    assert set(LIBRARY) == set(CASES), "each built-in policy needs pass and fail cases"
    for name, cases in CASES.items():
        assert cases.get("pass") and cases.get("fail"), name


def test_every_builtin_policy_is_documented() -> None:
    readme = (Path(policy_stage.__file__).parent.parent.parent / "policies/README.md").read_text()
    for policy in LIBRARY.values():
        assert f"`{policy.name}`" in readme, policy.name
        for rule in policy.spec.rules:
            assert rule.id in readme, rule.id


@pytest.mark.parametrize(("name", "index", "case"), _params("pass"))
def test_builtin_passes(tmp_path: Path, name: str, index: int, case: dict[str, Any]) -> None:
    assert _judge(tmp_path, LIBRARY[name], case) == []


@pytest.mark.parametrize(("name", "index", "case"), _params("fail"))
def test_builtin_fails(tmp_path: Path, name: str, index: int, case: dict[str, Any]) -> None:
    results = _judge(tmp_path, LIBRARY[name], case)
    assert sorted({r.rule for r in results}) == sorted(case["rules"])
    first = results[0]
    assert first.enforced is not case.get("warn", False)
    file = "routes/route.yaml" if "hosts" in case else "stacks/app/compose.yaml"
    assert first.position is not None
    assert first.position.startswith(f"{file}:{case['line']}:"), first.position
