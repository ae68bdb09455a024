"""The built-in library is checked when used, and skipped when it cannot judge anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import policy as policy_stage
from reconciler.errors import ConfigError
from reconciler.model.kinds import Policy
from reconciler.policy.library import BuiltinLibrary
from tests.unit.policy_repos import dump, load, write_repo

PRIVILEGED = {"web": {"image": "bosun.local/busybox:1", "privileged": True}}


def test_the_library_is_the_checked_policies_of_the_files() -> None:
    library = policy_stage.builtin_library()
    assert isinstance(library, BuiltinLibrary)
    policies = list(library)
    assert policies and all(isinstance(p, Policy) for p in policies)
    assert len(library) == len(policies) and library[0] == policies[0]
    assert list(library[1:]) == policies[1:]
    kinds = library.kinds()
    assert kinds == frozenset(k.value for p in policies for k in p.spec.match.kinds)


def _dns_repo(root: Path, settings: dict[str, object] | None = None) -> Path:
    repo: dict[str, object] = {"apiVersion": "bosun/v1", "kind": "Repository",
                               "metadata": {"name": "test"}}
    if settings is not None:
        repo["spec"] = {"policies": settings}
    dump(repo, root / "bosun.yaml")
    dump({"apiVersion": "bosun/v1", "kind": "DNSZone", "metadata": {"name": "z"},
          "spec": {"zone": "example.com", "server": "127.0.0.1:5353"}}, root / "zone.yaml")
    return root


def test_a_repository_the_library_cannot_judge_skips_it(tmp_path: Path) -> None:
    desired = load(_dns_repo(tmp_path))
    library = policy_stage.builtin_library()
    assert library.judges_none_of(desired)
    assert policy_stage.evaluate(desired, library) == []
    assert library._policies is None  # never checked
    # The same answer as evaluating every built-in policy.
    assert policy_stage.evaluate(desired, list(policy_stage.builtin_library())) == []


def test_settings_are_still_checked_without_anything_to_judge(tmp_path: Path) -> None:
    desired = load(_dns_repo(tmp_path, {"disable": ["no-such-policy"]}))
    with pytest.raises(ConfigError, match="no-such-policy"):
        policy_stage.evaluate(desired, policy_stage.builtin_library())


def test_a_stack_is_judged_by_the_library(tmp_path: Path) -> None:
    desired = load(write_repo(tmp_path, services=PRIVILEGED))
    library = policy_stage.builtin_library()
    assert not library.judges_none_of(desired)
    found = policy_stage.evaluate(desired, library)
    assert found == policy_stage.evaluate(desired, list(policy_stage.builtin_library()))
    assert any(r.rule == "BOSUN-S001" for r in found)
