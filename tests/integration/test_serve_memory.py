"""``bosun serve`` against real Git remotes: webhooks, polls, outages, suspension.

Real bare repositories, real HTTP (uvicorn), the real runtime and state store;
the memory provider stands in for the engines (see test_serve_docker.py for
the same loop against Docker).
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from reconciler.model.common import Kind, ResourceRef
from reconciler.model.status import HealthState, Sync
from reconciler.state import RunState, SourceState
from tests.gitrepo import Repo
from tests.serving import base_url, running_service, wait_for
from tests.webhooks import dumps, gh_commit, github_headers, github_push

SECRET = "s3cret"
WEB = ResourceRef(kind=Kind.STACK, name="web")

BOSUN_YAML = """\
apiVersion: bosun/v1
kind: Repository
metadata: {name: repository}
spec: {owner: servetest}
"""


def stack(version: str, name: str = "web") -> str:
    return f"""\
apiVersion: bosun/v1
kind: Stack
metadata: {{name: {name}}}
spec:
  compose:
    services:
      app:
        image: bosun.local/busybox:1
        command: [sleep, "3600"]
        environment: {{VERSION: "{version}"}}
"""


def memory(state: Path) -> dict[str, Any]:
    path = state / "memory.json"
    return json.loads(path.read_text()) if path.exists() else {"objects": {}, "writes": 0}


def applied_version(state: Path, name: str = "web") -> str | None:
    obj = memory(state)["objects"].get(f"Stack/{name}")
    if obj is None:
        return None
    env = obj["spec"]["spec"]["compose"]["services"]["app"]["environment"]
    return str(env["VERSION"])


def push_webhook(url: str, repo: Repo, before: str, after: str, delivery: str | None = None,
                 secret: str = SECRET) -> httpx.Response:
    body = dumps(github_push(f"refs/heads/{repo.branch}", before, after,
                             [gh_commit(after, "change", modified=["web.yaml"])]))
    return httpx.post(f"{url}/hooks/github", content=body,
                      headers=github_headers("push", body, secret.encode(), delivery))


def test_webhook_applies_new_revision_and_refuses_bad_ones(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    first = repo.commit({"bosun.yaml": BOSUN_YAML, "web.yaml": stack("1")})
    state = tmp_path / "state"
    with running_service(state, str(repo.remote)) as service:
        url = base_url(service)
        store = service.app.state.store
        wait_for(lambda: applied_version(state) == "1", what="the first revision applied")
        wait_for(lambda: service.runtime.queue.idle(), what="start-up reconcile finished")
        status = store.status(WEB)
        assert status.last_applied_revision == f"main@sha1:{first}"
        assert status.sync is Sync.SYNCED and status.health.state is HealthState.HEALTHY

        second = repo.commit({"web.yaml": stack("2")})
        runs_before = len(store.runs(100))
        bad = push_webhook(url, repo, first, second, secret="wrong")
        assert bad.status_code == 401
        assert service.runtime.queue.idle() and not service.runtime.queue.waiting()
        assert len(store.runs(100)) == runs_before, "a refused webhook queues nothing"
        assert applied_version(state) == "1"

        delivery = str(uuid.uuid4())
        good = push_webhook(url, repo, first, second, delivery)
        assert good.status_code == 202 and good.json()["result"] == "accepted"
        wait_for(lambda: applied_version(state) == "2", what="the pushed revision applied")
        wait_for(lambda: service.runtime.queue.idle(), what="queue idle")
        assert store.status(WEB).last_applied_revision == f"main@sha1:{second}"
        runs_after = len(store.runs(100))
        replay = push_webhook(url, repo, first, second, delivery)
        assert replay.status_code == 200 and replay.json()["result"] == "duplicate"
        assert service.runtime.queue.idle()
        assert len(store.runs(100)) == runs_after, "a replayed delivery queues nothing"
        webhook_runs = [r for r in store.runs(100) if r.trigger == "webhook"]
        assert len(webhook_runs) == 1 and webhook_runs[0].state is RunState.SUCCEEDED


def test_a_burst_of_100_webhooks_is_at_most_2_reconciles(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    first = repo.commit({"bosun.yaml": BOSUN_YAML, "web.yaml": stack("1")})
    state = tmp_path / "state"
    with running_service(state, str(repo.remote)) as service:
        url = base_url(service)
        store = service.app.state.store
        wait_for(lambda: applied_version(state) == "1")
        wait_for(lambda: service.runtime.queue.idle())
        second = repo.commit({"web.yaml": stack("2")})
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda _: push_webhook(url, repo, first, second),
                                    range(100)))
        assert all(a.status_code == 202 for a in answers)
        wait_for(lambda: applied_version(state) == "2")
        wait_for(lambda: service.runtime.queue.idle())
        webhook_runs = [r for r in store.runs(200) if r.trigger == "webhook"]
        assert 1 <= len(webhook_runs) <= 2, webhook_runs


def test_poll_applies_a_push_within_one_interval(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.commit({"bosun.yaml": BOSUN_YAML, "web.yaml": stack("1")})
    state = tmp_path / "state"
    interval = 2.0
    with running_service(state, str(repo.remote), interval=interval) as service:
        wait_for(lambda: applied_version(state) == "1")
        for version in ("2", "3"):
            repo.commit({"web.yaml": stack(version)})
            # One interval, plus the time one reconcile takes.
            wait_for(lambda v=version: applied_version(state) == v,  # type: ignore[misc]
                     timeout=interval + 3, what=f"version {version} applied by a poll")
        assert {r.trigger for r in service.app.state.store.runs(50)} <= {"startup", "poll"}


def test_remote_gone_keeps_last_state_and_catches_up(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    first = repo.commit({"bosun.yaml": BOSUN_YAML, "web.yaml": stack("1"),
                         "other.yaml": stack("1", name="other")})
    state = tmp_path / "state"
    with running_service(state, str(repo.remote), interval=2.0) as service:
        store = service.app.state.store
        url = base_url(service)
        wait_for(lambda: applied_version(state) == "1")
        writes = memory(state)["writes"]
        hidden = tmp_path / "hidden.git"
        repo.remote.rename(hidden)
        assert push_webhook(url, repo, first, "e" * 40).status_code == 202
        wait_for(lambda: (s := store.source("repository")) is not None
                 and s.state is SourceState.FAILED, what="source failed")
        failed = store.source("repository")
        assert failed is not None
        assert "cannot fetch" in failed.message and "remote.git" in failed.message
        assert failed.revision == f"main@sha1:{first}", "the last good revision is kept"
        assert memory(state)["writes"] == writes, "nothing applied, nothing deleted"
        assert set(memory(state)["objects"]) == {"Stack/web", "Stack/other"}
        assert any("cannot read the source" in e.message for e in store.events(50))

        hidden.rename(repo.remote)
        second = repo.commit({"web.yaml": stack("2"), "other.yaml": None})
        wait_for(lambda: applied_version(state) == "2", timeout=15, what="catch up")
        wait_for(lambda: "Stack/other" not in memory(state)["objects"], what="delete applied")
        source = store.source("repository")
        assert source.state is SourceState.OK and source.revision == f"main@sha1:{second}"


def test_suspend_plans_but_does_not_apply(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from reconciler.cli import cli

    repo = Repo(tmp_path / "repo")
    repo.commit({"bosun.yaml": BOSUN_YAML, "web.yaml": stack("1")})
    state = tmp_path / "state"
    with running_service(state, str(repo.remote), interval=1.0) as service:
        store = service.app.state.store
        wait_for(lambda: applied_version(state) == "1")
        runner = CliRunner()
        result = runner.invoke(cli, ["suspend", "web", "--state-dir", str(state),
                                     "--reason", "maintenance"])
        assert result.exit_code == 0, result.output
        repo.commit({"web.yaml": stack("2")})
        wait_for(lambda: (s := store.status(WEB)) is not None
                 and s.health.state is HealthState.SUSPENDED
                 and s.sync is Sync.OUT_OF_SYNC, what="suspended and out of sync")
        assert applied_version(state) == "1"
        assert "suspended" in store.runs(1)[0].summary
        shown = runner.invoke(cli, ["status", "--state-dir", str(state)])
        assert "Stack/web" in shown.output and "Suspended" in shown.output
        assert runner.invoke(cli, ["resume", "Stack/web", "--state-dir",
                                   str(state)]).exit_code == 0
        wait_for(lambda: applied_version(state) == "2", what="applied after resume")
        wait_for(lambda: (s := store.status(WEB)) is not None
                 and s.health.state is HealthState.HEALTHY)


def test_local_mode_reconciles_after_a_save(tmp_path: Path) -> None:
    from reconciler.source import LocalSource

    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "bosun.yaml").write_text(BOSUN_YAML)
    (folder / "web.yaml").write_text(stack("1"))
    state = folder / ".bosun"
    with running_service(state, LocalSource(folder), watch=folder) as service:
        wait_for(lambda: applied_version(state) == "1")
        wait_for(lambda: service.runtime.queue.idle())
        before = len(service.app.state.store.runs(100))
        (folder / "web.yaml").write_text(stack("2"))
        wait_for(lambda: applied_version(state) == "2", timeout=10, what="applied after save")
        wait_for(lambda: service.runtime.queue.idle())
        runs = service.app.state.store.runs(100)
        assert runs[0].trigger == "watch"
        # The state folder lives inside the watched folder: its writes trigger nothing.
        assert len(runs) - before <= 2
