"""Forge clients against the local GitHub/GitLab (tests/forge_server.py): exact requests."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import httpx
import pytest

from reconciler.forge import (
    APPLY_CONTEXT,
    PLAN_CONTEXT,
    CommitState,
    ForgeError,
    GitHub,
    GitLab,
    marker,
    token_from,
    upsert_comment,
)
from reconciler.model.kinds import ForgeKind, RepositoryForge
from reconciler.model.sensitive import Sensitive
from reconciler.pipeline import load_desired
from reconciler.secrets import Secrets
from tests.forge_server import running

GH_TOKEN = "ghp-test-token-0001"
GL_TOKEN = "glpat-test-token-0001"
SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def test_github_comment_created_once_then_edited() -> None:
    with running() as (url, forge):
        gh = GitHub("acme/infra", Sensitive(GH_TOKEN), api=url)
        first = upsert_comment(gh, 7, "### plan one")
        second = upsert_comment(gh, 7, "### plan two")
        third = upsert_comment(gh, 7, "### plan two")
        assert (first.created, second.created, second.changed, third.changed) == \
            (True, False, True, False)
        assert first.id == second.id == third.id
        assert forge.calls() == [
            ("GET", "/repos/acme/infra/issues/7/comments"),
            ("POST", "/repos/acme/infra/issues/7/comments"),
            ("GET", "/repos/acme/infra/issues/7/comments"),
            ("PATCH", f"/repos/acme/infra/issues/comments/{first.id}"),
            ("GET", "/repos/acme/infra/issues/7/comments"),
        ]
        post, patch = forge.requests[1], forge.requests[3]
        assert post.json == {"body": f"{marker()}\n### plan one"}
        assert patch.json == {"body": f"{marker()}\n### plan two"}
        assert forge.requests[0].query == {"per_page": "100"}
        assert post.headers["authorization"] == f"Bearer {GH_TOKEN}"
        assert post.headers["accept"] == "application/vnd.github+json"
        assert post.headers["x-github-api-version"] == "2022-11-28"
        assert post.headers["user-agent"].startswith("bosun")
        (comment,) = forge.comments[("acme/infra", 7)]
        assert comment["body"] == f"{marker()}\n### plan two"


def test_github_finds_its_comment_on_a_later_page() -> None:
    with running() as (url, forge):
        forge.page_size = 2
        gh = GitHub("acme/infra", Sensitive(GH_TOKEN), api=url)
        for text in ("looks good", "one question"):
            gh.create_comment(3, text)
        mine = upsert_comment(gh, 3, "plan")
        gh.create_comment(3, "thanks")
        forge.requests.clear()
        again = upsert_comment(gh, 3, "plan, edited")
        assert again.id == mine.id and not again.created
        assert [(r.method, r.query.get("page")) for r in forge.requests] == [
            ("GET", None), ("GET", "2"), ("PATCH", None)]


def test_github_statuses_pending_then_success() -> None:
    with running() as (url, forge):
        gh = GitHub("acme/infra", Sensitive(GH_TOKEN), api=url)
        gh.set_status(SHA, PLAN_CONTEXT, CommitState.PENDING, "planning")
        gh.set_status(SHA, PLAN_CONTEXT, CommitState.SUCCESS, "x" * 300,
                      target_url="https://bosun.example/plans/1")
        gh.set_status(SHA, APPLY_CONTEXT, CommitState.FAILURE, "health check failed")
        assert [(r.method, r.path, r.json) for r in forge.requests] == [
            ("POST", f"/repos/acme/infra/statuses/{SHA}",
             {"state": "pending", "context": "bosun/plan", "description": "planning"}),
            ("POST", f"/repos/acme/infra/statuses/{SHA}",
             {"state": "success", "context": "bosun/plan", "description": "x" * 140,
              "target_url": "https://bosun.example/plans/1"}),
            ("POST", f"/repos/acme/infra/statuses/{SHA}",
             {"state": "failure", "context": "bosun/apply",
              "description": "health check failed"}),
        ]


def test_gitlab_note_created_once_then_edited_and_statuses() -> None:
    with running() as (url, forge):
        gl = GitLab("infra/deploy", Sensitive(GL_TOKEN), api=f"{url}/api/v4")
        forge.comments[("infra/deploy", 5)] = [
            {"id": 1, "body": "added 1 commit", "system": True}]
        first = upsert_comment(gl, 5, "plan one")
        second = upsert_comment(gl, 5, "plan two")
        assert first.created and not second.created and first.id == second.id
        gl.set_status(SHA, PLAN_CONTEXT, CommitState.PENDING, "planning")
        gl.set_status(SHA, PLAN_CONTEXT, CommitState.PENDING, "planning again")  # 400: done
        gl.set_status(SHA, PLAN_CONTEXT, CommitState.FAILURE, "policy BOSUN-S001 failed")
        notes = "/api/v4/projects/infra%2Fdeploy/merge_requests/5/notes"
        statuses = f"/api/v4/projects/infra%2Fdeploy/statuses/{SHA}"
        assert forge.calls() == [
            ("GET", notes), ("POST", notes), ("GET", notes), ("PUT", f"{notes}/{first.id}"),
            ("POST", statuses), ("POST", statuses), ("POST", statuses),
        ]
        assert forge.requests[0].query == {"per_page": "100", "page": "1", "sort": "asc",
                                           "order_by": "created_at"}
        assert forge.requests[1].headers["private-token"] == GL_TOKEN
        assert forge.requests[3].json == {"body": f"{marker()}\nplan two"}
        assert [r.json for r in forge.requests[4:]] == [
            {"state": "pending", "name": "bosun/plan", "description": "planning"},
            {"state": "pending", "name": "bosun/plan", "description": "planning again"},
            {"state": "failed", "name": "bosun/plan", "description": "policy BOSUN-S001 failed"},
        ]
        assert forge.status_states("infra/deploy", SHA) == [
            ("bosun/plan", "pending"), ("bosun/plan", "failed")]


def test_gitlab_pages_follow_x_next_page() -> None:
    with running() as (url, forge):
        forge.page_size = 2
        gl = GitLab(42, Sensitive(GL_TOKEN), api=f"{url}/api/v4")
        for text in ("a", "b", "c"):
            gl.create_comment(1, text)
        gl.create_comment(1, f"{marker()}\nold plan")
        forge.requests.clear()
        result = upsert_comment(gl, 1, "new plan")
        assert not result.created
        assert [(r.method, r.query.get("page")) for r in forge.requests] == [
            ("GET", "1"), ("GET", "2"), ("PUT", None)]


def test_rate_limits_are_waited_out() -> None:
    with running() as (url, forge):
        sleeps = Sleeps()
        now = 1_700_000_000.0
        gh = GitHub("acme/infra", Sensitive(GH_TOKEN), api=url, sleep=sleeps,
                    clock=lambda: now)
        forge.fail_next = [
            (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 5)},
             {"message": "API rate limit exceeded for user ID 1."}),
            (429, {"Retry-After": "3"}, {"message": "You have exceeded a secondary rate limit."}),
            (502, {}, {"message": "Server Error"}),
        ]
        gh.set_status(SHA, PLAN_CONTEXT, CommitState.PENDING, "planning")
        assert sleeps.waits == [6.0, 3.0, 1.0]
        assert len(forge.requests) == 4
        assert forge.status_states("acme/infra", SHA) == [("bosun/plan", "pending")]


def test_a_long_rate_limit_is_reported_not_slept() -> None:
    with running() as (url, forge):
        sleeps = Sleeps()
        gl = GitLab("p", Sensitive(GL_TOKEN), api=f"{url}/api/v4", sleep=sleeps, max_wait=30)
        forge.fail_next = [(429, {"Retry-After": "600"}, {"message": "Retry later"})]
        with pytest.raises(ForgeError) as caught:
            gl.create_comment(1, "x")
        assert caught.value.retry_after == 600.0 and caught.value.status == 429
        assert "rate limited" in str(caught.value) and sleeps.waits == []


def test_errors_are_clear_and_never_show_the_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "ghp-wrong-token-9999"
    with running() as (url, forge):
        gh = GitHub("acme/infra", Sensitive(wrong), api=url)
        with pytest.raises(ForgeError) as caught:
            gh.create_comment(1, "x")
        text = str(caught.value)
        assert "github POST /repos/acme/infra/issues/1/comments: 401" in text
        assert "token was rejected" in text and "Bad credentials" in text
        forge.fail_next = [(500, {}, {"message": "boom"})] * 5
        sleeps = Sleeps()
        gh = GitHub("acme/infra", Sensitive(wrong), api=url, sleep=sleeps, max_retries=2)
        with pytest.raises(ForgeError, match="500 from the forge") as failed:
            gh.set_status(SHA, PLAN_CONTEXT, CommitState.PENDING, "x")
        assert failed.value.retry_after is not None and sleeps.waits == [1.0, 2.0]
    assert wrong not in caplog.text and wrong not in text
    with pytest.raises(ForgeError, match="not of the form owner/name"):
        GitHub("infra", Sensitive(wrong))


def test_timeouts_and_unreachable_forges() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    port = silent.getsockname()[1]
    try:
        gh = GitHub("acme/infra", Sensitive(GH_TOKEN), api=f"http://127.0.0.1:{port}",
                    timeout=httpx.Timeout(0.2), max_retries=0)
        started = time.monotonic()
        with pytest.raises(ForgeError, match="timed out"):
            gh.comments(1)
        assert time.monotonic() - started < 5
    finally:
        silent.close()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    gl = GitLab(1, Sensitive(GL_TOKEN), api=f"http://127.0.0.1:{port}/api/v4", max_retries=1,
                sleep=Sleeps())
    with pytest.raises(ForgeError, match="cannot connect") as caught:
        gl.comments(1)
    assert caught.value.retry_after is not None


def test_tokens_from_secrets_or_environment(tmp_path: Path) -> None:
    (tmp_path / "bosun.yaml").write_text(
        "apiVersion: bosun/v1\nkind: Repository\nmetadata: {name: r}\n"
        "spec: {forge: {type: github, token: {secret: forge, key: token}}}\n"
        "---\napiVersion: bosun/v1\nkind: Secret\nmetadata: {name: forge}\n"
        "spec: {from: env, keys: {token: ACME_FORGE_TOKEN}}\n")
    desired = load_desired(tmp_path)
    settings = desired.repository.spec.forge
    secrets = Secrets(desired, {"ACME_FORGE_TOKEN": "from-secret-0001"})
    assert token_from(ForgeKind.GITHUB, settings, secrets).reveal() == "from-secret-0001"
    env = {"BOSUN_GITLAB_TOKEN": "from-env-0001"}
    assert token_from(ForgeKind.GITLAB, None, None, env).reveal() == "from-env-0001"
    with pytest.raises(ForgeError, match="set BOSUN_GITHUB_TOKEN"):
        token_from(ForgeKind.GITHUB, RepositoryForge(), None, {})
