"""Status end to end with the memory provider: store, status branch, API, metrics.

Real bare Git remotes, real HTTP (uvicorn), the real runtime, state store and
status recorder; the memory provider stands in for the engines (the same
loop against Docker is test_status_docker.py).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pygit2
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.status.files import read_status_file
from tests.gitrepo import Repo
from tests.serving import wait_for
from tests.statusserving import Served, serve_status


def repository(owner: str) -> str:
    return f"""\
apiVersion: bosun/v1
kind: Repository
metadata: {{name: repository}}
spec: {{owner: {owner}, statusBranch: bosun-status}}
"""


def stack(name: str, version: str) -> str:
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
        ports: ["8080:80"]
        environment: {{VERSION: "{version}"}}
"""


ROUTE = """\
apiVersion: bosun/v1
kind: Route
metadata: {name: web}
spec:
  gateway: edge
  hosts: [web.example.test]
  to: {stack: web, service: app, port: 80}
---
apiVersion: bosun/v1
kind: Gateway
metadata: {name: edge}
spec: {}
"""


def branch_commits(remote: Path) -> list[pygit2.Commit]:
    repo = pygit2.Repository(str(remote))
    try:
        tip = repo.references["refs/heads/bosun-status"].target
    except KeyError:
        return []
    return list(repo.walk(tip))


def branch_files(remote: Path) -> dict[str, bytes]:
    repo = pygit2.Repository(str(remote))
    tree = repo.references["refs/heads/bosun-status"].peel(pygit2.Commit).tree
    out: dict[str, bytes] = {}

    def walk(t: pygit2.Tree, base: str) -> None:
        for entry in t:
            obj = repo[entry.id]
            if isinstance(obj, pygit2.Tree):
                walk(obj, f"{base}{entry.name}/")
            elif isinstance(obj, pygit2.Blob):
                out[f"{base}{entry.name}"] = obj.data

    walk(tree, "")
    return out


def reconcile(served: Served, token: str = "api-token") -> None:
    answer = httpx.post(f"{served.url}/api/v1/reconcile",
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 202, answer.text
    wait_for(lambda: not served.runtime.queue.idle() or served.runtime.results(), timeout=5)
    served.settle()


def test_status_branch_api_and_metrics(tmp_path: Path) -> None:
    owner = f"st{uuid.uuid4().hex[:8]}"
    repo = Repo(tmp_path / "repo")
    repo.commit({"bosun.yaml": repository(owner), "web.yaml": stack("web", "1"),
                 "api.yaml": stack("api", "1"), "route.yaml": ROUTE})
    with serve_status(tmp_path / "state", str(repo.remote)) as served:
        wait_for(lambda: served.runtime.results(), what="the start-up reconcile")
        served.settle()
        url = served.url

        # -- the API: list, filters, detail --------------------------------------
        listed = httpx.get(f"{url}/api/v1/resources").json()
        names = {(r["kind"], r["name"]): r for r in listed["items"]}
        assert set(names) == {("Stack", "web"), ("Stack", "api"), ("Route", "web"),
                              ("Gateway", "edge")}
        assert all(r["sync"] == "Synced" and r["health"] == "Healthy" for r in names.values())
        assert httpx.get(f"{url}/api/v1/resources?kind=Route").json()["total"] == 1
        assert httpx.get(f"{url}/api/v1/resources?health=Degraded").json()["total"] == 0
        detail = httpx.get(f"{url}/api/v1/resources/Stack/web").json()
        conditions = {c["type"]: c for c in detail["status"]["conditions"]}
        assert conditions["Ready"]["status"] is True
        assert conditions["Reconciling"]["status"] is False
        services = detail["status"]["details"]["services"]
        assert services[0]["name"] == "app" and services[0]["ports"] == ["8080:80"]
        assert detail["last_change"]["change"]["action"] == "create"
        route = httpx.get(f"{url}/api/v1/resources/Route/web").json()
        assert route["status"]["details"]["hosts"] == ["web.example.test"]
        assert route["status"]["details"]["upstreams"][0]["address"] == "web/app:80"
        assert httpx.get(f"{url}/api/v1/plan").json()["summary"]["create"] == 4
        assert len(httpx.get(f"{url}/api/v1/resources/Stack/web/history").json()["items"]) == 1

        # -- errors have one shape ----------------------------------------------
        missing = httpx.get(f"{url}/api/v1/resources/Stack/nope")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        assert httpx.get(f"{url}/api/v1/nowhere").json()["error"]["code"] == "not_found"
        wrong = httpx.delete(f"{url}/api/v1/resources")
        assert wrong.status_code == 405 and wrong.json()["error"]["code"] == \
            "method_not_allowed"
        assert "GET" in wrong.headers["allow"]
        bad = httpx.get(f"{url}/api/v1/events?limit=zero")
        assert bad.status_code == 400 and "limit" in bad.json()["error"]["message"]
        refused = httpx.post(f"{url}/api/v1/reconcile", headers={"Authorization": "Bearer no"})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
        assert httpx.post(f"{url}/api/v1/reconcile").status_code == 401

        # -- the status branch: one file per resource, right sync and health ------
        files = branch_files(repo.remote)
        yaml_files = sorted(p for p in files if p.endswith(".yaml"))
        assert yaml_files == ["status/agent-a/Gateway/edge.yaml", "status/agent-a/Route/web.yaml",
                              "status/agent-a/Stack/api.yaml", "status/agent-a/Stack/web.yaml"]
        for path in yaml_files:
            body = read_status_file(files[path])
            assert (body["sync"], body["health"]) == ("Synced", "Healthy"), path
        assert "| agent-a | Stack/web | Synced | Healthy |" in files["STATUS.md"].decode()
        first = len(branch_commits(repo.remote))
        assert first >= 1

        # -- a reconcile that changes nothing: no commit ------------------------------
        runs = len(served.runtime.results())
        reconcile(served)
        assert len(served.runtime.results()) == runs + 1
        assert len(branch_commits(repo.remote)) == first

        # -- a change: one commit that says what changed -------------------------------
        sha = repo.commit({"web.yaml": stack("web", "2")})
        reconcile(served)
        history = branch_commits(repo.remote)
        assert len(history) == first + 1
        subject = history[0].message.splitlines()[0]
        assert subject == f"web: Healthy, applied at {sha[:7]}", subject
        body = read_status_file(branch_files(repo.remote)["status/agent-a/Stack/web.yaml"])
        assert body["lastAppliedRevision"].endswith(sha)
        reconciling = next(c for c in body["conditions"] if c["type"] == "Reconciling")
        assert reconciling["status"] == "False"

        # -- metrics ----------------------------------------------------------------
        text = httpx.get(f"{url}/metrics").text
        assert 'bosun_resource_info{health="Healthy",kind="Stack",name="web",sync="Synced"} ' \
               '1.0' in text
        for name in ("bosun_reconcile_duration_seconds", "bosun_apply_total",
                     "bosun_source_fetch_duration_seconds", "bosun_webhook_requests_total",
                     "bosun_drift_total"):
            assert name in text, name
        assert 'bosun_apply_total{kind="Stack",result="applied"}' in text

        # -- bosun status: the same data from the API and from the state folder ------
        runner = CliRunner()
        from_api = runner.invoke(cli, ["status", "--api", url, "-o", "json"])
        from_store = runner.invoke(cli, ["status", "--state-dir", str(tmp_path / "state"),
                                         "-o", "json"])
        assert from_api.exit_code == 0 and from_store.exit_code == 0, from_api.output
        assert json.loads(from_api.output) == json.loads(from_store.output)
        text_view = runner.invoke(cli, ["status", "--api", url])
        assert "4 resources: 4 Synced; 4 Healthy" in text_view.output
        assert "Stack/web" in text_view.output
        unreachable = runner.invoke(cli, ["status", "--api", "http://127.0.0.1:9/"])
        assert unreachable.exit_code != 0 and "cannot reach bosun" in unreachable.output
