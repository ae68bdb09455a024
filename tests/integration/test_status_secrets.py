"""A secret value used by a stack reaches no API answer, page, metric, log line or status commit.

The provider here is deliberately careless: it resolves the stack's secret
and then puts the value in its plan reason, a progress step, a log line, an
apply error, a health message and a detail. bosun's own outputs must still
never show it: everything they render goes through the redaction of
resolved secret values.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pygit2
import pytest

from reconciler import logs
from reconciler.model.common import Kind, ResourceRef, SecretRef
from reconciler.model.desired import DesiredState
from reconciler.model.kinds import Stack
from reconciler.model.plan import Change, ChangeAction, ChangeOutcome, ChangeResult
from reconciler.model.status import Health, HealthState, ResourceDetails
from reconciler.provider import ProviderContext
from tests.gitrepo import Repo
from tests.integration.test_status_memory import repository
from tests.secretscan import leaks
from tests.serving import wait_for
from tests.statusserving import Served, serve_status

ENV_NAME = "BOSUN_TEST_LEAK_TOKEN"


def _token(desired: DesiredState, ctx: ProviderContext, stack: Stack) -> str:
    ref = stack.spec.env["TOKEN"]
    assert isinstance(ref, SecretRef)
    return ctx.secrets.resolve(ref).reveal()


class CarelessProvider:
    """Applies stacks by failing loudly, secret value and all."""

    name = "careless"
    kinds = frozenset({Kind.STACK})

    def observe(self, desired: DesiredState, ctx: ProviderContext) -> dict[str, str]:
        return {}

    def plan(self, desired: DesiredState, observed: Any, ctx: ProviderContext) -> list[Change]:
        out = []
        for res in desired.of_kind(Kind.STACK):
            assert isinstance(res.document, Stack)
            value = _token(desired, ctx, res.document)
            out.append(Change(action=ChangeAction.CREATE, ref=res.ref, provider=self.name,
                              reason=f"start with TOKEN={value}",
                              details=(f"env TOKEN={value}",)))
        return out

    def batch_key(self, change: Change) -> str:
        return str(change.ref)

    def apply(self, changes: Sequence[Change], desired: DesiredState,
              ctx: ProviderContext) -> list[ChangeResult]:
        results = []
        for change in changes:
            res = desired.get(change.ref)
            assert res is not None and isinstance(res.document, Stack)
            value = _token(desired, ctx, res.document)
            ctx.progress(change.ref, f"exporting TOKEN={value}")
            ctx.log.warning("careless provider applying %s with %s", change.ref, value)
            results.append(ChangeResult(ref=change.ref, action=change.action,
                                        outcome=ChangeOutcome.FAILED,
                                        message=f"login refused for token {value}"))
        return results

    def health(self, desired: DesiredState, observed: Any,
               ctx: ProviderContext) -> dict[ResourceRef, Health]:
        out = {}
        for res in desired.of_kind(Kind.STACK):
            assert isinstance(res.document, Stack)
            value = _token(desired, ctx, res.document)
            out[res.ref] = Health(state=HealthState.DEGRADED, reason="LoginFailed",
                                  message=f"the app says: bad token {value}")
        return out

    def describe(self, desired: DesiredState, observed: Any,
                 ctx: ProviderContext) -> dict[ResourceRef, ResourceDetails]:
        out = {}
        for res in desired.of_kind(Kind.STACK):
            assert isinstance(res.document, Stack)
            out[res.ref] = ResourceDetails(facts={"token": _token(desired, ctx, res.document)})
        return out


STACK = """\
apiVersion: bosun/v1
kind: Stack
metadata: {name: web}
spec:
  compose:
    services:
      app: {image: "bosun.local/busybox:1", environment: {TOKEN: "${TOKEN}"}}
  env:
    TOKEN: {secret: app-token, key: token}
---
apiVersion: bosun/v1
kind: Secret
metadata: {name: app-token}
spec:
  from: env
  keys: {token: BOSUN_TEST_LEAK_TOKEN}
"""


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """bosun's real log set-up (with redaction) writing into a buffer, then put back."""
    root = logging.getLogger("bosun")
    saved = (list(root.handlers), root.level, root.propagate)
    buffer = io.StringIO()
    logs.setup(logging.DEBUG, stream=buffer)
    try:
        yield buffer
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        root.propagate = saved[2]


def _branch_texts(remote: Path) -> list[str]:
    repo = pygit2.Repository(str(remote))
    out: list[str] = []
    tip = repo.references["refs/heads/bosun-status"].target
    for commit in repo.walk(tip):
        out.append(commit.message)
        stack = [commit.tree]
        while stack:
            tree = stack.pop()
            for entry in tree:
                obj = repo[entry.id]
                if isinstance(obj, pygit2.Tree):
                    stack.append(obj)
                elif isinstance(obj, pygit2.Blob):
                    out.append(obj.data.decode("utf-8", "replace"))
    return out


def _stream_sample(url: str, served: Served, seconds: float = 4.0) -> str:
    """What the live stream sends while a reconcile runs."""
    import threading
    import time

    chunks: list[str] = []

    def trigger() -> None:
        time.sleep(0.5)
        httpx.post(f"{url}/api/v1/reconcile", headers={"Authorization": "Bearer api-token"})

    threading.Thread(target=trigger, daemon=True).start()
    deadline = time.monotonic() + seconds
    timeout = httpx.Timeout(10.0, read=2.0)
    with httpx.stream("GET", f"{url}/api/v1/events/stream", timeout=timeout) as answer:
        try:
            for chunk in answer.iter_text():
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    break
        except httpx.ReadTimeout:
            pass  # quiet for a while: the reconcile is over
    return "".join(chunks)


def test_secret_value_reaches_no_output(tmp_path: Path, log_lines: io.StringIO) -> None:
    value = f"s3cr3t-{uuid.uuid4().hex}"
    repo = Repo(tmp_path / "repo")
    repo.commit({"bosun.yaml": repository(f"sx{uuid.uuid4().hex[:8]}"), "web.yaml": STACK})
    with serve_status(tmp_path / "state", str(repo.remote), environ={ENV_NAME: value},
                      provider_objects=[CarelessProvider()]) as served:
        wait_for(lambda: served.runtime.results(), what="the start-up reconcile")
        served.settle()
        url = served.url
        seen: dict[str, str] = {}
        detail = httpx.get(f"{url}/api/v1/resources/Stack/web")
        assert detail.status_code == 200
        # The careless provider did put the value everywhere it could:
        body = detail.json()
        assert body["status"]["health"]["state"] == "Degraded"
        assert "(sensitive)" in body["status"]["health"]["message"]
        assert body["status"]["details"]["facts"]["token"] == "(sensitive)"
        for path in ["/api/v1/status", "/api/v1/resources", "/api/v1/resources/Stack/web",
                     "/api/v1/resources/Stack/web/history", "/api/v1/resources/Stack/web/events",
                     "/api/v1/plan", "/api/v1/plans", "/api/v1/plans/1", "/api/v1/runs",
                     "/api/v1/revisions", "/api/v1/events?limit=500", "/api/v1/schedules/runs",
                     "/api/v1/openapi.json", "/metrics", "/", "/?lang=zh",
                     "/resources/Stack/web", "/resources/Stack/web?lang=zh", "/events",
                     "/plan", "/healthz"]:
            answer = httpx.get(url + path)
            assert answer.status_code == 200, path
            seen[path] = answer.text
        seen["stream"] = _stream_sample(url, served)
        served.settle()
        assert "event: status" in seen["stream"] or "event: event" in seen["stream"]
        plan = httpx.get(f"{url}/api/v1/plan").json()
        assert plan["changes"][0]["reason"] == "start with TOKEN=(sensitive)"
    for where, text in seen.items():
        assert value not in text, f"the secret value leaked into {where}"
    lines = log_lines.getvalue()
    assert "careless provider applying Stack/web with (sensitive)" in lines
    assert value not in lines
    texts = _branch_texts(repo.remote)
    assert any("(sensitive)" in t for t in texts)
    for text in texts:
        assert value not in text
    # What bosun stored (rows, caches, the status clone) holds no value either:
    # after a restart it is served before the secret is resolved again.
    found = leaks(tmp_path / "state", value)
    assert not found, "\n".join(found)
