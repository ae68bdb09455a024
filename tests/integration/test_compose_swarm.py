"""Stacks on a one-node Docker swarm (``Host.mode: swarm``): the four steps and a removal.

The swarm fixture joins the local dockerd to a one-node swarm when it is not
one already, and leaves it afterwards. Ports are published with ``mode: host``
(the routing mesh does not work on these machines).
"""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.helpers import Engine, StackRepo, unique, wait_for, web_service

pytestmark = [pytest.mark.docker, pytest.mark.slow]

MakeRepo = Callable[[Engine], StackRepo]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def services(repo: StackRepo, stack: str) -> dict[str, dict[str, Any]]:
    found = repo.engine.client.services(  # type: ignore[no-untyped-call]
        filters={"label": f"com.docker.stack.namespace={stack}"})
    return {s["Spec"]["Name"].removeprefix(f"{stack}_"): s for s in found}


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
            return bool(resp.read().decode().startswith("bosun busybox ok"))
    except OSError:
        return False


def test_four_step_on_swarm(swarm_engine: Engine, make_repo: MakeRepo) -> None:
    repo = make_repo(swarm_engine)
    name = unique()
    port = free_port()
    web = web_service(ports=[{"target": 80, "published": port, "mode": "host",
                              "protocol": "tcp"}])
    repo.write_stack(name, {"web": web}, health={"timeout": "90s"})
    try:
        first = repo.bosun("plan", "--detailed-exitcode")
        assert first.exit_code == 2, first.output
        assert f"+ Stack/{name}" in first.output

        applied = repo.bosun("apply")
        assert applied.exit_code == 0, applied.output
        found = services(repo, name)
        assert sorted(found) == ["web"]
        labels = found["web"]["Spec"]["Labels"]
        assert labels["bosun.owner"] == repo.owner
        assert labels["bosun.resource"] == f"Stack/{name}"
        wait_for(lambda: answers(port), 30, "the swarm service to answer on its host port")

        second = repo.bosun("plan", "--detailed-exitcode")
        assert second.exit_code == 0, second.output
        assert "No changes." in second.output
        version = found["web"]["Version"]["Index"]
        again = repo.bosun("apply")
        assert again.exit_code == 0 and "No changes." in again.output
        assert services(repo, name)["web"]["Version"]["Index"] == version

        repo.remove_stack(name)
        gone = repo.bosun("apply", "--allow-empty")
        assert gone.exit_code == 0, gone.output
        assert f"Stack/{name} delete applied" in gone.output
        assert services(repo, name) == {}
    finally:
        repo.stacks.discard(name)
        _stack_rm(repo, name)


def _stack_rm(repo: StackRepo, name: str) -> None:
    import subprocess

    subprocess.run(["docker", "stack", "rm", name], capture_output=True, check=False,
                   env={"PATH": "/usr/local/bin:/usr/bin:/bin", "DOCKER_HOST": repo.engine.url})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and repo.engine.client.networks(
            filters={"label": f"com.docker.stack.namespace={name}"}):
        time.sleep(0.5)
