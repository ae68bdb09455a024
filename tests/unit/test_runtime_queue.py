"""The work queue: collapsing, one worker per key, delays, superseding."""

from __future__ import annotations

import threading
import time

from reconciler.runtime.queue import WorkQueue
from reconciler.runtime.requests import PlanPullRequest, ReconcileRequest, Trigger


def test_duplicates_collapse_and_keys_run_one_at_a_time() -> None:
    queue = WorkQueue()
    assert queue.put(ReconcileRequest(Trigger.POLL))
    for _ in range(50):
        assert not queue.put(ReconcileRequest(Trigger.WEBHOOK, sha="a" * 40))
    first = queue.take(timeout=1)
    assert isinstance(first, ReconcileRequest)
    assert first.trigger is Trigger.WEBHOOK and first.sha == "a" * 40
    assert queue.take(timeout=0.05) is None
    # While the key is worked on, new requests wait (and collapse) but are not handed out.
    queue.put(ReconcileRequest(Trigger.WEBHOOK, sha="b" * 40))
    queue.put(ReconcileRequest(Trigger.WEBHOOK, sha="c" * 40))
    pr = PlanPullRequest(Trigger.WEBHOOK, forge="github", repository="o/r", number=1,
                         head_sha="d" * 40)
    queue.put(pr)
    assert queue.take(timeout=1) == pr, "another key is not blocked"
    assert queue.take(timeout=0.05) is None
    queue.done(first)
    second = queue.take(timeout=1)
    assert isinstance(second, ReconcileRequest) and second.sha == "c" * 40


def test_delays_and_retries() -> None:
    queue = WorkQueue()
    queue.put(ReconcileRequest(Trigger.RETRY, attempt=2), delay=0.3)
    started = time.monotonic()
    assert queue.take(timeout=0.1) is None
    taken = queue.take(timeout=2)
    assert taken is not None and time.monotonic() - started >= 0.25
    queue.done(taken)
    # A fresh trigger cancels a retry's wait; a retry never replaces a fresh request.
    queue.put(ReconcileRequest(Trigger.RETRY, attempt=3), delay=30)
    queue.put(ReconcileRequest(Trigger.WEBHOOK))
    fresh = queue.take(timeout=1)
    assert isinstance(fresh, ReconcileRequest) and fresh.trigger is Trigger.WEBHOOK
    assert fresh.attempt == 0
    queue.done(fresh)
    queue.put(ReconcileRequest(Trigger.POLL))
    queue.put(ReconcileRequest(Trigger.RETRY, attempt=1), delay=30)
    kept = queue.take(timeout=1)
    assert isinstance(kept, ReconcileRequest) and kept.trigger is Trigger.POLL


def test_superseded_only_by_a_new_revision() -> None:
    queue = WorkQueue()
    queue.put(ReconcileRequest(Trigger.WEBHOOK, sha="a" * 40))
    running = queue.take(timeout=1)
    assert running is not None
    revision = f"main@sha1:{'a' * 40}"
    queue.put(ReconcileRequest(Trigger.POLL))
    assert queue.superseded(running, revision) is None, "a poll tick lets the apply finish"
    queue.put(ReconcileRequest(Trigger.WEBHOOK, sha="a" * 40))
    assert queue.superseded(running, revision) is None, "the same revision again"
    queue.put(ReconcileRequest(Trigger.WEBHOOK, sha="b" * 40))
    assert queue.superseded(running, revision) is not None
    watch = WorkQueue()
    watch.put(ReconcileRequest(Trigger.WATCH))
    saving = watch.take(timeout=1)
    assert saving is not None
    watch.put(ReconcileRequest(Trigger.WATCH))
    assert watch.superseded(saving, "local@working-tree") is not None


def test_take_wakes_up_on_put_and_close() -> None:
    queue = WorkQueue()
    got: list[object] = []
    worker = threading.Thread(target=lambda: got.append(queue.take(timeout=5)))
    worker.start()
    time.sleep(0.1)
    queue.put(ReconcileRequest(Trigger.API))
    worker.join(2)
    assert got and isinstance(got[0], ReconcileRequest)
    waiting = threading.Thread(target=lambda: got.append(queue.take()))
    waiting.start()
    queue.close()
    waiting.join(2)
    assert not waiting.is_alive() and got[-1] is None


def test_resource_locks_serialise_work_on_one_resource() -> None:
    from reconciler.model.common import Kind, ResourceRef
    from reconciler.runtime.locks import ResourceLocks

    locks = ResourceLocks()
    a, b = ResourceRef(kind=Kind.STACK, name="a"), ResourceRef(kind=Kind.STACK, name="b")
    order: list[str] = []
    inside = threading.Event()

    def schedule() -> None:
        inside.wait(2)
        with locks.hold([a], holder="schedule"):
            order.append("schedule")

    worker = threading.Thread(target=schedule)
    worker.start()
    with locks.hold([b, a], holder="reconcile"):
        assert locks.holders() == {a: "reconcile", b: "reconcile"}
        inside.set()
        time.sleep(0.2)
        order.append("reconcile")
    worker.join(2)
    assert order == ["reconcile", "schedule"]
    assert locks.holders() == {}
