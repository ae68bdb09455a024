"""A schedule's ``reconcile`` action: a request for selected resources, and what the
reconcile then applies (only those; the rest waits and shows out of sync)."""

from __future__ import annotations

from pathlib import Path

from reconciler.model.common import Kind, ResourceRef
from reconciler.model.status import Sync
from reconciler.pipeline import Reconciler
from reconciler.runtime import ReconcileCycle
from reconciler.runtime.requests import ReconcileRequest, Trigger
from reconciler.source.local import LocalSource
from reconciler.state import RunState, StateStore

A = ResourceRef(kind=Kind.STACK, name="a")
B = ResourceRef(kind=Kind.STACK, name="b")


def test_selections_add_up_and_everything_covers_them() -> None:
    first = ReconcileRequest(Trigger.SCHEDULE, resources=frozenset({A}))
    both = first.merge(ReconcileRequest(Trigger.SCHEDULE, resources=frozenset({B})))
    assert isinstance(both, ReconcileRequest) and both.resources == {A, B}
    everything = both.merge(ReconcileRequest(Trigger.POLL))
    assert isinstance(everything, ReconcileRequest) and everything.resources == frozenset()
    still = ReconcileRequest(Trigger.POLL).merge(first)
    assert isinstance(still, ReconcileRequest) and still.resources == frozenset()
    retry = first.merge(ReconcileRequest(Trigger.RETRY, attempt=2))
    assert isinstance(retry, ReconcileRequest) and retry.trigger is Trigger.SCHEDULE
    assert retry.resources == frozenset()


def stack(name: str, version: str) -> str:
    return (f"apiVersion: bosun/v1\nkind: Stack\nmetadata: {{name: {name}}}\nspec:\n"
            f"  compose:\n    services:\n      app: {{image: 'busybox:{version}'}}\n")


def test_a_selective_reconcile_applies_only_the_selection(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.yaml").write_text(stack("a", "1"))
    (root / "b.yaml").write_text(stack("b", "1"))
    store = StateStore(tmp_path / "state")
    reconciler = Reconciler(state_dir=tmp_path / "state", provider_names=["memory"], kv=store)
    cycle = ReconcileCycle(LocalSource(root), reconciler, store)
    assert cycle.run("startup").state is RunState.SUCCEEDED

    (root / "a.yaml").write_text(stack("a", "2"))
    (root / "b.yaml").write_text(stack("b", "2"))
    result = cycle.run("schedule", only={A})
    assert result.state is RunState.SUCCEEDED and result.changes == 1
    run = store.run(result.run_id or 0)
    assert run is not None and "(1 not selected)" in run.summary
    sync = {s.ref: s.sync for s in store.statuses()}
    assert sync[A] is Sync.SYNCED and sync[B] is Sync.OUT_OF_SYNC
    assert cycle.run("poll").changes == 1  # b, now
    assert {s.ref: s.sync for s in store.statuses()}[B] is Sync.SYNCED
    store.close()
