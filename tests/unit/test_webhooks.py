"""Webhook receivers: signatures, replays, size limits, filtering, real payload shapes."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from reconciler import metrics
from reconciler.model.sensitive import Sensitive
from reconciler.runtime.requests import PlanPullRequest, ReconcileRequest, Request, Trigger
from reconciler.runtime.runtime import WatchFilter
from reconciler.state import StateStore
from tests.asgiserver import serving
from tests.webhooks import (
    ZERO,
    dumps,
    gh_commit,
    github_headers,
    github_ping,
    github_pull_request,
    github_push,
    gitlab_headers,
    gitlab_merge_request,
    gitlab_push,
    gl_commit,
)
from webhook import WebhookConfig, routes

SECRET = b"It's a Secret to Everybody"
SHA = "a" * 40


class Recorder:
    """Stands in for the runtime: records what the receivers submit."""

    def __init__(self, watch: WatchFilter) -> None:
        self.watch = watch
        self.requests: list[Request] = []

    def submit(self, request: Request, delay: float = 0.0) -> bool:
        self.requests.append(request)
        return True

    def watch_filter(self) -> WatchFilter:
        return self.watch


Setup = tuple[httpx.Client, Recorder, StateStore]


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    store = StateStore(tmp_path)
    recorder = Recorder(WatchFilter(ref="refs/heads/main", subdir="deploy"))
    app = Starlette(routes=routes(WebhookConfig(Sensitive(SECRET.decode()), max_bytes=64 * 1024),
                                  recorder, store))
    with serving(app) as url, httpx.Client(base_url=url) as client:
        yield client, recorder, store


def _count(provider: str, result: str) -> float:
    value = metrics.WEBHOOK_REQUESTS.labels(provider=provider, result=result)._value.get()
    return float(value)


def test_github_signature_known_vector() -> None:
    # GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!".
    from webhook import github

    assert github.sign(SECRET, b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_github_push_accepted(setup: Setup) -> None:
    client, recorder, _ = setup
    body = dumps(github_push("refs/heads/main", "b" * 40, SHA,
                             [gh_commit(SHA, "bump", modified=["deploy/blog/compose.yaml"])]))
    before = _count("github", "accepted")
    answer = client.post("/hooks/github", content=body,
                         headers=github_headers("push", body, SECRET))
    assert answer.status_code == 202, answer.text
    assert answer.json()["result"] == "accepted"
    assert _count("github", "accepted") == before + 1
    [request] = recorder.requests
    assert isinstance(request, ReconcileRequest)
    assert request.trigger is Trigger.WEBHOOK and request.sha == SHA


def test_github_wrong_missing_and_sha1_signatures(
        setup: Setup) -> None:
    client, recorder, _ = setup
    body = dumps(github_push("refs/heads/main", "b" * 40, SHA))
    before = _count("github", "unauthorized")
    wrong = client.post("/hooks/github", content=body,
                        headers=github_headers("push", body, b"not the secret"))
    assert wrong.status_code == 401
    assert "does not match" in wrong.json()["error"]
    headers = github_headers("push", body, SECRET)
    del headers["X-Hub-Signature-256"]
    headers["X-Hub-Signature"] = "sha1=" + hmac.new(SECRET, body, hashlib.sha1).hexdigest()
    legacy = client.post("/hooks/github", content=body, headers=headers)
    assert legacy.status_code == 401 and "SHA-1" in legacy.json()["error"]
    tampered_headers = github_headers("push", body, SECRET)
    tampered = client.post("/hooks/github", content=body.replace(b"main", b"mainx"),
                           headers=tampered_headers)
    assert tampered.status_code == 401
    assert recorder.requests == []
    assert _count("github", "unauthorized") == before + 3


def test_replayed_delivery_is_ignored(setup: Setup) -> None:
    client, recorder, _ = setup
    body = dumps(github_push("refs/heads/main", "b" * 40, SHA,
                             [gh_commit(SHA, "bump", modified=["deploy/a.yaml"])]))
    headers = github_headers("push", body, SECRET, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert client.post("/hooks/github", content=body, headers=headers).status_code == 202
    again = client.post("/hooks/github", content=body, headers=headers)
    assert again.status_code == 200 and again.json()["result"] == "duplicate"
    assert len(recorder.requests) == 1


def test_too_large_bodies_are_refused(setup: Setup) -> None:
    client, recorder, _ = setup
    push = github_push("refs/heads/main", "b" * 40, SHA)
    push["padding"] = "x" * 70_000
    body = dumps(push)
    answer = client.post("/hooks/github", content=body,
                         headers=github_headers("push", body, SECRET))
    assert answer.status_code == 413 and "larger than" in answer.json()["error"]

    def chunks() -> object:  # no Content-Length: refused while reading
        for _ in range(80):
            yield b"x" * 1024

    streamed = client.post("/hooks/generic", content=chunks(),  # type: ignore[arg-type]
                           headers={"X-Bosun-Signature-256": "sha256=00"})
    assert streamed.status_code == 413
    assert recorder.requests == []


def test_push_filtering(setup: Setup) -> None:
    client, recorder, _ = setup

    def send(payload: dict[str, object]) -> dict[str, object]:
        body = dumps(payload)
        answer = client.post("/hooks/github", content=body,
                             headers=github_headers("push", body, SECRET))
        return {"status": answer.status_code, **answer.json()}

    other = send(github_push("refs/heads/feature", "b" * 40, SHA))
    assert other["status"] == 200 and "refs/heads/feature" in str(other["reason"])
    status_branch = send(github_push("refs/heads/bosun-status", "b" * 40, SHA))
    assert "status branch" in str(status_branch["reason"])
    outside = send(github_push("refs/heads/main", "b" * 40, SHA,
                               [gh_commit(SHA, "docs", modified=["README.md"])]))
    assert outside["result"] == "ignored" and "deploy/" in str(outside["reason"])
    deleted = send(github_push("refs/heads/main", "b" * 40, ZERO, []))
    assert "deleted" in str(deleted["reason"])
    tag = send(github_push("refs/tags/v1", ZERO, SHA, []))
    assert tag["result"] == "ignored"
    assert recorder.requests == []
    # No commit list (e.g. a force push to an existing commit): cannot tell, so it counts.
    unknown = send(github_push("refs/heads/main", "b" * 40, SHA, []))
    assert unknown["status"] == 202
    removed = send(github_push("refs/heads/main", "b" * 40, SHA,
                               [gh_commit(SHA, "rm", removed=["deploy/old.yaml"])]))
    assert removed["status"] == 202


def test_ping_pull_request_and_unknown_events(
        setup: Setup) -> None:
    client, recorder, _ = setup
    body = dumps(github_ping())
    pong = client.post("/hooks/github", content=body, headers=github_headers("ping", body, SECRET))
    assert pong.status_code == 200 and pong.json()["reason"] == "pong"
    body = dumps(github_pull_request("synchronize", 7, SHA))
    answer = client.post("/hooks/github", content=body,
                         headers=github_headers("pull_request", body, SECRET))
    assert answer.status_code == 202
    [request] = recorder.requests
    assert isinstance(request, PlanPullRequest)
    assert (request.forge, request.number, request.head_sha, request.base_ref) == (
        "github", 7, SHA, "main")
    assert request.key == "pull-request:github:ops-team/deploy:7"
    assert request.url == "https://github.com/ops-team/deploy/pull/7"
    body = dumps(github_pull_request("labeled", 7, SHA))
    labeled = client.post("/hooks/github", content=body,
                          headers=github_headers("pull_request", body, SECRET))
    assert labeled.json()["result"] == "ignored"
    body = dumps(github_pull_request("opened", 8, SHA, base_ref="release"))
    elsewhere = client.post("/hooks/github", content=body,
                            headers=github_headers("pull_request", body, SECRET))
    assert "release" in elsewhere.json()["reason"]
    body = b'{"action": "created"}'
    issues = client.post("/hooks/github", content=body,
                         headers=github_headers("issue_comment", body, SECRET))
    assert issues.status_code == 200 and "not used" in issues.json()["reason"]
    body = b"[1, 2]"
    bad = client.post("/hooks/github", content=body, headers=github_headers("push", body, SECRET))
    assert bad.status_code == 400 and "JSON object" in bad.json()["error"]
    assert len(recorder.requests) == 1


def test_gitlab(setup: Setup) -> None:
    client, recorder, _ = setup
    token = SECRET.decode()
    body = dumps(gitlab_push("refs/heads/main", "b" * 40, SHA,
                             [gl_commit(SHA, "bump", added=["deploy/new.yaml"])]))
    ok = client.post("/hooks/gitlab", content=body, headers=gitlab_headers("Push Hook", token))
    assert ok.status_code == 202
    wrong = client.post("/hooks/gitlab", content=body,
                        headers=gitlab_headers("Push Hook", "nope"))
    assert wrong.status_code == 401 and "X-Gitlab-Token" in wrong.json()["error"]
    missing = gitlab_headers("Push Hook", token)
    del missing["X-Gitlab-Token"]
    assert client.post("/hooks/gitlab", content=body, headers=missing).status_code == 401
    # More commits than listed (GitLab lists 20): the paths cannot be trusted.
    truncated = dumps(gitlab_push("refs/heads/main", "b" * 40, "c" * 40,
                                  [gl_commit("c" * 40, "docs", modified=["README.md"])], total=45))
    assert client.post("/hooks/gitlab", content=truncated,
                       headers=gitlab_headers("Push Hook", token)).status_code == 202
    outside = dumps(gitlab_push("refs/heads/main", "b" * 40, "d" * 40,
                                [gl_commit("d" * 40, "docs", modified=["README.md"])]))
    assert client.post("/hooks/gitlab", content=outside,
                       headers=gitlab_headers("Push Hook", token)).json()["result"] == "ignored"
    # A retry repeats the Idempotency-Key.
    key = "f7a2b54c-6f1e-4b5c-9d32-0d0f2a7d1a11"
    first = client.post("/hooks/gitlab", content=body,
                        headers=gitlab_headers("Push Hook", token, idempotency=key))
    assert first.status_code == 202
    retry = client.post("/hooks/gitlab", content=body,
                        headers=gitlab_headers("Push Hook", token, idempotency=key))
    assert retry.json()["result"] == "duplicate"
    mr = dumps(gitlab_merge_request("update", 12, "e" * 40))
    answer = client.post("/hooks/gitlab", content=mr,
                         headers=gitlab_headers("Merge Request Hook", token))
    assert answer.status_code == 202
    assert [type(r).__name__ for r in recorder.requests] == [
        "ReconcileRequest", "ReconcileRequest", "ReconcileRequest", "PlanPullRequest"]
    pr = recorder.requests[-1]
    assert isinstance(pr, PlanPullRequest) and pr.number == 12 and pr.head_sha == "e" * 40


def test_generic(setup: Setup) -> None:
    client, recorder, _ = setup
    from webhook import generic

    empty = client.post("/hooks/generic", content=b"",
                        headers={"X-Bosun-Signature-256": generic.sign(SECRET, b"")})
    assert empty.status_code == 202
    body = b'{"ref": "refs/heads/main", "after": "' + SHA.encode() + b'"}'
    signed = client.post("/hooks/generic", content=body,
                         headers={"X-Bosun-Signature-256": generic.sign(SECRET, body),
                                  "X-Bosun-Delivery": "ci-run-17"})
    assert signed.status_code == 202
    replay = client.post("/hooks/generic", content=body,
                         headers={"X-Bosun-Signature-256": generic.sign(SECRET, body),
                                  "X-Bosun-Delivery": "ci-run-17"})
    assert replay.json()["result"] == "duplicate"
    unsigned = client.post("/hooks/generic", content=body)
    assert unsigned.status_code == 401
    bad = b'{"paths": "deploy"}'
    wrong_shape = client.post("/hooks/generic", content=bad,
                              headers={"X-Bosun-Signature-256": generic.sign(SECRET, bad)})
    assert wrong_shape.status_code == 400 and "paths" in wrong_shape.json()["error"]
    assert len(recorder.requests) == 2
    assert isinstance(recorder.requests[1], ReconcileRequest)
    assert recorder.requests[1].sha == SHA


def test_no_secret_refuses_everything(tmp_path: Path) -> None:
    recorder = Recorder(WatchFilter(ref="refs/heads/main"))
    app = Starlette(routes=routes(WebhookConfig(None), recorder, StateStore(tmp_path)))
    with serving(app) as url:
        answer = httpx.post(f"{url}/hooks/generic", content=b"")
    assert answer.status_code == 403 and "no secret" in answer.json()["error"]
    assert recorder.requests == []


def test_concurrent_copies_of_one_delivery_are_accepted_once(setup: Setup) -> None:
    """A forge retrying while the first attempt is in flight: one request, the rest duplicates."""
    import threading

    client, recorder, store = setup
    body = dumps(github_push("refs/heads/main", "b" * 40, SHA,
                             [gh_commit(SHA, "bump", modified=["deploy/a.yaml"])]))
    headers = github_headers("push", body, SECRET, delivery="0b5c4e2a-3d1f-4c6e-9a7b-concurrent")
    answers: list[str] = []
    start = threading.Barrier(8)

    def send() -> None:
        start.wait()
        with httpx.Client(base_url=str(client.base_url)) as own:
            answers.append(own.post("/hooks/github", content=body, headers=headers)
                           .json()["result"])

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == ["accepted"] + ["duplicate"] * 7
    assert len(recorder.requests) == 1
    assert [d["result"] for d in store.deliveries()] == ["accepted"]


def test_tokens_are_compared_as_the_bytes_sent(tmp_path: Path) -> None:
    """A non-ASCII token arrives as UTF-8 bytes, which ASGI decodes as latin-1."""
    token = "clé-ü-" + "x" * 8
    store = StateStore(tmp_path)
    recorder = Recorder(WatchFilter(ref="refs/heads/main", subdir=""))
    app = Starlette(routes=routes(WebhookConfig(Sensitive(token)), recorder, store))
    body = dumps(gitlab_push("refs/heads/main", "b" * 40, SHA))
    with serving(app) as url, httpx.Client(base_url=url) as client:
        base = {k.encode(): v.encode() for k, v in gitlab_headers("Push Hook", "").items()}
        right = {**base, b"X-Gitlab-Token": token.encode()}
        assert client.post("/hooks/gitlab", content=body, headers=right).status_code == 202
        wrong = {**base, b"X-Gitlab-Token": ("clé-ü-" + "y" * 8).encode()}
        assert client.post("/hooks/gitlab", content=body, headers=wrong).status_code == 401
    store.close()


def test_a_signed_body_nested_too_deep_is_a_bad_request(setup: Setup) -> None:
    from webhook import generic

    client, recorder, _ = setup
    body = b"[" * 20000 + b"]" * 20000
    answer = client.post("/hooks/generic", content=body,
                         headers={"X-Bosun-Signature-256": generic.sign(SECRET, body)})
    assert answer.status_code == 400, answer.text
    assert answer.json()["result"] == "bad_request"
    assert recorder.requests == []
