"""Policies and saved plans with the compose provider on the real Docker engine.

An enforced violation leaves the engine untouched; a rule judges the model
``docker compose config`` renders, not only the files as written; a saved
plan applies exactly once and is stale afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from tests.integration.helpers import IMAGE, Engine, StackRepo, sleeper

pytestmark = [pytest.mark.docker, pytest.mark.slow]

MakeRepo = Callable[[Engine], StackRepo]
CHECK = {"test": ["CMD", "true"], "interval": "1s", "timeout": "2s", "retries": 3}


def test_an_enforced_violation_is_never_applied(docker_engine: Engine,
                                                make_repo: MakeRepo) -> None:
    repo = make_repo(docker_engine)
    ok, bad = f"{repo.owner}-ok", f"{repo.owner}-bad"
    repo.write_stack(ok, {"app": sleeper(healthcheck=CHECK)})
    repo.write_stack(bad, {"app": sleeper(healthcheck=CHECK, privileged=True)})
    result = repo.bosun("apply")
    assert result.exit_code == 1, result.output
    assert f"Error: policy BOSUN-S001: Stack/{bad} compose.services.app" in result.output
    assert "Not applied: enforced policy violations." in result.output
    assert repo.containers(ok) == {} and repo.containers(bad) == {}
    assert repo.networks(ok) == [] and repo.networks(bad) == []


def test_the_rendered_model_is_judged(docker_engine: Engine, make_repo: MakeRepo) -> None:
    repo = make_repo(docker_engine)
    name = f"{repo.owner}-env"
    # As written, privileged is "${PRIV}"; Compose interpolates it to true.
    repo.write_stack(name, {"app": sleeper(healthcheck=CHECK, privileged="${PRIV}")},
                     env={"PRIV": "true"})
    as_written = CliRunner().invoke(cli, ["validate", str(repo.root)])
    assert as_written.exit_code == 0, as_written.output
    planned = repo.bosun("plan")
    assert planned.exit_code == 1, planned.output
    assert f"Error: policy BOSUN-S001: Stack/{name} compose.services.app" in planned.output
    assert f"{name}/compose.yaml:" in planned.output
    applied = repo.bosun("apply")
    assert applied.exit_code == 1
    assert repo.containers(name) == {}


def test_a_saved_plan_applies_once_then_is_stale(docker_engine: Engine, make_repo: MakeRepo,
                                                 tmp_path: Path) -> None:
    repo = make_repo(docker_engine)
    name = f"{repo.owner}-saved"
    repo.write_stack(name, {"app": sleeper(healthcheck=CHECK)})
    saved = tmp_path / "plan.json"
    planned = repo.bosun("plan", "--out", str(saved))
    assert planned.exit_code == 0, planned.output
    assert f"+ Stack/{name}" in planned.output
    applied = repo.bosun("apply", "--plan", str(saved))
    assert applied.exit_code == 0, applied.output
    assert set(repo.containers(name)) == {"app"}
    again = repo.bosun("apply", "--plan", str(saved))
    assert again.exit_code == 1
    assert "stale plan: the running state changed" in again.output
    assert set(repo.containers(name)) == {"app"}

    # against running containers, a plan made now is still fresh when applied
    before = repo.identity(name)
    repo.write_stack(name, {"app": sleeper(healthcheck=CHECK, environment={"V": "2"})})
    fresh = tmp_path / "fresh.json"
    changed = repo.bosun("plan", "--out", str(fresh))
    assert changed.exit_code == 0 and f"~ Stack/{name}" in changed.output, changed.output
    second = repo.bosun("apply", "--plan", str(fresh))
    assert second.exit_code == 0, second.output
    assert repo.identity(name) != before
    assert repo.containers(name)["app"]["Config"]["Env"].count("V=2") == 1


def test_a_saved_plan_outlives_uptimes_and_other_projects(
        docker_engine: Engine, make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo(docker_engine)
    name = f"{repo.owner}-wait"
    repo.write_stack(name, {"app": sleeper()})
    assert repo.bosun("apply").exit_code == 0
    repo.write_stack(name, {"app": sleeper(environment={"V": "2"})})
    saved = tmp_path / "plan.json"
    assert repo.bosun("plan", "--out", str(saved)).exit_code == 0
    # While the plan waits for review: uptimes tick ("Up 2 seconds" -> "Up 4
    # seconds") and someone else starts a project on the same host.
    client = docker_engine.client
    other = client.create_container(IMAGE, command=["sleep", "600"],
                                    labels={"com.docker.compose.project": f"{name}-other",
                                            "com.docker.compose.service": "x"})["Id"]
    try:
        client.start(other)
        time.sleep(2.5)
        applied = repo.bosun("apply", "--plan", str(saved))
        assert applied.exit_code == 0, applied.output
        assert repo.containers(name)["app"]["Config"]["Env"].count("V=2") == 1
        # A change of what the plan rests on still makes it stale.
        repo.write_stack(name, {"app": sleeper(environment={"V": "3"})})
        assert repo.bosun("plan", "--out", str(saved)).exit_code == 0
        for c in client.containers(filters={"label": f"com.docker.compose.project={name}"}):
            client.remove_container(c["Id"], force=True)
        stale = repo.bosun("apply", "--plan", str(saved))
        assert stale.exit_code == 1, stale.output
        assert "stale plan: the running state changed" in stale.output
    finally:
        client.remove_container(other, force=True)
