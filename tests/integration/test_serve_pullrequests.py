"""``bosun serve`` as change control: pull request webhooks in, comments and statuses out.

Real bare Git remotes (with the refs GitHub and GitLab keep for pull
requests), the real runtime and webhook receivers over HTTP, the stored
payloads of tests/cases/forge/, and the local forge server for GitHub's and
GitLab's REST APIs; the memory provider stands in for the engines.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from reconciler.changecontrol import ChangeControl
from reconciler.runtime import ReconcileRequest, Runtime, Trigger
from tests import forge_payloads
from tests.forge_server import ForgeState, running
from tests.gitrepo import Repo, git
from tests.serving import base_url, running_service, wait_for
from tests.webhooks import dumps, gh_commit, github_headers, github_push, gitlab_headers

SECRET = "s3cret"
GH_TOKEN = "ghp-test-token-0001"
GL_TOKEN = "glpat-test-token-0001"
ENV = {"BOSUN_GITHUB_TOKEN": GH_TOKEN, "BOSUN_GITLAB_TOKEN": GL_TOKEN}

HELLO = """\
apiVersion: bosun/v1
kind: Stack
metadata: {name: hello}
spec:
  compose:
    services:
      web:
        image: bosun.local/busybox:1
        command: [sleep, "3600"]
        healthcheck: {test: [CMD, "true"]}
"""


def blog(extra: str = "") -> str:
    return HELLO.replace("name: hello", "name: blog") + extra


def bosun_yaml(forge: str) -> str:
    return f"""\
apiVersion: bosun/v1
kind: Repository
metadata: {{name: repository}}
spec:
  owner: prtest
  forge: {forge}
"""


def memory(state: Path) -> dict[str, Any]:
    path = state / "memory.json"
    return json.loads(path.read_text()) if path.exists() else {"objects": {}, "writes": 0}


def pull_ref(repo: Repo, ref: str, sha: str) -> None:
    """What the forge does on every push to a pull request: move its head ref."""
    git(repo.base, "--git-dir", str(repo.remote), "update-ref", ref, sha)


def post_github(url: str, event: str, payload: dict[str, Any]) -> None:
    body = dumps(payload)
    response = httpx.post(f"{url}/hooks/github", content=body,
                          headers=github_headers(event, body, SECRET.encode()))
    assert response.status_code == 202, response.text


def post_gitlab(url: str, payload: dict[str, Any]) -> None:
    response = httpx.post(f"{url}/hooks/gitlab", content=dumps(payload),
                          headers=gitlab_headers("Merge Request Hook", SECRET))
    assert response.status_code == 202, response.text


def states(forge: ForgeState, project: str, sha: str, context: str) -> list[str]:
    return [s for c, s in forge.status_states(project, sha) if c == context]


def install(runtime: Runtime) -> None:
    ChangeControl(runtime, environ=ENV, health_interval=0.05).install()


def test_github_pull_request_planned_commented_then_applied(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running() as (forge_url, forge):
        repo = Repo(tmp_path / "repo")
        first = repo.commit({
            "bosun.yaml": bosun_yaml(f"{{type: github, project: acme/infra, api: '{forge_url}'}}"),
            "stacks/hello.yaml": HELLO,
        })
        with running_service(state, str(repo.remote), setup=install) as service:
            url = base_url(service)
            wait_for(lambda: states(forge, "acme/infra", first, "bosun/apply")
                     == ["pending", "success"], what="bosun/apply on the first revision")

            git(repo.work, "checkout", "-q", "-b", "blog-stack")
            head = repo.commit({"stacks/blog.yaml": blog()}, "a blog", branch="blog-stack")
            pull_ref(repo, "refs/pull/12/head", head)
            post_github(url, "pull_request",
                        forge_payloads.github("opened", forge_url, first, head))
            wait_for(lambda: states(forge, "acme/infra", head, "bosun/plan")
                     == ["pending", "success"], what="bosun/plan on the pull request")
            (comment,) = forge.comments[("acme/infra", 12)]
            assert "bosun: Plan: 1 to add, 0 to change, 0 to destroy." in comment["body"]
            assert "+ Stack/blog" in comment["body"]
            assert "Merging `blog-stack`" in comment["body"] and "into `main`" in comment["body"]
            assert comment["body"].startswith("<!-- bosun:plan:prtest -->")

            bad = repo.commit({"stacks/blog.yaml": blog("        privileged: true\n")},
                              "privileged", branch="blog-stack")
            pull_ref(repo, "refs/pull/12/head", bad)
            post_github(url, "pull_request",
                        forge_payloads.github("synchronize", forge_url, first, bad))
            wait_for(lambda: states(forge, "acme/infra", bad, "bosun/plan")
                     == ["pending", "failure"], what="bosun/plan failure")
            (edited,) = forge.comments[("acme/infra", 12)]
            assert edited["id"] == comment["id"]
            assert "`BOSUN-S001`" in edited["body"] and "stacks/blog.yaml:" in edited["body"]
            statuses = forge.statuses[("acme/infra", bad)]
            assert statuses[-1]["description"] == "enforced policy failed: BOSUN-S001"

            fixed = repo.commit({"stacks/blog.yaml": blog()}, "not privileged",
                                branch="blog-stack")
            pull_ref(repo, "refs/pull/12/head", fixed)
            post_github(url, "pull_request",
                        forge_payloads.github("synchronize", forge_url, first, fixed))
            wait_for(lambda: states(forge, "acme/infra", fixed, "bosun/plan")
                     == ["pending", "success"], what="bosun/plan success again")
            comment_calls = [m for m, p in forge.calls() if "/comments" in p]
            assert comment_calls == ["GET", "POST", "GET", "PATCH", "GET", "PATCH"]
            # planning never touched the running state
            assert "Stack/blog" not in memory(state)["objects"]

            git(repo.work, "checkout", "-q", "main")
            git(repo.work, "merge", "-q", "--no-ff", "-m", "Merge pull request #12", "blog-stack")
            repo.push()
            merge = repo.head()
            body = dumps(github_push("refs/heads/main", first, merge,
                                     [gh_commit(merge, "merge", added=["stacks/blog.yaml"])]))
            response = httpx.post(f"{url}/hooks/github", content=body,
                                  headers=github_headers("push", body, SECRET.encode()))
            assert response.status_code == 202
            wait_for(lambda: states(forge, "acme/infra", merge, "bosun/apply")
                     == ["pending", "success"], what="bosun/apply on the merge commit")
            assert "Stack/blog" in memory(state)["objects"]
            statuses = forge.statuses[("acme/infra", merge)]
            assert statuses[-1]["description"] == "applied and healthy"


def test_gitlab_merge_request_and_a_blocked_merge(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running() as (forge_url, forge):
        repo = Repo(tmp_path / "repo")
        first = repo.commit({
            "bosun.yaml": bosun_yaml(
                f"{{type: gitlab, project: infra/deploy, api: '{forge_url}/api/v4'}}"),
            "stacks/hello.yaml": HELLO,
        })
        with running_service(state, str(repo.remote), setup=install) as service:
            url = base_url(service)
            git(repo.work, "checkout", "-q", "-b", "blog-stack")
            head = repo.commit({"stacks/blog.yaml": blog("        network_mode: host\n")},
                               "a blog on the host network", branch="blog-stack")
            pull_ref(repo, "refs/merge-requests/4/head", head)
            post_gitlab(url, forge_payloads.gitlab("open", forge_url, head))
            wait_for(lambda: states(forge, "infra/deploy", head, "bosun/plan")
                     == ["pending", "failed"], what="bosun/plan on the merge request")
            (note,) = forge.comments[("infra/deploy", 4)]
            assert "`BOSUN-S002`" in note["body"]
            assert forge.calls("PUT") == []
            assert [p for m, p in forge.calls("GET")] == [
                "/api/v4/projects/infra%2Fdeploy/merge_requests/4/notes"]

            # merged anyway: bosun refuses to apply it and says so on the merge commit
            git(repo.work, "checkout", "-q", "main")
            git(repo.work, "merge", "-q", "--no-ff", "-m", "Merge branch 'blog-stack'",
                "blog-stack")
            repo.push()
            merge = repo.head()
            service.runtime.submit(ReconcileRequest(Trigger.POLL))  # what the poll timer does
            wait_for(lambda: states(forge, "infra/deploy", merge, "bosun/apply") == ["failed"],
                     what="bosun/apply failure on the blocked merge")
            status = forge.statuses[("infra/deploy", merge)][-1]
            assert "enforced policy rules failed (BOSUN-S002)" in status["description"]
            assert "Stack/blog" not in memory(state)["objects"]
            assert states(forge, "infra/deploy", first, "bosun/apply") == ["pending", "success"]
