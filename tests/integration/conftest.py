"""Fixtures for tests against real engines: Docker, Podman, a one-node swarm.

``make test`` starts the engines (``scripts/engines.sh all``) before pytest.
These fixtures make sure they answer, start them through the same script when
they do not, and fail loudly when they cannot: an engine test is never skipped.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
import requests.exceptions

from tests.integration.helpers import IMAGE, Engine, StackRepo, unique

ROOT = Path(__file__).resolve().parents[2]
ENGINES_SH = ROOT / "scripts" / "engines.sh"
DOCKER_URL = "unix:///var/run/docker.sock"
PODMAN_URL = "unix:///run/podman/podman.sock"


def _client(url: str) -> docker.APIClient | None:
    try:
        client = docker.APIClient(base_url=url, version="auto", timeout=30)
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError):
        return None
    try:
        client.ping()
        return client
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError):
        client.close()
        return None


def _engines_sh(*args: str) -> str:
    if not ENGINES_SH.is_file():
        return f"{ENGINES_SH} is missing"
    out = subprocess.run(["bash", str(ENGINES_SH), *args], capture_output=True, text=True,
                         timeout=600, check=False)
    return out.stderr[-2000:] + out.stdout[-1000:]


def _ensure(url: str, start: str, name: str) -> docker.APIClient:
    client = _client(url)
    log = ""
    if client is None:
        log = _engines_sh(start)
        client = _client(url)
    if client is None:
        pytest.fail(f"{name} does not answer at {url} and `scripts/engines.sh {start}` "
                    f"did not start it:\n{log}", pytrace=False)
    try:
        client.inspect_image(IMAGE)  # type: ignore[no-untyped-call]
    except docker.errors.ImageNotFound:
        log = _engines_sh("images")
        try:
            client.inspect_image(IMAGE)  # type: ignore[no-untyped-call]
        except docker.errors.ImageNotFound:
            pytest.fail(f"{IMAGE} is missing on {name} and `scripts/engines.sh images` "
                        f"did not build it:\n{log}", pytrace=False)
    return client


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Engine]:
    client = _ensure(DOCKER_URL, "start-docker", "dockerd")
    yield Engine(name="docker", host="dock", url=DOCKER_URL, client=client)
    client.close()


@pytest.fixture(scope="session")
def podman_engine() -> Iterator[Engine]:
    # Always through the script: it also keeps the healthcheck loop running
    # that Podman needs without systemd (ENGINE-NOTES, trap 3).
    _engines_sh("start-podman")
    client = _ensure(PODMAN_URL, "start-podman", "podman")
    yield Engine(name="podman", host="pod", url=PODMAN_URL, client=client)
    client.close()


@pytest.fixture(scope="session")
def swarm_engine(docker_engine: Engine) -> Iterator[Engine]:
    """The Docker engine as a one-node swarm; left again only if this fixture joined it."""
    client = docker_engine.client
    joined = False
    if client.info()["Swarm"]["LocalNodeState"] != "active":
        log = _engines_sh("swarm")
        if client.info()["Swarm"]["LocalNodeState"] != "active":
            pytest.fail(f"could not init a one-node swarm:\n{log}", pytrace=False)
        joined = True
    yield Engine(name="docker", host="swarm", url=DOCKER_URL, client=client, mode="swarm")
    if joined and not os.environ.get("BOSUN_KEEP_SWARM"):
        _engines_sh("swarm-leave")


@pytest.fixture
def make_repo(tmp_path: Path) -> Iterator[object]:
    repos: list[StackRepo] = []

    def factory(engine: Engine) -> StackRepo:
        repo = StackRepo(tmp_path / f"repo{len(repos)}", engine, owner=unique("own"))
        repos.append(repo)
        return repo

    yield factory
    for repo in repos:
        repo.cleanup()
