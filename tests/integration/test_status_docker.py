"""Status against real Docker (compose provider): the status branch, the API, no leaks.

Two stacks on the local Docker engine, one running and one declared stopped;
after reconciles, the status branch (read with pygit2) holds one file per
resource with the right sync and health, gets no commit for a reconcile that
changed nothing, and one saying what changed when a stack stops. The secret
value handed to a container appears in no API answer, page, metric, status
commit or file of the state folder (SQLite rows included). Every stack and
owner name is unique per test; what the test creates is removed by its owner
label.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest

from reconciler.status.files import read_status_file
from tests.gitrepo import Repo
from tests.integration.test_status_memory import branch_commits, branch_files, reconcile
from tests.secretscan import leaks
from tests.serving import wait_for
from tests.statusserving import serve_status

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SECRET_ENV = "BOSUN_TEST_STATUS_DB_PASSWORD"


@pytest.fixture
def owner() -> Iterator[str]:
    name = f"sts{secrets.token_hex(4)}"
    yield name
    api = docker.APIClient(base_url="unix:///var/run/docker.sock")
    try:
        for c in api.containers(all=True, filters={"label": [f"bosun.owner={name}"]}):
            api.remove_container(c["Id"], force=True)
        for n in api.networks(filters={"label": [f"bosun.owner={name}"]}):
            api.remove_network(n["Id"])
    finally:
        api.close()


def manifests(owner: str, worker_state: str) -> dict[str, str]:
    return {
        "bosun.yaml": ("apiVersion: bosun/v1\nkind: Repository\nmetadata: {name: r}\n"
                       f"spec: {{owner: {owner}}}\n"),
        "stacks.yaml": f"""\
apiVersion: bosun/v1
kind: Stack
metadata: {{name: {owner}-web}}
spec:
  health: {{timeout: 60s}}
  env:
    DB_PASSWORD: {{secret: db, key: password}}
  compose:
    services:
      app:
        image: bosun.local/busybox:1
        command: [sh, -c, "exec sleep 3600"]
        environment: {{DB_PASSWORD: "${{DB_PASSWORD}}"}}
---
apiVersion: bosun/v1
kind: Stack
metadata: {{name: {owner}-worker}}
spec:
  state: {worker_state}
  health: {{timeout: 60s}}
  compose:
    services:
      job:
        image: bosun.local/busybox:1
        command: [sh, -c, "exec sleep 3600"]
---
apiVersion: bosun/v1
kind: Secret
metadata: {{name: db}}
spec:
  from: env
  keys: {{password: {SECRET_ENV}}}
""",
    }


def test_status_branch_and_api_against_docker(tmp_path: Path, owner: str) -> None:
    value = f"pw-{uuid.uuid4().hex}"
    repo = Repo(tmp_path / "repo")
    repo.commit(manifests(owner, "running"))
    web, worker = f"{owner}-web", f"{owner}-worker"
    with serve_status(tmp_path / "state", str(repo.remote), providers=("compose",),
                      environ={SECRET_ENV: value}) as served:
        wait_for(lambda: served.runtime.results(), timeout=120, what="the first reconcile")
        served.settle(120)
        files = branch_files(repo.remote)
        for name in (web, worker):
            body = read_status_file(files[f"status/agent-a/Stack/{name}.yaml"])
            assert (body["sync"], body["health"]) == ("Synced", "Healthy"), body
        assert sorted(p for p in files if p.endswith(".yaml")) == [
            f"status/agent-a/Stack/{web}.yaml", f"status/agent-a/Stack/{worker}.yaml"]

        # Nothing changed in Git or on the engine: no commit.
        before = len(branch_commits(repo.remote))
        reconcile(served)
        reconcile(served)
        assert len(branch_commits(repo.remote)) == before

        # The worker is declared stopped: one commit that says so.
        sha = repo.commit(manifests(owner, "stopped"))
        reconcile(served)
        wait_for(lambda: read_status_file(branch_files(repo.remote)[
            f"status/agent-a/Stack/{worker}.yaml"]).get("health") == "Suspended",
            timeout=60, what="the worker recorded as stopped")
        subjects = [c.message.splitlines()[0] for c in branch_commits(repo.remote)]
        assert f"{worker}: Healthy -> Suspended at {sha[:7]}" in subjects, subjects
        files = branch_files(repo.remote)
        assert read_status_file(files[f"status/agent-a/Stack/{web}.yaml"])["health"] == \
            "Healthy"

        api = httpx.get(f"{served.url}/api/v1/resources").json()
        health = {r["name"]: r["health"] for r in api["items"]}
        assert health == {web: "Healthy", worker: "Suspended"}

        # The secret went to the container, and nowhere else bosun writes.
        outputs = [httpx.get(served.url + path).text for path in (
            "/api/v1/status", f"/api/v1/resources/Stack/{web}", "/api/v1/plans",
            "/api/v1/plan", "/api/v1/events?limit=500", "/api/v1/runs", "/metrics", "/",
            f"/resources/Stack/{web}", f"/resources/Stack/{web}?lang=zh", "/plan", "/events")]
    client = docker.APIClient(base_url="unix:///var/run/docker.sock")
    try:
        containers = client.containers(filters={"label": [f"bosun.owner={owner}",
                                                          f"com.docker.compose.project={web}"]})
        env = client.inspect_container(containers[0]["Id"])["Config"]["Env"]
        assert f"DB_PASSWORD={value}" in env  # it really was used
    finally:
        client.close()
    for text in outputs:
        assert value not in text
    for commit in branch_commits(repo.remote):
        assert value not in commit.message
    for data in branch_files(repo.remote).values():
        assert value.encode() not in data
    # Nor anything bosun keeps: state.db rows, the stack records (kv), the
    # render cache, the status clone; they are served again after a restart.
    found = leaks(tmp_path / "state", value)
    assert not found, "\n".join(found)
