"""Read models built from the state store, shared by the API, the dashboard and ``bosun status``.

Part of the API (read side of stage *record*). Every function takes the
store and returns one of ``reconciler.api.models``; nothing here writes.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from reconciler.api.models import (
    Counts,
    Overview,
    PlanChange,
    PlanListItem,
    PlannedChange,
    PlanView,
    ResourceDetail,
    ResourceSummary,
)
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.status import ConditionType, HealthState, ResourceStatus, Sync
from reconciler.state import PlanRecord, StateStore, SuspendedRecord

# Worst first: what needs a person's attention comes first everywhere.
HEALTH_ORDER = {
    HealthState.DEGRADED: 0, HealthState.MISSING: 1, HealthState.UNKNOWN: 2,
    HealthState.PROGRESSING: 3, HealthState.SUSPENDED: 4, HealthState.HEALTHY: 5,
}
SYNC_ORDER = {Sync.OUT_OF_SYNC: 0, Sync.UNKNOWN: 1, Sync.SYNCED: 2}


def summary(status: ResourceStatus, suspended: bool = False) -> ResourceSummary:
    reconciling = status.condition(ConditionType.RECONCILING)
    stalled = status.condition(ConditionType.STALLED)
    ready = status.condition(ConditionType.READY)
    message = status.health.message
    if stalled is not None and stalled.status and stalled.message:
        message = stalled.message
    return ResourceSummary(
        kind=status.ref.kind, name=status.ref.name, sync=status.sync,
        health=status.health.state, reason=status.health.reason, message=message,
        ready=bool(ready and ready.status),
        reconciling=bool(reconciling and reconciling.status),
        step=reconciling.message if reconciling is not None and reconciling.status else "",
        stalled=bool(stalled and stalled.status), suspended=suspended,
        last_applied_revision=status.last_applied_revision,
        last_attempted_revision=status.last_attempted_revision,
    )


def failing_first(items: list[ResourceSummary]) -> list[ResourceSummary]:
    return sorted(items, key=lambda s: (not s.stalled, HEALTH_ORDER[s.health],
                                        SYNC_ORDER[s.sync], s.kind.value, s.name))


def summary_of(body: dict[str, Any], suspended: bool = False) -> ResourceSummary:
    """``summary`` from a stored status body, without validating the whole status."""
    conditions = {c.get("type"): c for c in body.get("conditions") or ()}
    reconciling = conditions.get(ConditionType.RECONCILING.value) or {}
    stalled = conditions.get(ConditionType.STALLED.value) or {}
    ready = conditions.get(ConditionType.READY.value) or {}
    health = body.get("health") or {}
    message = health.get("message") or ""
    if stalled.get("status") and stalled.get("message"):
        message = stalled["message"]
    ref = body["ref"]
    return ResourceSummary.model_construct(
        kind=Kind(ref["kind"]), name=ref["name"], sync=Sync(body.get("sync", "Unknown")),
        health=HealthState(health.get("state", "Unknown")), reason=health.get("reason") or "",
        message=message, ready=bool(ready.get("status")),
        reconciling=bool(reconciling.get("status")),
        step=(reconciling.get("message") or "") if reconciling.get("status") else "",
        stalled=bool(stalled.get("status")), suspended=suspended,
        last_applied_revision=body.get("last_applied_revision"),
        last_attempted_revision=body.get("last_attempted_revision"),
    )


def summaries(store: StateStore, kind: Kind | None = None, sync: Sync | None = None,
              health: HealthState | None = None) -> list[ResourceSummary]:
    suspended = {str(ref) for ref in store.suspended()}
    out = []
    for body in store.status_bodies():
        item = summary_of(body, f"{body['ref']['kind']}/{body['ref']['name']}" in suspended)
        if kind is not None and item.kind is not kind:
            continue
        if sync is not None and item.sync is not sync:
            continue
        if health is not None and item.health is not health:
            continue
        out.append(item)
    return out


def counts(items: list[ResourceSummary]) -> Counts:
    by_sync = Counter(s.sync.value for s in items)
    by_health = Counter(s.health.value for s in items)
    return Counts(sync={k.value: by_sync.get(k.value, 0) for k in Sync},
                  health={k.value: by_health.get(k.value, 0) for k in HealthState},
                  total=len(items))


def overview(store: StateStore) -> Overview:
    items = failing_first(summaries(store))
    sources = store.sources()
    runs = store.runs(1)
    revision = next((s.revision for s in sources if s.revision), None)
    return Overview(sources=sources, last_run=runs[0] if runs else None, revision=revision,
                    counts=counts(items), resources=items,
                    suspended=list(store.suspended().values()))


def resource_detail(store: StateStore, ref: ResourceRef, events: int = 20
                    ) -> ResourceDetail | None:
    status = store.status(ref)
    if status is None:
        return None
    suspended: SuspendedRecord | None = store.suspended().get(ref)
    last = store.last_changes(ref, 1)
    change = None
    if last:
        rec = last[0]
        change = PlannedChange(plan_id=rec.plan_id, revision=rec.revision,
                               created_at=rec.created_at,
                               change=PlanChange.model_validate(rec.change))
    return ResourceDetail(status=status, summary=summary(status, suspended is not None),
                          suspended=suspended, last_change=change,
                          events=store.event_page(limit=events, ref=ref))


def plan_view(record: PlanRecord) -> PlanView:
    return PlanView.model_validate({**record.body, "id": record.id, "run_id": record.run_id})


def plan_item(record: PlanRecord) -> PlanListItem:
    return PlanListItem(id=record.id, run_id=record.run_id, revision=record.revision,
                        created_at=record.created_at, digest=record.digest,
                        summary=record.summary, changes=record.changes)
