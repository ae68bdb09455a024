"""The compose provider's plan against saved engine output (tests/cases/compose/).

``docker-bx-smoke.json`` is what dockerd answered for the stack in ``bx-smoke/``
after bosun applied it. Planning that repository against it must find nothing
to do; each variation (a changed variable, a container removed or stopped by
hand, a removed stack, a foreign owner, an unreadable host) must find exactly
its change, warning or error. Rendering uses the Compose binary; no engine.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from providers.compose import ComposeProvider
from providers.compose.hosts import build_host_state
from providers.compose.observed import ComposeObservation
from reconciler.errors import UnsafePlanError
from reconciler.model.kinds import Host
from reconciler.model.plan import ChangeAction
from reconciler.pipeline import load_desired
from reconciler.provider import ApplyOptions, PlanOutcome, ProviderContext
from reconciler.secrets import Secrets

CASES = Path(__file__).resolve().parents[1] / "cases" / "compose"
LOCAL = Host.model_validate({"apiVersion": "bosun/v1", "kind": "Host",
                             "metadata": {"name": "local"}})


def saved() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CASES / "docker-bx-smoke.json").read_text())
    return data


def observation(data: dict[str, Any]) -> ComposeObservation:
    state = build_host_state(LOCAL, data["containers"], data["networks"], data["volumes"],
                             data["images"])
    return ComposeObservation(hosts={"local": state})


def repo(tmp_path: Path, stacks: str | None = None) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(CASES / "bx-smoke", root)
    if stacks is not None:
        (root / "stacks.yaml").write_text(stacks)
    return root


def plan(root: Path, obs: ComposeObservation, tmp_path: Path, owner: str = "smoke",
         **options: bool) -> PlanOutcome:
    desired = load_desired(root)
    ctx = ProviderContext(state_dir=tmp_path / "state", owner=owner,
                          secrets=Secrets(desired, {}), options=ApplyOptions(**options))
    return ComposeProvider().plan_detailed(desired, obs, ctx)


def stack(env: str = "bonjour", extra: str = "") -> str:
    return ("apiVersion: bosun/v1\nkind: Stack\nmetadata: {name: bx-smoke}\nspec:\n"
            f"  compose: web/compose.yaml\n  env: {{GREETING: {env}}}\n{extra}")


def test_saved_state_plans_nothing(tmp_path: Path) -> None:
    outcome = plan(repo(tmp_path), observation(saved()), tmp_path)
    assert outcome.changes == [] and outcome.warnings == [] and outcome.errors == []


def test_changed_variable_recreates_only_its_service(tmp_path: Path) -> None:
    outcome = plan(repo(tmp_path, stack(env="hola")), observation(saved()), tmp_path)
    [change] = outcome.changes
    assert change.action is ChangeAction.UPDATE
    assert change.reason.startswith("recreate web (web: ")
    assert change.payload["recreate"] == ["web"]
    assert "worker" not in change.reason


def test_container_removed_by_hand_is_drift(tmp_path: Path) -> None:
    data = saved()
    data["containers"] = [c for c in data["containers"]
                          if c["Labels"]["com.docker.compose.service"] != "web"]
    [change] = plan(repo(tmp_path), observation(data), tmp_path).changes
    assert change.action is ChangeAction.UPDATE
    assert "web: container missing (removed by hand?)" in change.reason
    outcome = plan(repo(tmp_path / "b", stack(extra="  selfHeal: false\n")),
                   observation(data), tmp_path / "b")
    assert outcome.changes == []
    assert [w.message for w in outcome.warnings] == [
        "OutOfSync: service web: container missing (removed by hand?) "
        "(selfHeal: false, left alone)"]


def test_container_stopped_by_hand_is_started(tmp_path: Path) -> None:
    data = saved()
    for c in data["containers"]:
        if c["Labels"]["com.docker.compose.service"] == "worker":
            c["State"], c["Status"] = "exited", "Exited (137) 2 seconds ago"
    [change] = plan(repo(tmp_path), observation(data), tmp_path).changes
    assert change.reason.startswith("start worker (drift: worker: container bx-smoke-worker-1 "
                                    "is exited")


def test_changed_by_hand_config_hash(tmp_path: Path) -> None:
    data = saved()
    for c in data["containers"]:
        if c["Labels"]["com.docker.compose.service"] == "worker":
            c["Labels"]["com.docker.compose.config-hash"] = "0" * 64
    [change] = plan(repo(tmp_path), observation(data), tmp_path).changes
    assert "worker: container configuration changed outside bosun" in change.reason


def test_rebuilt_image_recreates(tmp_path: Path) -> None:
    data = saved()
    data["images"][0]["Id"] = "sha256:" + "1" * 64
    [change] = plan(repo(tmp_path), observation(data), tmp_path).changes
    assert "image bosun.local/busybox:1 now resolves to sha256:11111111111" in change.reason
    assert sorted(change.payload["recreate"]) == ["web", "worker"]


def test_removed_stack_is_deleted_only_with_allow_empty(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (root / "stacks.yaml").unlink()
    with pytest.raises(UnsafePlanError, match="declares no stack on host local"):
        plan(root, observation(saved()), tmp_path)
    [change] = plan(root, observation(saved()), tmp_path, allow_empty=True).changes
    assert change.action is ChangeAction.DELETE
    assert change.reason == "removed from the repository (was on host local)"
    assert "kept: volumes bx-smoke_data" in change.details
    assert change.payload["prune_volumes"] is False


def test_many_deletes_need_force(tmp_path: Path) -> None:
    data = saved()
    for i in range(6):
        for c in saved()["containers"]:
            clone = copy.deepcopy(c)
            clone["Id"] = f"{i}{clone['Id'][1:]}"
            clone["Labels"]["com.docker.compose.project"] = f"gone{i}"
            clone["Labels"]["bosun.resource"] = f"Stack/gone{i}"
            data["containers"].append(clone)
    root = repo(tmp_path)
    with pytest.raises(UnsafePlanError, match="deletes 6 stacks at once"):
        plan(root, observation(data), tmp_path)
    changes = plan(root, observation(data), tmp_path, force=True).changes
    assert sorted(c.ref.name for c in changes) == [f"gone{i}" for i in range(6)]


def test_other_owner_is_not_touched(tmp_path: Path) -> None:
    outcome = plan(repo(tmp_path), observation(saved()), tmp_path, owner="someone-else")
    assert outcome.changes == []
    [error] = outcome.errors
    assert "belongs to bosun owner 'smoke'" in error.message


def test_unreadable_host_plans_no_delete(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (root / "stacks.yaml").unlink()
    obs = ComposeObservation(host_errors={"local": "cannot reach docker engine: refused"})
    assert plan(root, obs, tmp_path, allow_empty=True, force=True).changes == []
    assert obs.failures()[0][1] == "cannot reach docker engine: refused"
    assert plan(repo(tmp_path / "b"), obs, tmp_path / "b").changes == []


def test_a_stack_that_does_not_render_is_an_error_for_it_alone(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (root / "bad").mkdir()
    (root / "bad" / "compose.yaml").write_text(
        "services:\n  app:\n    image: bosun.local/busybox:1\n"
        "    environment: {X: '${NEEDED:?must be set}'}\n")
    (root / "bad" / "stack.yaml").write_text(
        "apiVersion: bosun/v1\nkind: Stack\nmetadata: {name: bad}\n"
        "spec: {compose: compose.yaml}\n")
    outcome = plan(root, observation(saved()), tmp_path)
    assert outcome.changes == []
    [error] = outcome.errors
    assert str(error.ref) == "Stack/bad"
    assert "docker compose config failed" in error.message
    assert "must be set" in error.message


def test_a_failed_host_does_not_stop_the_others(tmp_path: Path) -> None:
    root = repo(tmp_path, stack(env="hola"))
    (root / "far.yaml").write_text(
        "apiVersion: bosun/v1\nkind: Host\nmetadata: {name: far}\n"
        "spec: {url: 'tcp://192.0.2.1:2375'}\n---\n"
        "apiVersion: bosun/v1\nkind: Stack\nmetadata: {name: elsewhere}\n"
        "spec: {host: far, compose: web/compose.yaml}\n")
    obs = observation(saved()).model_copy(update={"host_errors": {"far": "unreachable"}})
    outcome = plan(root, obs, tmp_path)
    assert [c.ref.name for c in outcome.changes] == ["bx-smoke"]
    assert [(str(ref), msg) for ref, msg in obs.failures()] == [("Host/far", "unreachable")]


def test_describe_lists_services_and_containers(tmp_path: Path) -> None:
    root = repo(tmp_path)
    desired = load_desired(root)
    ctx = ProviderContext(state_dir=tmp_path / "state", owner="smoke",
                          secrets=Secrets(desired, {}))
    provider = ComposeProvider()
    obs = observation(saved())
    provider.plan_detailed(desired, obs, ctx)
    [details] = provider.describe(desired, obs, ctx).values()
    assert [(s.name, s.image, s.replicas, s.running) for s in details.services] == [
        ("web", "bosun.local/busybox:1", 1, 1), ("worker", "bosun.local/busybox:1", 1, 1)]
    assert sorted((c.name, c.state, c.health) for c in details.containers) == [
        ("bx-smoke-web-1", "running", "healthy"), ("bx-smoke-worker-1", "running", None)]


def _unlabelled(data: dict[str, Any]) -> dict[str, Any]:
    """The saved project as if deployed by hand: no bosun labels, no bosun network."""
    for c in data["containers"]:
        c["Labels"] = {k: v for k, v in c["Labels"].items() if not k.startswith("bosun.")}
    data["networks"] = []  # bosun reads only networks carrying its owner label
    return data


@pytest.mark.parametrize("state", ["running", "absent"])
def test_a_project_deployed_by_hand_is_not_touched(tmp_path: Path, state: str) -> None:
    root = repo(tmp_path, stack(extra=f"  state: {state}\n  prune: {{volumes: true}}\n"))
    outcome = plan(root, observation(_unlabelled(saved())), tmp_path, force=True)
    assert outcome.changes == []
    [error] = outcome.errors
    assert error.message == ("project 'bx-smoke' on host local was not deployed by bosun "
                             "(no bosun.owner label); not touched")


FAR = Host.model_validate({"apiVersion": "bosun/v1", "kind": "Host", "metadata": {"name": "far"},
                           "spec": {"url": "tcp://192.0.2.1:2375"}})


def _moved_to_far(tmp_path: Path) -> Path:
    root = repo(tmp_path, stack(extra="  host: far\n"))
    (root / "far.yaml").write_text("apiVersion: bosun/v1\nkind: Host\nmetadata: {name: far}\n"
                                   "spec: {url: 'tcp://192.0.2.1:2375'}\n")
    return root


def test_a_moved_stack_is_created_on_its_new_host_and_leaves_the_old_one(
        tmp_path: Path) -> None:
    far = build_host_state(FAR, [], [], [], saved()["images"])
    obs = observation(saved()).model_copy(update={"hosts": {
        **observation(saved()).hosts, "far": far}})
    create, delete = plan(_moved_to_far(tmp_path), obs, tmp_path).changes
    assert (create.action, create.payload["host"]) == (ChangeAction.CREATE, "far")
    assert delete.action is ChangeAction.DELETE
    assert delete.payload == {"host": "local", "moved_to": "far", "prune_volumes": False}
    assert delete.reason == "moved to host far: removed from host local once healthy there"
    assert "kept: volumes bx-smoke_data" in delete.details


def test_a_moved_stack_whose_new_host_cannot_be_read_stays_where_it_is(tmp_path: Path) -> None:
    obs = observation(saved()).model_copy(update={"host_errors": {"far": "unreachable"}})
    outcome = plan(_moved_to_far(tmp_path), obs, tmp_path, allow_empty=True, force=True)
    assert outcome.changes == []
