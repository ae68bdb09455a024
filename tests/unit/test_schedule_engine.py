"""The scheduler engine with a real state store and APScheduler: claims, catch-up,
concurrency, suspension and stopping. Slots are fired by hand (``fire``) so that
nothing depends on the clock; slow runs are http actions against a loopback server.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from providers.compose.render import RenderCache, Renderer
from providers.engine import EngineClients
from providers.scheduler.engine import ScheduleEngine
from providers.scheduler.jobs import JobBook, RegisteredJob
from providers.scheduler.runs import RunContext
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.schedule import (
    ScheduleRun,
    ScheduleRunReason,
    ScheduleRunResult,
    ScheduleTrigger,
)
from reconciler.pipeline import load_desired
from reconciler.provider import ProviderContext
from reconciler.runtime.requests import ReconcileRequest, Request
from reconciler.runtime.services import RuntimeServiceHost
from reconciler.secrets import Secrets
from reconciler.state import StateStore
from tests.schedules import finished, hit_server, runs
from tests.serving import wait_for

NOW = datetime.now(UTC).replace(microsecond=0)


class Harness:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.store = StateStore(tmp / "state")
        self.book = JobBook(self.store)
        self.submitted: list[Request] = []
        self.host = RuntimeServiceHost(self.store, self._submit, lambda: False)
        self.engine = ScheduleEngine(self.host)

    def _submit(self, request: Request) -> bool:
        self.submitted.append(request)
        return True

    def job(self, name: str, action: dict[str, object], anchor: datetime = NOW,
            **spec: object) -> RegisteredJob:
        body = {"every": "1h", "action": action, **spec}
        return RegisteredJob(name=name, owner="unit", spec=body, revision="main@sha1:abc",
                             anchor=anchor, registered_at=anchor)

    def ready(self) -> None:
        root = self.tmp / "repo"
        root.mkdir(exist_ok=True)
        (root / "bosun.yaml").write_text(
            "apiVersion: bosun/v1\nkind: Repository\nmetadata: {name: r}\n")
        desired = load_desired(root)
        ctx = ProviderContext(state_dir=self.tmp / "state", owner="unit",
                              secrets=Secrets(desired), kv=self.store)
        self.engine.set_context(RunContext(
            desired=desired, ctx=ctx, clients=EngineClients(),
            renderer=Renderer(RenderCache(self.tmp / "renders")), host=self.host,
            instance="unit"))


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    yield h
    h.engine.stop(5)
    h.store.close()


SYNC: dict[str, object] = {"reconcile": {"resources": ["Schedule/sync"]}}


def test_a_slot_runs_once_and_earlier_slots_never(harness: Harness) -> None:
    harness.engine.start()
    harness.ready()
    harness.engine.register(harness.job("sync", SYNC))
    slot = NOW + timedelta(hours=1)
    harness.engine.fire("sync", slot)
    harness.engine.fire("sync", slot)
    harness.engine.fire("sync", slot - timedelta(hours=1))
    wait_for(lambda: finished(harness.store, "sync"), what="the run recorded")
    done = runs(harness.store, "sync")
    assert len(done) == 1 and done[0].slot == slot
    assert done[0].result is ScheduleRunResult.SUCCEEDED
    assert done[0].reason is ScheduleRunReason.QUEUED
    request = harness.submitted[0]
    assert isinstance(request, ReconcileRequest)
    assert request.resources == frozenset({ResourceRef(kind=Kind.SCHEDULE, name="sync")})
    assert harness.book.last_slot("sync") == slot


@pytest.mark.parametrize("missed", ["run-once", "skip"])
def test_slots_missed_while_down_are_handled_once(harness: Harness, missed: str) -> None:
    anchor = NOW - timedelta(hours=10, minutes=30)
    job = harness.job("sync", SYNC, anchor=anchor, missed=missed)
    harness.book.put(job)
    harness.book.reset_slot("sync", anchor + timedelta(hours=5), None)
    harness.store.save_schedule_run(ScheduleRun(schedule="sync", action="reconcile",
                                                started_at=anchor))
    harness.engine.start()
    harness.ready()
    wait_for(lambda: len(finished(harness.store, "sync")) >= 2, what="catch-up recorded")
    history = runs(harness.store, "sync")
    assert history[0].result is ScheduleRunResult.INTERRUPTED  # left running by "a crash"
    caught = [r for r in history if r.trigger is ScheduleTrigger.MISSED]
    assert len(caught) == 1
    # Slots at anchor + 6h .. anchor + 10h were missed; the last one is handled.
    assert caught[0].slot == anchor + timedelta(hours=10)
    if missed == "run-once":
        assert caught[0].result is ScheduleRunResult.SUCCEEDED
        assert "caught up once" in caught[0].message
    else:
        assert caught[0].result is ScheduleRunResult.SKIPPED
        assert caught[0].reason is ScheduleRunReason.MISSED
    # A second start finds nothing more to catch up.
    harness.engine.stop(5)
    again = ScheduleEngine(harness.host)
    again.start()
    again.stop(5)
    assert len([r for r in runs(harness.store, "sync")
                if r.trigger is ScheduleTrigger.MISSED]) == 1


@pytest.mark.parametrize("policy", ["forbid", "replace", "allow"])
def test_concurrency(harness: Harness, policy: str) -> None:
    with hit_server(delay=2.0) as server:
        harness.engine.start()
        harness.ready()
        harness.engine.register(harness.job("slow", {"http": {"url": f"{server.url}/slow"}},
                                            concurrency=policy))
        harness.engine.fire("slow", NOW + timedelta(hours=1))
        wait_for(lambda: server.count() == 1, what="the first request")
        harness.engine.fire("slow", NOW + timedelta(hours=2))
        wait_for(lambda: len(finished(harness.store, "slow")) == 2, timeout=10,
                 what="both runs ended")
        first, second = runs(harness.store, "slow")
    if policy == "forbid":
        assert second.result is ScheduleRunResult.SKIPPED
        assert second.reason is ScheduleRunReason.CONCURRENCY
        assert first.result is ScheduleRunResult.SUCCEEDED
    elif policy == "replace":
        assert first.result is ScheduleRunResult.FAILED
        assert first.reason is ScheduleRunReason.REPLACED
        assert second.result is ScheduleRunResult.SUCCEEDED
    else:
        assert first.result is second.result is ScheduleRunResult.SUCCEEDED
        assert first.finished_at is not None and second.started_at < first.finished_at


def test_suspended_schedules_skip_and_stopping_interrupts(harness: Harness) -> None:
    with hit_server(delay=5.0) as server:
        harness.engine.start()
        harness.ready()
        harness.engine.register(harness.job("slow", {"http": {"url": f"{server.url}/slow"}}))
        harness.store.suspend(ResourceRef(kind=Kind.SCHEDULE, name="slow"), "maintenance")
        harness.engine.fire("slow", NOW + timedelta(hours=1))
        harness.store.resume(ResourceRef(kind=Kind.SCHEDULE, name="slow"))
        harness.engine.fire("slow", NOW + timedelta(hours=2))
        wait_for(lambda: server.count() == 1, what="the request")
        assert not harness.engine.stop(0.2)
        history = runs(harness.store, "slow")
    assert history[0].result is ScheduleRunResult.SKIPPED
    assert history[0].reason is ScheduleRunReason.SUSPENDED
    assert history[1].result is ScheduleRunResult.INTERRUPTED
    assert history[1].reason is ScheduleRunReason.STOPPING


def test_a_run_waits_for_the_repository_then_runs(harness: Harness) -> None:
    harness.engine.start()
    harness.engine.register(harness.job("sync", SYNC))
    harness.engine.fire("sync", NOW + timedelta(hours=1))
    assert [r.result for r in runs(harness.store, "sync")] == [ScheduleRunResult.RUNNING]
    harness.ready()
    wait_for(lambda: finished(harness.store, "sync"), what="the run after the first read")
