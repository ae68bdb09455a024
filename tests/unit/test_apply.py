"""The apply stage: dependency order, bounded concurrency, failures stop dependents only.

A small provider that implements the Protocol honestly records when each batch
starts and ends, and fails the resources it is told to.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import apply_plan
from reconciler.errors import PermanentError, TemporaryError
from reconciler.model import (
    Change,
    ChangeAction,
    ChangeOutcome,
    ChangeResult,
    DesiredState,
    Kind,
    Plan,
    ResourceRef,
)
from reconciler.model.status import Health, HealthState
from reconciler.pipeline import load_desired
from reconciler.plan import order_changes
from reconciler.provider import ApplyOptions, Provider, ProviderContext
from reconciler.secrets import Secrets

REF = ResourceRef.parse


class Recorder:
    """Applies nothing anywhere; remembers what it was asked and when."""

    name = "recorder"
    kinds = frozenset({Kind.STACK, Kind.ROUTE, Kind.GATEWAY})

    def __init__(self, fail: dict[str, BaseException] | None = None,
                 seconds: float = 0.05) -> None:
        self.fail = fail or {}
        self.seconds = seconds
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.calls: list[list[str]] = []
        self.started: dict[str, float] = {}
        self.finished: dict[str, float] = {}

    def observe(self, desired: DesiredState, ctx: ProviderContext) -> dict[str, Any]:
        return {}

    def plan(self, desired: DesiredState, observed: Any, ctx: ProviderContext) -> list[Change]:
        return [Change(action=ChangeAction.CREATE, ref=r.ref, provider=self.name, reason="new")
                for r in desired.resources if r.ref.kind in self.kinds]

    def batch_key(self, change: Change) -> str:
        doc_gateway = change.payload.get("gateway")
        return f"gateway:{doc_gateway}" if doc_gateway else str(change.ref)

    def apply(self, changes: Sequence[Change], desired: DesiredState,
              ctx: ProviderContext) -> list[ChangeResult]:
        names = [str(c.ref) for c in changes]
        with self.lock:
            self.calls.append(names)
            self.running += 1
            self.most = max(self.most, self.running)
            for n in names:
                self.started[n] = time.monotonic()
        try:
            time.sleep(self.seconds)
            for n in names:
                if n in self.fail:
                    raise self.fail[n]
            now = datetime.now(UTC)
            return [ChangeResult(ref=c.ref, action=c.action, outcome=ChangeOutcome.APPLIED,
                                 started_at=now, finished_at=now, writes=1) for c in changes]
        finally:
            with self.lock:
                self.running -= 1
                for n in names:
                    self.finished[n] = time.monotonic()

    def health(self, desired: DesiredState, observed: Any,
               ctx: ProviderContext) -> dict[ResourceRef, Health]:
        return {r.ref: Health(state=HealthState.HEALTHY) for r in desired.resources}


def _stack(name: str, depends: Sequence[str] = ()) -> str:
    deps = f"\n  dependsOn: [{', '.join(depends)}]" if depends else ""
    return f"""\
apiVersion: bosun/v1
kind: Stack
metadata: {{name: {name}}}
spec:
  compose: {{services: {{app: {{image: "bosun.local/busybox:1"}}}}}}{deps}
---
"""


def _desired(tmp_path: Path, text: str) -> DesiredState:
    (tmp_path / "manifests.yaml").write_text(text, encoding="utf-8")
    return load_desired(tmp_path)


def _apply(desired: DesiredState, provider: Recorder, changes: Sequence[Change],
           concurrency: int = 4) -> dict[str, ChangeResult]:
    ctx = ProviderContext(state_dir=Path(desired.root) / ".bosun", owner=desired.owner,
                          secrets=Secrets(desired, {}),
                          options=ApplyOptions(concurrency=concurrency))
    plan = Plan(revision="r", desired_digest=desired.digest, observed_digest="sha256:0",
                changes=order_changes(changes, desired))
    report = apply_plan(plan, desired, [provider], ctx)
    assert [str(r.ref) for r in report.results] == [str(c.ref) for c in plan.changes]
    return {str(r.ref): r for r in report.results}


def test_recorder_is_a_provider() -> None:
    assert isinstance(Recorder(), Provider)


def test_dependency_order(tmp_path: Path) -> None:
    desired = _desired(tmp_path, _stack("db") + _stack("api", ["db"]) + _stack("web", ["api"]))
    rec = Recorder()
    ctx = ProviderContext(state_dir=tmp_path, owner="bosun", secrets=Secrets(desired, {}))
    results = _apply(desired, rec, rec.plan(desired, {}, ctx))
    assert all(r.outcome is ChangeOutcome.APPLIED for r in results.values())
    assert rec.finished["Stack/db"] <= rec.started["Stack/api"]
    assert rec.finished["Stack/api"] <= rec.started["Stack/web"]
    assert rec.most == 1


def test_bounded_concurrency(tmp_path: Path) -> None:
    desired = _desired(tmp_path, "".join(_stack(f"s{i}") for i in range(8)))
    rec = Recorder(seconds=0.1)
    ctx = ProviderContext(state_dir=tmp_path, owner="bosun", secrets=Secrets(desired, {}))
    results = _apply(desired, rec, rec.plan(desired, {}, ctx), concurrency=3)
    assert len(results) == 8
    assert rec.most == 3, "independent changes run side by side, never more than the bound"


def test_a_failure_stops_its_dependents_and_nothing_else(tmp_path: Path) -> None:
    desired = _desired(tmp_path, _stack("db") + _stack("api", ["db"]) + _stack("web", ["api"])
                       + _stack("cache") + _stack("docs"))
    rec = Recorder(fail={"Stack/db": PermanentError("disk full")})
    ctx = ProviderContext(state_dir=tmp_path, owner="bosun", secrets=Secrets(desired, {}))
    results = _apply(desired, rec, rec.plan(desired, {}, ctx))
    assert results["Stack/db"].outcome is ChangeOutcome.FAILED
    assert results["Stack/db"].message == "disk full"
    for dependent in ("Stack/api", "Stack/web"):
        assert results[dependent].outcome is ChangeOutcome.SKIPPED
        assert "dependency failed" in results[dependent].message
        assert dependent not in rec.started, "a dependent of a failure is never attempted"
    assert results["Stack/api"].message == "not applied: dependency failed (Stack/db)"
    for independent in ("Stack/cache", "Stack/docs", "Host/local"):
        if independent in results:
            assert results[independent].outcome is ChangeOutcome.APPLIED


@pytest.mark.parametrize("error, expected", [
    (TemporaryError("busy", delay=7.0), "temporary error (will retry): busy"),
    (RuntimeError("boom"), "internal error: RuntimeError: boom"),
])
def test_provider_errors_become_results(tmp_path: Path, error: BaseException,
                                        expected: str) -> None:
    desired = _desired(tmp_path, _stack("a") + _stack("b"))
    rec = Recorder(fail={"Stack/a": error})
    ctx = ProviderContext(state_dir=tmp_path, owner="bosun", secrets=Secrets(desired, {}))
    results = _apply(desired, rec, rec.plan(desired, {}, ctx))
    assert results["Stack/a"].outcome is ChangeOutcome.FAILED
    assert results["Stack/a"].message == expected
    assert results["Stack/b"].outcome is ChangeOutcome.APPLIED
    if isinstance(error, TemporaryError):
        assert results["Stack/a"].data == {"retry_after": 7.0}


def test_batches_go_in_one_call_after_their_dependencies(tmp_path: Path) -> None:
    text = _stack("web") + """\
apiVersion: bosun/v1
kind: Gateway
metadata: {name: edge}
---
""" + "".join(f"""\
apiVersion: bosun/v1
kind: Route
metadata: {{name: r{i}}}
spec:
  gateway: edge
  hosts: [r{i}.example.com]
  to: {{stack: web, service: app, port: 80}}
---
""" for i in range(3))
    desired = _desired(tmp_path, text)
    rec = Recorder()
    changes = [
        Change(action=ChangeAction.CREATE, ref=r.ref, provider=rec.name, reason="new",
               payload={"gateway": "edge"} if r.ref.kind is Kind.ROUTE else {})
        for r in desired.resources if r.ref.kind in rec.kinds
    ]
    results = _apply(desired, rec, changes)
    assert all(r.outcome is ChangeOutcome.APPLIED for r in results.values())
    assert ["Route/r0", "Route/r1", "Route/r2"] in rec.calls
    assert rec.started["Route/r0"] >= max(rec.finished["Stack/web"], rec.finished["Gateway/edge"])


def test_deletes_run_dependents_first(tmp_path: Path) -> None:
    desired = _desired(tmp_path, _stack("keep"))
    rec = Recorder()
    changes = [
        Change(action=ChangeAction.DELETE, ref=REF("Stack/old"), provider=rec.name, reason="x"),
        Change(action=ChangeAction.DELETE, ref=REF("Gateway/old"), provider=rec.name, reason="x"),
        Change(action=ChangeAction.DELETE, ref=REF("Route/old"), provider=rec.name, reason="x"),
    ]
    results = _apply(desired, rec, changes)
    assert all(r.outcome is ChangeOutcome.APPLIED for r in results.values())
    assert rec.finished["Route/old"] <= rec.started["Stack/old"]
    assert rec.finished["Route/old"] <= rec.started["Gateway/old"]
