"""The record step and stopping an apply early, with the memory provider."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from reconciler.model.common import Kind, ResourceRef
from reconciler.model.plan import ChangeOutcome, Plan, PlanError
from reconciler.model.status import ConditionType, HealthState, ResourceStatus, Sync
from reconciler.pipeline import Reconciler, load_desired
from reconciler.provider import ApplyOptions
from reconciler.runtime.record import resource_statuses

A = ResourceRef(kind=Kind.STACK, name="a")
B = ResourceRef(kind=Kind.STACK, name="b")
C = ResourceRef(kind=Kind.STACK, name="c")


def write_repo(root: Path, names: dict[str, str | None]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    text = ""
    for name, depends in names.items():
        dep = f"\n  dependsOn: [{depends}]" if depends else ""
        text += (f"---\napiVersion: bosun/v1\nkind: Stack\nmetadata: {{name: {name}}}\n"
                 f"spec:{dep}\n  compose: {{services: {{app: {{image: x}}}}}}\n")
    (root / "stacks.yaml").write_text(text)


def test_stop_between_batches_and_statuses(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_repo(root, {"a": None, "b": "a", "c": None})
    reconciler = Reconciler(state_dir=tmp_path / "state", provider_names=["memory"])
    desired = load_desired(root)
    reconciler.apply(reconciler.plan(desired), desired)  # c exists from now on

    write_repo(root, {"a": None, "b": "a"})
    (root / "stacks.yaml").write_text((root / "stacks.yaml").read_text().replace("x}", "y}"))
    desired = load_desired(root)
    plan, _ = reconciler.observe_and_plan(desired)
    assert {(str(c.ref), c.action.value) for c in plan.changes} == {
        ("Stack/a", "update"), ("Stack/b", "update"), ("Stack/c", "delete")}
    asked: list[int] = []

    def stop() -> str | None:
        asked.append(1)
        return "superseded by a newer request (webhook)" if len(asked) > 1 else None

    one_at_a_time = Reconciler(state_dir=tmp_path / "state", provider_names=["memory"],
                               options=ApplyOptions(concurrency=1))
    report = one_at_a_time.apply(plan, desired, should_stop=stop)
    outcomes = {r.ref: r.outcome for r in report.results}
    assert outcomes == {A: ChangeOutcome.APPLIED, B: ChangeOutcome.SKIPPED,
                        C: ChangeOutcome.SKIPPED}, "a first, in dependency order; then stopped"
    skipped = [r for r in report.results if r.outcome is ChangeOutcome.SKIPPED]
    assert all(r.message == "not applied: superseded by a newer request (webhook)"
               for r in skipped)

    health = reconciler.health(desired, reconciler.observe(desired))
    previous = {C: ResourceStatus(ref=C, sync=Sync.SYNCED)}
    now = datetime.now(UTC)
    recorded = resource_statuses(
        desired, {p.name: p.kinds for p in reconciler.providers}, plan, report, health,
        {B: "migrating"}, previous, "main@sha1:" + "1" * 40, now, now,
    )
    by_ref = {s.ref: s for s in recorded.statuses}
    assert by_ref[A].sync is Sync.SYNCED and by_ref[A].health.state is HealthState.HEALTHY
    assert by_ref[A].last_applied_revision == "main@sha1:" + "1" * 40
    assert by_ref[B].sync is Sync.OUT_OF_SYNC
    assert by_ref[B].health.state is HealthState.SUSPENDED
    assert by_ref[B].health.message == "migrating"
    assert by_ref[C].sync is Sync.OUT_OF_SYNC and by_ref[C].health.reason == "PendingDeletion"
    assert recorded.removed == []
    ready = {c.type: c for c in by_ref[B].conditions}
    assert ready[ConditionType.READY].status is False
    assert {ref for ref, _ in recorded.history} == {A, B, C}


def test_a_removed_resource_keeps_its_status_while_its_engine_cannot_be_read(
        tmp_path: Path) -> None:
    """A failed read is never "nothing exists": not for deletes, not for status either."""
    root = tmp_path / "repo"
    write_repo(root, {"a": None})
    desired = load_desired(root)
    now = datetime.now(UTC)
    managed = {"compose": frozenset({Kind.STACK})}
    previous = {C: ResourceStatus(ref=C, sync=Sync.SYNCED)}
    host_down = Plan(revision="r", desired_digest="d", observed_digest="o", errors=(
        PlanError(provider="compose", ref=ResourceRef(kind=Kind.HOST, name="local"),
                  message="cannot reach docker engine"),))
    recorded = resource_statuses(desired, managed, host_down, None, {}, {}, previous, "r",
                                 now, now)
    [kept] = [s for s in recorded.statuses if s.ref == C]
    assert recorded.removed == []
    assert (kept.sync, kept.health.state, kept.health.reason) == (
        Sync.UNKNOWN, HealthState.UNKNOWN, "NotObserved")
    assert kept.health.message == ("removed from the repository; not checked: "
                                   "cannot reach docker engine")

    # An error about another stack (it does not render) says nothing about C.
    other = Plan(revision="r", desired_digest="d", observed_digest="o", errors=(
        PlanError(provider="compose", ref=A, message="docker compose config failed"),))
    recorded = resource_statuses(desired, managed, other, None, {}, {}, previous, "r", now, now)
    assert recorded.removed == [C]
