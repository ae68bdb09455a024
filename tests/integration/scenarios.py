"""The acceptance scenarios of the compose provider, run on each real engine.

Each function takes a fresh ``StackRepo`` on one engine and drives it through
``bosun plan`` / ``bosun apply``; the test modules call them per engine.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from providers.compose import ComposeProvider
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.status import HealthState
from reconciler.pipeline import Reconciler, load_desired
from reconciler.state import StateStore
from tests.integration.helpers import IMAGE, StackRepo, sleeper, unique, wait_for, web_service


def four_step(repo: StackRepo) -> None:
    name = unique()
    token = f"tok-{uuid.uuid4().hex}"
    variable = f"BOSUN_TEST_{uuid.uuid4().hex[:8].upper()}"
    repo.env[variable] = token
    repo.write_secret("api", {"token": variable})
    repo.write_stack(name, {"web": web_service(), "worker": sleeper(
        environment={"TOKEN": "${TOKEN}"})}, env={"TOKEN": {"secret": "api", "key": "token"}})
    first = repo.bosun("plan", "--detailed-exitcode")
    assert first.exit_code == 2, first.output
    assert f"+ Stack/{name}" in first.output
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in first.output

    applied = repo.bosun("apply")
    assert applied.exit_code == 0, applied.output
    assert f"Stack/{name} create applied" in applied.output
    running = repo.containers(name)
    assert sorted(running) == ["web", "worker"]
    assert all(d["State"]["Running"] for d in running.values())
    assert running["web"]["State"]["Health"]["Status"] == "healthy"
    labels = running["web"]["Config"]["Labels"]
    assert labels["bosun.owner"] == repo.owner
    assert labels["bosun.resource"] == f"Stack/{name}"
    assert labels["bosun.revision"] and labels["bosun.digest"].startswith("sha256:")
    network = repo.engine.client.inspect_network(f"{name}_default")
    assert network["Labels"]["bosun.owner"] == repo.owner

    # The secret reached the engine, and nothing bosun wrote or printed holds it.
    assert f"TOKEN={token}" in running["worker"]["Config"]["Env"]
    assert token not in first.output + applied.output
    for path in repo.state_dir.rglob("*"):
        if path.is_file():
            assert token not in path.read_text(errors="replace"), path

    before = repo.identity(name)
    second = repo.bosun("plan", "--detailed-exitcode")
    assert second.exit_code == 0, second.output
    assert "No changes." in second.output

    again = repo.bosun("apply")
    assert again.exit_code == 0, again.output
    assert "No changes." in again.output
    assert "Applying" not in again.output
    assert repo.identity(name) == before


def env_change_recreates_one_service(repo: StackRepo) -> None:
    name = unique()
    services = {"web": web_service(environment={"GREETING": "${GREETING}"}),
                "worker": sleeper(), "other": sleeper()}
    repo.write_stack(name, services, env={"GREETING": "hello"})
    assert repo.bosun("apply").exit_code == 0
    before = repo.identity(name)

    repo.write_stack(name, services, env={"GREETING": "bonjour"})
    plan = repo.bosun("plan")
    assert f"~ Stack/{name}" in plan.output, plan.output
    assert "recreate web" in plan.output
    assert "environment.GREETING" in plan.output
    assert "worker" not in plan.output.split("Plan:")[0].split(f"Stack/{name}")[1]
    applied = repo.bosun("apply")
    assert applied.exit_code == 0, applied.output
    after = repo.identity(name)
    assert after["web"][0] != before["web"][0]
    assert after["worker"] == before["worker"]
    assert after["other"] == before["other"]
    env = repo.containers(name)["web"]["Config"]["Env"]
    assert "GREETING=bonjour" in env
    assert "No changes." in repo.bosun("plan").output


def remove_keeps_volume(repo: StackRepo) -> None:
    name = unique()
    services = {"app": sleeper(volumes=["data:/data"])}
    repo.write_stack(name, services, volumes={"data": {}})
    assert repo.bosun("apply").exit_code == 0
    repo.exec(name, "app", ["sh", "-c", "echo kept > /data/marker"])

    repo.remove_stack(name)
    refused = repo.bosun("plan")
    assert refused.exit_code == 1
    assert "--allow-empty" in refused.output
    plan = repo.bosun("plan", "--allow-empty")
    assert f"- Stack/{name}" in plan.output, plan.output
    assert "removed from the repository" in plan.output
    assert f"kept: volumes {name}_data" in plan.output
    applied = repo.bosun("apply", "--allow-empty")
    assert applied.exit_code == 0, applied.output
    assert repo.containers(name) == {}
    assert repo.networks(name) == []
    assert repo.volumes(name) == [f"{name}_data"]

    repo.write_stack(name, services, volumes={"data": {}})
    back = repo.bosun("apply")
    assert back.exit_code == 0, back.output
    assert repo.exec(name, "app", ["cat", "/data/marker"]).strip() == "kept"
    assert "No changes." in repo.bosun("plan").output


def removed_container_comes_back(repo: StackRepo) -> None:
    name = unique()
    repo.write_stack(name, {"web": web_service(), "worker": sleeper()})
    assert repo.bosun("apply").exit_code == 0
    worker = repo.identity(name)["worker"]
    repo.engine.client.remove_container(repo.containers(name)["web"]["Id"], force=True)

    plan = repo.bosun("plan")
    assert "web: container missing" in plan.output, plan.output
    applied = repo.bosun("apply")
    assert applied.exit_code == 0, applied.output
    assert repo.containers(name)["web"]["State"]["Running"]
    assert repo.identity(name)["worker"] == worker
    assert "No changes." in repo.bosun("plan").output


def self_heal_off_only_reports(repo: StackRepo) -> None:
    name = unique()
    repo.write_stack(name, {"web": web_service(), "worker": sleeper()}, selfHeal=False)
    assert repo.bosun("apply").exit_code == 0
    repo.engine.client.remove_container(repo.containers(name)["worker"]["Id"], force=True)
    repo.engine.client.stop(repo.containers(name)["web"]["Id"], timeout=1)

    plan = repo.bosun("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert "No changes." in plan.output
    assert f"Stack/{name}: OutOfSync: service worker: container missing" in plan.output
    assert f"Stack/{name}: OutOfSync: service web: container" in plan.output
    applied = repo.bosun("apply")
    assert applied.exit_code == 0
    assert "worker" not in repo.containers(name)
    assert not repo.containers(name)["web"]["State"]["Running"]


def failed_revision_rolls_back(repo: StackRepo) -> None:
    name = unique()
    good = web_service(environment={"VERSION": "${VERSION}"})
    repo.write_stack(name, {"web": good}, env={"VERSION": "1"}, health={"timeout": "40s"})
    assert repo.bosun("apply").exit_code == 0
    old_id = repo.identity(name)["web"][0]

    bad = web_service(environment={"VERSION": "${VERSION}"})
    bad["healthcheck"] = {"test": ["CMD", "false"], "interval": "1s", "retries": 2,
                          "timeout": "2s"}
    repo.write_stack(name, {"web": bad}, env={"VERSION": "2"}, health={"timeout": "40s"})
    applied = repo.bosun("apply")
    assert applied.exit_code == 1, applied.output
    assert "rolled-back" in applied.output
    assert "did not become healthy" in applied.output
    web = repo.containers(name)["web"]
    assert web["Id"] != old_id
    assert "VERSION=1" in web["Config"]["Env"]
    wait_for(lambda: repo.containers(name)["web"]["State"]["Health"]["Status"] == "healthy",
             30, "the rolled-back service to be healthy")

    desired = load_desired(repo.root)
    store = StateStore(repo.state_dir)  # where the CLI keeps the stack records
    try:
        reconciler = Reconciler(state_dir=repo.state_dir, provider_names=["compose"], kv=store)
        ctx = reconciler.context(desired)
        provider = next(p for p in reconciler.providers if isinstance(p, ComposeProvider))
        health = provider.health(desired, provider.observe(desired, ctx), ctx)
    finally:
        store.close()
    status = health[ResourceRef(kind=Kind.STACK, name=name)]
    assert status.state is HealthState.DEGRADED
    assert status.reason == "RolledBack"
    assert "healthcheck failing" in status.message or "not healthy" in status.message

    # The failed revision is not retried until the stack changes; a new one is.
    plan = repo.bosun("plan")
    assert "No changes." in plan.output and "was rolled back" in plan.output
    repo.write_stack(name, {"web": good}, env={"VERSION": "3"}, health={"timeout": "40s"})
    assert repo.bosun("apply").exit_code == 0
    assert "VERSION=3" in repo.containers(name)["web"]["Config"]["Env"]


def dead_engine_plans_no_delete(repo: StackRepo, tmp_path: Path) -> None:
    name = unique()
    repo.write_stack(name, {"worker": sleeper()})
    assert repo.bosun("apply").exit_code == 0
    repo.write_host(url=f"unix://{tmp_path}/dead-{time.monotonic_ns()}.sock")
    plan = repo.bosun("plan")
    assert plan.exit_code == 1, plan.output
    assert f"Host/{repo.engine.host}" in plan.output
    assert "engine not reachable" in plan.output
    assert "- Stack/" not in plan.output
    # Even with the stack gone from the repository, a dead engine deletes nothing.
    repo.remove_stack(name)
    plan = repo.bosun("plan", "--allow-empty", "--force")
    assert plan.exit_code == 1, plan.output
    assert "- Stack/" not in plan.output
    applied = repo.bosun("apply", "--allow-empty", "--force")
    assert applied.exit_code == 1
    assert repo.containers(name)["worker"]["State"]["Running"]


def stopped_and_started(repo: StackRepo) -> None:
    name = unique()
    repo.write_stack(name, {"worker": sleeper()}, state="stopped")
    applied = repo.bosun("apply")
    assert applied.exit_code == 0, applied.output
    worker = repo.containers(name)["worker"]
    assert not worker["State"]["Running"]
    assert "No changes." in repo.bosun("plan").output

    repo.write_stack(name, {"worker": sleeper()}, state="running")
    plan = repo.bosun("plan")
    assert "start worker" in plan.output, plan.output
    assert repo.bosun("apply").exit_code == 0
    assert repo.containers(name)["worker"]["State"]["Running"]

    repo.write_stack(name, {"worker": sleeper()}, state="stopped")
    plan = repo.bosun("plan")
    assert "stop worker (state: stopped)" in plan.output, plan.output
    assert repo.bosun("apply").exit_code == 0
    assert not repo.containers(name)["worker"]["State"]["Running"]
    assert "No changes." in repo.bosun("plan").output


def absent_with_prune_removes_volumes(repo: StackRepo) -> None:
    name = unique()
    services = {"app": sleeper(volumes=["data:/data"])}
    repo.write_stack(name, services, volumes={"data": {}})
    assert repo.bosun("apply").exit_code == 0
    assert repo.volumes(name) == [f"{name}_data"]
    repo.write_stack(name, services, volumes={"data": {}}, state="absent",
                     prune={"volumes": True})
    plan = repo.bosun("plan")
    assert f"- Stack/{name}" in plan.output and "state: absent" in plan.output
    assert f"volume {name}_data (prune: volumes)" in plan.output
    assert repo.bosun("apply").exit_code == 0
    assert repo.containers(name) == {}
    assert repo.volumes(name) == []
    assert "No changes." in repo.bosun("plan").output


def builds_from_repository_context(repo: StackRepo) -> None:
    name = unique()
    context = repo.root / name / "app"
    context.mkdir(parents=True)
    (context / "Dockerfile").write_text(
        f"FROM {IMAGE}\nCOPY greeting.txt /greeting.txt\nCMD [\"sleep\", \"1000000\"]\n")
    (context / "greeting.txt").write_text("one\n")
    services = {"app": {"build": {"context": "./app"}, "image": f"bosun.local/{name}:1"}}
    repo.images.add(f"bosun.local/{name}:1")
    repo.write_stack(name, services)
    applied = repo.bosun("apply")
    assert applied.exit_code == 0, applied.output
    assert repo.exec(name, "app", ["cat", "/greeting.txt"]).strip() == "one"
    assert "No changes." in repo.bosun("plan").output

    (context / "greeting.txt").write_text("two\n")
    plan = repo.bosun("plan")
    assert "recreate app" in plan.output and "build context app changed" in plan.output, \
        plan.output
    assert repo.bosun("apply").exit_code == 0
    assert repo.exec(name, "app", ["cat", "/greeting.txt"]).strip() == "two"
    assert "No changes." in repo.bosun("plan").output
