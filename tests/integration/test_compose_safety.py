"""Compose deletes against real engines: only bosun's own, and a moved stack's old home.

A plan can be older than its apply (a saved plan, a queued reconcile): the
delete reads the project again and leaves it alone when it is no longer this
owner's. A stack moved from one host to another (Docker to Podman here, two
engines of this machine) leaves its old host once it is healthy on the new
one, its volumes kept; a move whose new deployment fails keeps the old one.
Names are unique per test; what a test creates is removed.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Callable, Iterator

import docker.errors
import pytest
from click.testing import CliRunner

from providers.compose.cli import compose_command
from reconciler.cli import cli
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.plan import ChangeAction, ChangeOutcome
from reconciler.pipeline import Reconciler, load_desired
from reconciler.provider import ApplyOptions
from tests.integration.helpers import IMAGE, Engine, StackRepo, sleeper, unique, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.slow]

MakeRepo = Callable[[Engine], StackRepo]


def test_a_delete_planned_earlier_spares_what_is_no_longer_ours(
        docker_engine: Engine, make_repo: MakeRepo) -> None:
    repo = make_repo(docker_engine)
    keep, gone = unique("keep"), unique("gone")
    repo.write_stack(keep, {"app": sleeper()})
    repo.write_stack(gone, {"app": sleeper()})
    assert repo.bosun("apply").exit_code == 0
    repo.remove_stack(gone)
    reconciler = Reconciler(state_dir=repo.state_dir, provider_names=["compose"],
                            options=ApplyOptions(allow_empty=True))
    desired = load_desired(repo.root)
    plan = reconciler.plan(desired)
    [delete] = [c for c in plan.changes if c.action is ChangeAction.DELETE]
    assert delete.ref == ResourceRef(kind=Kind.STACK, name=gone)

    # Meanwhile someone replaces the project by hand: same name, not bosun's.
    client = docker_engine.client
    for c in client.containers(all=True, filters={"label": f"com.docker.compose.project={gone}"}):
        client.remove_container(c["Id"], force=True)
    for n in client.networks(filters={"label": f"com.docker.compose.project={gone}"}):
        client.remove_network(n["Id"])
    theirs = client.create_container(IMAGE, command=["sleep", "1000000"], name=f"{gone}-hand",
                                     labels={"com.docker.compose.project": gone,
                                             "com.docker.compose.service": "app"})["Id"]
    try:
        client.start(theirs)
        report = reconciler.apply(plan, desired)
        [result] = report.results
        assert result.outcome is ChangeOutcome.FAILED
        assert result.message == (f"project {gone!r} on host {docker_engine.host} now belongs "
                                  "to nobody (no bosun.owner label); not deleted")
        assert client.inspect_container(theirs)["State"]["Running"]
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            client.remove_container(theirs, force=True)


@pytest.fixture
def two_hosts(docker_engine: Engine, podman_engine: Engine,
              make_repo: MakeRepo) -> Iterator[StackRepo]:
    """A repository on Docker (host dock) that also declares Podman (host pod)."""
    repo = make_repo(docker_engine)
    (repo.root / "pod.yaml").write_text(json.dumps({
        "apiVersion": "bosun/v1", "kind": "Host", "metadata": {"name": podman_engine.host},
        "spec": {"engine": "podman", "url": podman_engine.url}}))
    try:
        yield repo
    finally:
        for name in sorted(repo.stacks):  # make_repo cleans Docker; Podman is ours to clean
            subprocess.run([*compose_command(), "--project-name", name, "down", "--volumes",
                            "--remove-orphans", "--timeout", "1"], capture_output=True,
                           timeout=120, check=False, cwd=repo.root.parent,
                           env={"PATH": "/usr/bin:/bin", "DOCKER_HOST": podman_engine.url})


def _running(engine: Engine, stack: str) -> list[str]:
    return [c["Names"][0] for c in engine.client.containers(
        filters={"label": [f"com.docker.compose.project={stack}"]})]


def _volumes(engine: Engine, stack: str) -> list[str]:
    found = engine.client.volumes(filters={"label": f"com.docker.compose.project={stack}"})
    return [v["Name"] for v in (found or {}).get("Volumes") or []]


def test_a_stack_moved_to_another_host_leaves_the_old_one_once_healthy(
        two_hosts: StackRepo, docker_engine: Engine, podman_engine: Engine) -> None:
    repo = two_hosts
    name = unique("mv")
    services = {"app": sleeper(volumes=["data:/data"])}
    repo.write_stack(name, services, volumes={"data": {}}, host=docker_engine.host)
    assert repo.bosun("apply").exit_code == 0
    assert _running(docker_engine, name) and _volumes(docker_engine, name)

    repo.write_stack(name, services, volumes={"data": {}}, host=podman_engine.host)
    plan = repo.bosun("plan")
    assert plan.exit_code == 0, plan.output
    assert f"+ Stack/{name}" in plan.output, plan.output
    assert (f"- Stack/{name}  (delete: moved to host {podman_engine.host}: removed from "
            f"host {docker_engine.host} once healthy there)") in plan.output, plan.output
    assert f"kept: volumes {name}_data" in plan.output
    applied = repo.bosun("apply")
    assert applied.exit_code == 0, applied.output
    assert _running(podman_engine, name)
    assert _running(docker_engine, name) == []
    assert _volumes(docker_engine, name) == [f"{name}_data"], "data does not move"
    again = repo.bosun("plan")
    assert "No changes." in again.output, again.output


def test_a_move_whose_new_deployment_fails_keeps_the_old_one(
        two_hosts: StackRepo, docker_engine: Engine, podman_engine: Engine) -> None:
    repo = two_hosts
    name = unique("mvf")
    repo.write_stack(name, {"app": sleeper()}, host=docker_engine.host)
    assert repo.bosun("apply").exit_code == 0
    failing = sleeper(healthcheck={"test": ["CMD", "false"], "interval": "1s", "retries": 1})
    repo.write_stack(name, {"app": failing}, host=podman_engine.host,
                     health={"timeout": "15s"})
    applied = repo.bosun("apply")
    assert applied.exit_code != 0, applied.output
    assert (f"kept on host {docker_engine.host}: the deployment on host "
            f"{podman_engine.host} did not become healthy") in applied.output, applied.output
    assert _running(docker_engine, name), "the old deployment still serves"
    wait_for(lambda: bool(_running(podman_engine, name)), 10, "the failed one to be left")
    plan = repo.bosun("plan")
    assert f"the deployment on host {docker_engine.host} is kept" in plan.output, plan.output
    assert f"- Stack/{name}" not in plan.output


def test_a_host_dropped_from_the_repository_is_warned_about_not_forgotten(
        two_hosts: StackRepo, podman_engine: Engine) -> None:
    repo = two_hosts
    name = unique("hd")
    repo.write_stack(name, {"app": sleeper()}, host=podman_engine.host)
    assert repo.bosun("apply").exit_code == 0
    pod = repo.root / "pod.yaml"
    host_manifest = pod.read_text()

    # The Host and its stack leave the repository together: bosun can no
    # longer reach that engine, so it deletes nothing there and says so.
    pod.unlink()
    repo.remove_stack(name)
    plan = repo.bosun("plan")
    assert plan.exit_code == 0, plan.output
    assert "No changes." in plan.output, plan.output
    assert (f"Warning: Host/{podman_engine.host}: no Host manifest declares host "
            f"{podman_engine.host} any more, so bosun cannot read it: 1 stack(s) it "
            f"deployed there are left as they are ({name}); declare the Host again to have "
            "them removed") in plan.output, plan.output
    assert _running(podman_engine, name), "nothing is deleted where bosun cannot look"

    # Declared again, the host is read and the stack removed; the warning goes.
    pod.write_text(host_manifest)
    applied = repo.bosun("apply", "--allow-empty")
    assert applied.exit_code == 0, applied.output
    assert f"- Stack/{name}" in applied.output, applied.output
    assert _running(podman_engine, name) == []
    pod.unlink()
    again = repo.bosun("plan")
    assert "No changes." in again.output and "Warning" not in again.output, again.output


def test_forgetting_a_dropped_host_leaves_its_stacks_and_the_warning_goes(
        two_hosts: StackRepo, podman_engine: Engine) -> None:
    repo = two_hosts
    name = unique("hf")
    repo.write_stack(name, {"app": sleeper()}, host=podman_engine.host)
    assert repo.bosun("apply").exit_code == 0
    (repo.root / "pod.yaml").unlink()
    repo.remove_stack(name)
    assert f"Warning: Host/{podman_engine.host}" in repo.bosun("plan").output

    forgot = CliRunner().invoke(cli, ["forget", f"Host/{podman_engine.host}", "--state-dir",
                                      str(repo.state_dir)], catch_exceptions=False)
    assert forgot.exit_code == 0, forgot.output
    assert f"stack {name} on host {podman_engine.host}: left as it is" in forgot.output
    plan = repo.bosun("plan")
    assert "No changes." in plan.output and "Warning" not in plan.output, plan.output
    assert _running(podman_engine, name), "forgetting touches nothing on the engine"
