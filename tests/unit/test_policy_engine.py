"""The policy stage: matching, parameters, repository settings, rendered models, positions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler import policy as policy_stage
from reconciler.cli import cli
from reconciler.errors import ConfigError, PolicyViolation
from reconciler.model.kinds import Policy
from reconciler.pipeline import Reconciler
from tests.unit.policy_repos import dump, load, write_repo

CASES = Path(__file__).parent.parent / "cases/policy"
LIBRARY = policy_stage.builtin_library()
BAD_WEB = {"web": {"image": "bosun.local/busybox:1", "privileged": True,
                   "healthcheck": {"test": ["CMD", "true"]}}}


def _policy(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "bosun/v1", "kind": "Policy", "metadata": {"name": name}, "spec": spec}


def _rules(results: list[Any]) -> list[tuple[str, str]]:
    return [(r.rule, str(r.ref)) for r in results]


def test_rendered_model_is_judged_like_the_written_one(tmp_path: Path) -> None:
    services = json.loads((CASES / "rendered-compose.json").read_text())["services"]
    written = (CASES / "rendered-compose.yaml").read_text()
    root = write_repo(tmp_path, services={})
    (root / "stacks/app/compose.yaml").write_text(written)
    desired = load(root)
    as_written = policy_stage.evaluate(desired, LIBRARY)
    rendered = json.loads((CASES / "rendered-compose.json").read_text())
    as_rendered = policy_stage.evaluate(desired, LIBRARY, rendered={"app": rendered})
    assert set(services) == {"web", "ok"}
    assert _rules(as_written) == _rules(as_rendered)
    assert {r.rule for r in as_rendered} == {
        "BOSUN-I001", "BOSUN-S001", "BOSUN-S002", "BOSUN-S004", "BOSUN-H001"}


def test_rendered_model_wins_over_the_files(tmp_path: Path) -> None:
    root = write_repo(tmp_path, services={
        "web": {"image": "bosun.local/app:${TAG}", "healthcheck": {"test": ["CMD", "true"]}}})
    desired = load(root)
    assert policy_stage.evaluate(desired, LIBRARY) == []
    rendered = {"services": {"web": {"image": "bosun.local/app:latest",
                                     "healthcheck": {"test": ["CMD", "true"]}}}}
    results = policy_stage.evaluate(desired, LIBRARY, rendered={"app": rendered})
    assert _rules(results) == [("BOSUN-I001", "Stack/app")]
    assert results[0].position is not None
    assert results[0].position.startswith("stacks/app/compose.yaml:3:")


def test_builtin_off_and_overrides(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "a", services=BAD_WEB, policies={"builtin": False})
    assert policy_stage.evaluate(load(root), LIBRARY) == []

    root = write_repo(tmp_path / "b", services=BAD_WEB, policies={"disable": ["BOSUN-S001"]})
    assert policy_stage.evaluate(load(root), LIBRARY) == []

    root = write_repo(tmp_path / "c", services=BAD_WEB,
                      policies={"actions": {"no-privileged": "warn"}})
    (result,) = policy_stage.evaluate(load(root), LIBRARY)
    assert (result.rule, result.enforced) == ("BOSUN-S001", False)


def test_unknown_setting_names_are_errors_with_their_line(tmp_path: Path) -> None:
    root = write_repo(tmp_path, services=BAD_WEB, policies={
        "disable": ["no-privilegd"], "params": {"allowedRegistry": ["x"]}})
    with pytest.raises(ConfigError) as caught:
        policy_stage.evaluate(load(root), LIBRARY)
    lines = caught.value.lines()
    assert any(line.startswith("bosun.yaml:") and "'no-privilegd'" in line
               and "did you mean 'no-privileged'" in line for line in lines), lines
    assert any("'allowedRegistry'" in line and "allowedRegistries" in line for line in lines)


def test_parameter_values_are_checked_against_their_schema(tmp_path: Path) -> None:
    root = write_repo(tmp_path, services=BAD_WEB,
                      params={"allowedHostPorts": [{"from": 80, "to": "90"}]})
    with pytest.raises(ConfigError) as caught:
        policy_stage.evaluate(load(root), LIBRARY)
    (line,) = caught.value.lines()
    assert line.startswith("bosun.yaml:")
    assert "spec.policies.params.allowedHostPorts" in line and "'90' is not of type" in line


def test_repository_policy_with_parameters_labels_and_exclusions(tmp_path: Path) -> None:
    root = write_repo(tmp_path, services={"web": {"image": "bosun.local/busybox:1"}},
                      labels={"team": "web", "tier": "edge"},
                      params={"maxReplicas": 2})
    dump(_policy("team-rules", {
        "action": "enforce",
        "match": {"kinds": ["Stack"], "labels": {"team": "*"}, "names": ["a*"],
                  "exclude": {"labels": {"tier": "internal"}}},
        "params": {"maxReplicas": {"default": 5, "schema": {"type": "integer"}}},
        "rules": [{"id": "ACME-1", "message": "too many replicas", "each": "compose.services.*",
                   "deny": {"properties": {"deploy": {"properties": {"replicas": {
                       "exclusiveMinimum": {"$param": "maxReplicas"}}}}},
                       "required": ["deploy"]}}],
    }), root / "policies/team.yaml")
    compose = root / "stacks/app/compose.yaml"
    dump({"services": {"web": {"image": "bosun.local/busybox:1", "deploy": {"replicas": 3}}}},
         compose)
    results = policy_stage.evaluate(load(root), ())
    assert _rules(results) == [("ACME-1", "Stack/app")]
    assert results[0].path == "compose.services.web"
    assert results[0].position == "stacks/app/compose.yaml:4:5"

    stack = root / "stacks/app/stack.yaml"
    dump({"apiVersion": "bosun/v1", "kind": "Stack",
          "metadata": {"name": "app", "labels": {"team": "web", "tier": "internal"}},
          "spec": {"compose": "compose.yaml"}}, stack)
    assert policy_stage.evaluate(load(root), ()) == []


def test_repository_policy_replaces_a_builtin_of_the_same_name(tmp_path: Path) -> None:
    root = write_repo(tmp_path, services=BAD_WEB)
    dump(_policy("no-privileged", {"match": {"kinds": ["Stack"], "names": ["other"]},
                                   "rules": [{"id": "BOSUN-S001", "message": "m",
                                              "deny": {"const": 0}}]}),
         root / "policies/override.yaml")
    assert policy_stage.evaluate(load(root), LIBRARY) == []


def test_list_parameter_mapped_through_a_template(tmp_path: Path) -> None:
    root = write_repo(tmp_path, services={"web": {
        "image": "bosun.local/busybox:1", "healthcheck": {"test": ["CMD", "true"]},
        "ports": ["127.0.0.1:18080:80", "8443:443"]}},
        params={"allowedHostPorts": [{"from": 18000, "to": 18999}]})
    results = policy_stage.evaluate(load(root), LIBRARY)
    assert [(r.rule, r.path) for r in results] == [("BOSUN-N001", "compose.services.web.ports[1]")]


def test_inline_compose_points_into_the_manifest(tmp_path: Path) -> None:
    root = write_repo(tmp_path)
    dump({"apiVersion": "bosun/v1", "kind": "Stack", "metadata": {"name": "inline"},
          "spec": {"compose": {"services": {"web": {"image": "nginx"}}}}},
         root / "inline.yaml")
    results = policy_stage.evaluate(load(root), LIBRARY)
    pinned = next(r for r in results if r.rule == "BOSUN-I001")
    assert pinned.position == "inline.yaml:9:9"


def test_a_policy_whose_schema_is_broken_is_a_validation_error(tmp_path: Path) -> None:
    root = write_repo(tmp_path)
    dump(_policy("broken", {"rules": [{"id": "X", "message": "m", "deny": {"type": "nope"}}]}),
         root / "broken.yaml")
    result = CliRunner().invoke(cli, ["validate", str(root)])
    assert result.exit_code == 1
    assert "broken.yaml:" in result.output and "not a valid JSON Schema" in result.output


def test_enforced_violation_is_never_applied(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo", services=BAD_WEB)
    desired = load(root)
    state = tmp_path / "state"
    reconciler = Reconciler(state_dir=state, provider_names=["memory"])
    plan = reconciler.plan(desired)
    assert plan.blocked and plan.changes
    with pytest.raises(PolicyViolation, match="BOSUN-S001"):
        reconciler.apply(plan, desired)
    assert not (state / "memory.json").exists()

    result = CliRunner().invoke(cli, ["apply", str(root), "--provider", "memory",
                                      "--state-dir", str(state)])
    assert result.exit_code == 1
    assert "BOSUN-S001" in result.output
    assert not (state / "memory.json").exists()


def test_validate_prints_rule_resource_file_and_line(tmp_path: Path) -> None:
    root = write_repo(tmp_path, services=BAD_WEB)
    result = CliRunner().invoke(cli, ["validate", str(root)])
    assert result.exit_code == 1
    assert (f"{root}/stacks/app/compose.yaml:4:5: Stack/app: compose.services.web: "
            "policy BOSUN-S001: error: services must not run privileged") in result.output
    as_json = CliRunner().invoke(cli, ["validate", str(root), "-o", "json"])
    body = json.loads(as_json.output)
    assert body["valid"] is False
    assert body["policy"][0]["rule"] == "BOSUN-S001"


def test_builtin_library_is_valid_policy_documents() -> None:
    assert all(isinstance(p, Policy) for p in LIBRARY)
    ids = [r.id for p in LIBRARY for r in p.spec.rules]
    assert len(ids) == len(set(ids))
