"""``bosun serve`` against real Docker through the compose provider.

A bare repository as the remote, real webhooks over HTTP, real containers:
a push is applied, an outage keeps what runs, a SIGKILL in the middle of an
apply converges after a restart without duplicate containers, and a newer
revision supersedes one being applied. Every stack and owner name is unique
per test; what a test creates is removed by its owner label.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from reconciler.model.common import Kind, ResourceRef
from reconciler.model.status import HealthState, Sync
from reconciler.state import RunState, SourceState, StateStore
from tests.gitrepo import Repo
from tests.serving import base_url, running_service, wait_for
from tests.webhooks import dumps, gh_commit, github_headers, github_push

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SECRET = "s3cret"
BOSUN = Path(sys.executable).with_name("bosun")


@pytest.fixture
def api() -> Iterator[docker.APIClient]:
    client = docker.APIClient(base_url="unix:///var/run/docker.sock")
    yield client
    client.close()


@pytest.fixture
def owner(api: docker.APIClient) -> Iterator[str]:
    name = f"srv{secrets.token_hex(4)}"
    yield name
    for c in api.containers(all=True, filters={"label": [f"bosun.owner={name}"]}):
        api.remove_container(c["Id"], force=True)
    for n in api.networks(filters={"label": [f"bosun.owner={name}"]}):
        api.remove_network(n["Id"])


def repo_yaml(owner: str) -> str:
    return ("apiVersion: bosun/v1\nkind: Repository\nmetadata: {name: r}\n"
            f"spec: {{owner: {owner}}}\n")


def stack(name: str, version: str, slow: float = 0, depends: str | None = None) -> str:
    """One service; ``slow`` seconds before its healthcheck passes (apply waits for it)."""
    ready = f"sleep {slow}; " if slow else ""
    dep = f"\n  dependsOn: [{depends}]" if depends else ""
    return f"""\
apiVersion: bosun/v1
kind: Stack
metadata: {{name: {name}}}
spec:{dep}
  health: {{timeout: 60s}}
  compose:
    services:
      app:
        image: bosun.local/busybox:1
        command: [sh, -c, "{ready}touch /tmp/ready; exec sleep 3600"]
        environment: {{VERSION: "{version}"}}
        healthcheck:
          test: [CMD, test, -f, /tmp/ready]
          interval: 1s
          retries: 60
"""


def running(api: docker.APIClient, owner: str, stack_name: str) -> list[dict[str, Any]]:
    """Inspect of every container of one stack (any state)."""
    labels = [f"bosun.owner={owner}", f"com.docker.compose.project={stack_name}"]
    out = []
    for c in api.containers(all=True, filters={"label": labels}):
        try:
            out.append(api.inspect_container(c["Id"]))
        except docker.errors.NotFound:
            continue  # removed between the list and the inspect (a recreate)
    return out


def version_running(api: docker.APIClient, owner: str, stack_name: str) -> str | None:
    for c in running(api, owner, stack_name):
        if c["State"]["Running"]:
            for item in c["Config"].get("Env") or []:
                if item.startswith("VERSION="):
                    return str(item.split("=", 1)[1])
    return None


def webhook(url: str, repo: Repo, before: str, after: str) -> httpx.Response:
    body = dumps(github_push(f"refs/heads/{repo.branch}", before, after,
                             [gh_commit(after, "change", modified=["stacks.yaml"])]))
    return httpx.post(f"{url}/hooks/github", content=body,
                      headers=github_headers("push", body, SECRET.encode(), str(uuid.uuid4())),
                      timeout=10)


def test_github_webhook_applies_the_pushed_revision(tmp_path: Path, api: docker.APIClient,
                                                    owner: str) -> None:
    name = f"{owner}-web"
    repo = Repo(tmp_path / "repo")
    first = repo.commit({"bosun.yaml": repo_yaml(owner), "stacks.yaml": stack(name, "1")})
    state = tmp_path / "state"
    with running_service(state, str(repo.remote), providers=("compose",)) as service:
        store = service.app.state.store
        wait_for(lambda: version_running(api, owner, name) == "1", timeout=90,
                 what="the first revision running")
        wait_for(lambda: service.runtime.queue.idle(), timeout=60)
        second = repo.commit({"stacks.yaml": stack(name, "2")})
        answer = webhook(base_url(service), repo, first, second)
        assert answer.status_code == 202
        wait_for(lambda: version_running(api, owner, name) == "2", timeout=90,
                 what="the pushed revision running")
        wait_for(lambda: service.runtime.queue.idle(), timeout=60)
        assert len(running(api, owner, name)) == 1
        status = store.status(ResourceRef(kind=Kind.STACK, name=name))
        assert status.last_applied_revision == f"main@sha1:{second}"
        assert status.sync is Sync.SYNCED and status.health.state is HealthState.HEALTHY


def test_remote_gone_keeps_containers_and_catches_up(tmp_path: Path, api: docker.APIClient,
                                                     owner: str) -> None:
    name = f"{owner}-web"
    repo = Repo(tmp_path / "repo")
    first = repo.commit({"bosun.yaml": repo_yaml(owner), "stacks.yaml": stack(name, "1")})
    state = tmp_path / "state"
    with running_service(state, str(repo.remote), providers=("compose",),
                         interval=2.0) as service:
        store = service.app.state.store
        wait_for(lambda: version_running(api, owner, name) == "1", timeout=90)
        [container] = running(api, owner, name)
        repo.remote.rename(tmp_path / "hidden.git")
        assert webhook(base_url(service), repo, first, "e" * 40).status_code == 202
        wait_for(lambda: (s := store.source("repository")) is not None
                 and s.state is SourceState.FAILED, timeout=30, what="source failed")
        source = store.source("repository")
        assert source is not None and "cannot fetch" in source.message
        [still] = running(api, owner, name)
        assert still["Id"] == container["Id"] and still["State"]["Running"]
        (tmp_path / "hidden.git").rename(repo.remote)
        repo.commit({"stacks.yaml": stack(name, "2")})
        wait_for(lambda: version_running(api, owner, name) == "2", timeout=90,
                 what="caught up after the remote returned")


def test_sigkill_during_apply_converges_without_duplicates(tmp_path: Path,
                                                           api: docker.APIClient,
                                                           owner: str) -> None:
    names = [f"{owner}-a", f"{owner}-b"]
    repo = Repo(tmp_path / "repo")
    repo.commit({"bosun.yaml": repo_yaml(owner),
                 "stacks.yaml": stack(names[0], "1") + "---\n" + stack(names[1], "1")})
    state = tmp_path / "state"
    cmd = [str(BOSUN), "serve", "--repo", str(repo.remote), "--state-dir", str(state),
           "--listen", "127.0.0.1:0", "--interval", "2s", "--provider", "compose"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: all(version_running(api, owner, n) == "1" for n in names),
                 timeout=120, what="first revision running")
        slow = stack(names[0], "2", slow=4) + "---\n" + stack(names[1], "2", slow=4)
        repo.commit({"stacks.yaml": slow})
        store = StateStore(state)
        wait_for(lambda: bool(store.runs(5, RunState.APPLYING)), timeout=30, interval=0.05,
                 what="an apply in progress")
        time.sleep(1.0)  # compose is now creating containers for the new revision
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        applying = store.runs(5, RunState.APPLYING)
        assert applying, "the store says a run was applying when bosun died"
        store.close()
    finally:
        if proc.poll() is None:
            proc.kill()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: all(version_running(api, owner, n) == "2" for n in names),
                 timeout=120, what="converged after restart")
        store = StateStore(state)
        refs = [ResourceRef(kind=Kind.STACK, name=n) for n in names]
        wait_for(lambda: all((s := store.status(r)) is not None and s.sync is Sync.SYNCED
                             and s.health.state is HealthState.HEALTHY for r in refs),
                 timeout=60, what="statuses synced and healthy")
        runs = store.runs(50)
        assert any(r.state is RunState.INTERRUPTED for r in runs)
        assert any("interrupted" in e.message for e in store.events(200))
        for n in names:
            containers = running(api, owner, n)
            assert len(containers) == 1, [c["Name"] for c in containers]
            assert containers[0]["State"]["Running"]

        # SIGTERM in the middle of an apply: the change in flight finishes, the
        # rest is left for later, and the store says how the run ended.
        repo.commit({"stacks.yaml": stack(names[0], "3", slow=3) + "---\n"
                     + stack(names[1], "3", slow=3)})
        wait_for(lambda: bool(store.runs(5, RunState.APPLYING)), timeout=30, interval=0.05,
                 what="an apply in progress")
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    assert proc.returncode == 0
    assert not store.runs(20, RunState.APPLYING) and not store.runs(20, RunState.PLANNING)
    assert store.runs(1)[0].state in (RunState.STOPPED, RunState.SUCCEEDED)
    for n in names:
        assert len(running(api, owner, n)) == 1
    store.close()


def test_newer_revision_supersedes_one_being_applied(tmp_path: Path, api: docker.APIClient,
                                                     owner: str) -> None:
    first, second = f"{owner}-a", f"{owner}-b"
    repo = Repo(tmp_path / "repo")
    base = repo.commit({"bosun.yaml": repo_yaml(owner),
                        "stacks.yaml": stack(first, "1") + "---\n"
                        + stack(second, "1", depends=first)})
    state = tmp_path / "state"
    with running_service(state, str(repo.remote), providers=("compose",)) as service:
        store = service.app.state.store
        url = base_url(service)
        wait_for(lambda: version_running(api, owner, second) == "1", timeout=120)
        wait_for(lambda: service.runtime.queue.idle(), timeout=60)
        slow = repo.commit({"stacks.yaml": stack(first, "2", slow=5) + "---\n"
                            + stack(second, "2", depends=first)})
        assert webhook(url, repo, base, slow).status_code == 202
        wait_for(lambda: bool(store.runs(5, RunState.APPLYING)), timeout=30, interval=0.05)
        newest = repo.commit({"stacks.yaml": stack(first, "3") + "---\n"
                              + stack(second, "3", depends=first)})
        assert webhook(url, repo, slow, newest).status_code == 202
        wait_for(lambda: version_running(api, owner, second) == "3", timeout=120,
                 what="the newest revision applied")
        wait_for(lambda: service.runtime.queue.idle(), timeout=60)
        by_revision = {r.revision: r for r in store.runs(20) if r.trigger == "webhook"}
        superseded = by_revision[f"main@sha1:{slow}"]
        assert superseded.state is RunState.SUPERSEDED, superseded
        assert by_revision[f"main@sha1:{newest}"].state is RunState.SUCCEEDED
        history = store.history(ResourceRef(kind=Kind.STACK, name=second))
        assert all(h.revision != f"main@sha1:{slow}" or h.result == "skipped" for h in history)
