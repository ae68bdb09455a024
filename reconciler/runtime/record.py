"""Stage *record*: turn a plan, its apply report and health into resource status.

... -> plan -> apply -> **record**

Pure functions: ``resource_statuses`` computes each resource's sync, health,
conditions and revisions from what one reconcile saw and did; the runtime
writes the result to the state store (and, later, the status branch, the API
and the metrics read it from there).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.plan import ApplyReport, ChangeAction, ChangeOutcome, ChangeResult, Plan
from reconciler.model.status import (
    Condition,
    ConditionType,
    Health,
    HealthState,
    HistoryEntry,
    ResourceDetails,
    ResourceStatus,
    Sync,
)
from reconciler.status.details import merge_details


@dataclass
class Recorded:
    """What the record step decided: statuses to store, rows to drop, history to add."""

    statuses: list[ResourceStatus] = field(default_factory=list)
    removed: list[ResourceRef] = field(default_factory=list)
    history: list[tuple[ResourceRef, HistoryEntry]] = field(default_factory=list)


def _condition(kind: ConditionType, status: bool, reason: str, message: str,
               previous: ResourceStatus | None, now: datetime) -> Condition:
    old = next((c for c in previous.conditions if c.type is kind), None) if previous else None
    since = old.last_transition if old is not None and old.status == status else now
    return Condition(type=kind, status=status, reason=reason, message=message,
                     last_transition=since)


def _outcome(results: Sequence[ChangeResult]) -> str:
    outcomes = {r.outcome for r in results}
    for worst in (ChangeOutcome.FAILED, ChangeOutcome.ROLLED_BACK, ChangeOutcome.SKIPPED):
        if worst in outcomes:
            return worst.value
    return ChangeOutcome.APPLIED.value


def resource_statuses(
    desired: DesiredState,
    managed: Mapping[str, frozenset[Kind]],
    plan: Plan,
    report: ApplyReport | None,
    health: Mapping[ResourceRef, Health],
    suspended: Mapping[ResourceRef, str],
    previous: Mapping[ResourceRef, ResourceStatus],
    revision: str,
    started: datetime,
    now: datetime,
    details: Mapping[ResourceRef, ResourceDetails] | None = None,
) -> Recorded:
    """Status of every resource a provider manages, after one reconcile.

    ``managed`` maps provider names to their kinds; ``suspended`` maps
    suspended resources to the reason given; ``details`` is what providers
    recorded about each resource (services, containers, upstreams).
    """
    out = Recorded()
    kinds = frozenset(k for ks in managed.values() for k in ks)
    changes = defaultdict(list)
    for change in plan.changes:
        changes[change.ref].append(change)
    results: dict[ResourceRef, list[ChangeResult]] = defaultdict(list)
    for result in report.results if report else ():
        results[result.ref].append(result)
    errors: dict[ResourceRef | None, list[str]] = defaultdict(list)
    provider_errors: dict[Kind, list[str]] = defaultdict(list)
    for err in plan.errors:
        if err.ref is not None:
            errors[err.ref].append(err.message)
        else:
            for kind in managed.get(err.provider, frozenset()):
                provider_errors[kind].append(err.message)

    def unreadable(ref: ResourceRef) -> str:
        return "; ".join(errors.get(ref, []) + provider_errors.get(ref.kind, []))

    for res in desired.resources:
        ref = res.ref
        if ref.kind not in kinds:
            continue
        prev = previous.get(ref)
        mine = results.get(ref, [])
        problem = unreadable(ref)
        failed = [r for r in mine if r.outcome is not ChangeOutcome.APPLIED]
        if problem:
            sync = Sync.UNKNOWN
        elif not changes.get(ref) or (mine and not failed and
                                      len(mine) == len(changes[ref])):
            sync = Sync.SYNCED
        else:
            sync = Sync.OUT_OF_SYNC
        if ref in suspended:
            state = Health(state=HealthState.SUSPENDED, reason="Suspended",
                           message=suspended[ref] or "suspended with bosun suspend")
        else:
            state = health.get(ref, Health(state=HealthState.UNKNOWN, reason="NotObserved"))
        permanent = [r for r in failed if r.outcome is ChangeOutcome.FAILED
                     and "retry_after" not in r.data]
        ready = sync is Sync.SYNCED and state.state is HealthState.HEALTHY
        conditions = (
            _condition(ConditionType.READY, ready,
                       "Ready" if ready else (state.reason or sync.value),
                       state.message, prev, now),
            _condition(ConditionType.RECONCILING, False, "Idle", "", prev, now),
            _condition(ConditionType.STALLED, bool(permanent or problem),
                       "ApplyFailed" if permanent else ("ObserveFailed" if problem else ""),
                       "; ".join(r.message for r in permanent) or problem, prev, now),
        )
        attempted = revision if mine else (prev.last_attempted_revision if prev else None)
        # The revision whose version of this resource is running: it moves when
        # the resource's own desired state (digest) was applied, not with every
        # commit to the repository, so the status branch changes only for it.
        kept = prev.last_applied_revision if prev else None
        moved = mine or kept is None or prev is None or prev.digest != res.digest
        applied = revision if sync is Sync.SYNCED and moved else kept
        out.statuses.append(ResourceStatus(
            ref=ref, sync=sync, health=state, conditions=conditions,
            last_applied_revision=applied, last_attempted_revision=attempted or applied,
            digest=res.digest, details=merge_details(res, (details or {}).get(ref)),
        ))
        if mine:
            out.history.append((ref, _entry(revision, res.digest, mine, started, now)))

    def unconfirmed(ref: ResourceRef) -> str:
        """Why a resource gone from the repository may still run: its provider could
        not read where it lives (an engine, a gateway, a zone), so planned no delete."""
        for err in plan.errors:
            if ref.kind in managed.get(err.provider, frozenset()) and (
                    err.ref is None or err.ref.kind is not ref.kind):
                return err.message
        return ""

    desired_refs = set(desired.refs())
    for ref, prev in previous.items():
        if ref in desired_refs:
            continue
        mine = results.get(ref, [])
        pending_delete = [c for c in changes.get(ref, []) if c.action is ChangeAction.DELETE]
        if mine:
            out.history.append((ref, _entry(revision, "", mine, started, now)))
        deleted = mine and all(r.outcome is ChangeOutcome.APPLIED for r in mine)
        if pending_delete and not deleted:
            out.statuses.append(prev.model_copy(update={
                "sync": Sync.OUT_OF_SYNC,
                "health": Health(state=HealthState.SUSPENDED, reason="Suspended",
                                 message=suspended[ref]) if ref in suspended else
                Health(state=HealthState.UNKNOWN, reason="PendingDeletion",
                       message="removed from the repository; not deleted yet"),
                "history": (),
            }))
        elif not deleted and (why := unconfirmed(ref)):
            out.statuses.append(prev.model_copy(update={
                "sync": Sync.UNKNOWN,
                "health": Health(state=HealthState.UNKNOWN, reason="NotObserved",
                                 message=f"removed from the repository; not checked: {why}"),
                "history": (),
            }))
        else:
            out.removed.append(ref)
    for ref, mine in results.items():
        if ref not in desired_refs and ref not in previous:
            out.history.append((ref, _entry(revision, "", mine, started, now)))
    return out


def _entry(revision: str, digest: str, results: Sequence[ChangeResult], started: datetime,
           now: datetime) -> HistoryEntry:
    begun = [r.started_at for r in results if r.started_at]
    ended = [r.finished_at for r in results if r.finished_at]
    return HistoryEntry(
        revision=revision, digest=digest, started_at=min(begun) if begun else started,
        finished_at=max(ended) if ended else now, result=_outcome(results),
        changes=tuple(_line(r) for r in results),
    )


def _line(result: ChangeResult) -> str:
    text = f"{result.action.value} {result.outcome.value}"
    return f"{text}: {result.message}" if result.message else text


def applying_statuses(refs: Iterable[ResourceRef], previous: Mapping[ResourceRef, ResourceStatus],
                      revision: str, now: datetime) -> list[ResourceStatus]:
    """Statuses to store before applying: condition Reconciling, last attempted revision."""
    out = []
    for ref in refs:
        prev = previous.get(ref) or ResourceStatus(
            ref=ref, sync=Sync.OUT_OF_SYNC,
            health=Health(state=HealthState.PROGRESSING, reason="Applying"))
        others = tuple(c for c in prev.conditions if c.type is not ConditionType.RECONCILING)
        reconciling = _condition(ConditionType.RECONCILING, True, "Applying",
                                 f"applying {revision}", prev, now)
        out.append(prev.model_copy(update={
            "conditions": (*others, reconciling), "last_attempted_revision": revision,
            "history": (),
        }))
    return out


def change_lines(plan: Plan, refs: Iterable[ResourceRef] | None = None) -> list[str]:
    """One line per change (``~ Stack/blog: changed: spec.env``) for runs and events."""
    wanted = set(refs) if refs is not None else None
    return [f"{c.action.mark} {c.ref}: {c.reason}" for c in plan.changes
            if wanted is None or c.ref in wanted]
