"""What the scheduler provider observes, and the plan it makes from it.

observe -> **plan** -> apply

Observed state is every registered job (the state store's ``scheduler.jobs``)
and, inside ``bosun serve``, which of them the running scheduler holds and
when each fires next. Outside ``bosun serve`` the plan is made against what
serve last registered. Changes: ``+`` a schedule to register, ``~`` one whose
spec changed (the field diffs, plus ``nextRun`` when the timing changed), or
one the running scheduler lacks, ``-`` one removed from the repository (only
jobs of this owner).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import Field

from providers.scheduler.jobs import RegisteredJob, same_timing, spec_body
from providers.scheduler.timing import make_trigger, next_slot, show, whole_second
from reconciler.model.common import Frozen, Kind, ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.diff import diff_values
from reconciler.model.kinds import Schedule, ScheduleSpec
from reconciler.model.plan import Change, ChangeAction, FieldDiff
from reconciler.model.schedule import ScheduleRun

PROVIDER = "scheduler"


class JobState(Frozen):
    job: RegisteredJob
    scheduled: bool | None = Field(
        default=None,
        description="Held by the running scheduler of this process; None outside bosun serve.")
    # Volatile, left out of the observed digest:
    next_run: datetime | None = Field(default=None, exclude=True)
    last_run: ScheduleRun | None = Field(default=None, exclude=True)


class ScheduleObservation(Frozen):
    jobs: dict[str, JobState] = Field(default_factory=dict)
    serving: bool = Field(default=False, description="A scheduler runs in this process.")
    strays: tuple[str, ...] = Field(
        default=(), description="Jobs the running scheduler holds that are not registered.")


def next_run(spec: ScheduleSpec, anchor: datetime, now: datetime | None = None
             ) -> datetime | None:
    """When a job with this spec and anchor would fire next (None while suspended)."""
    if spec.suspend:
        return None
    return next_slot(make_trigger(spec, anchor), now or datetime.now(UTC))


def planned_anchor(spec: ScheduleSpec, current: RegisteredJob | None, now: datetime) -> datetime:
    """A job keeps its anchor while its timing is unchanged, so its slots stay put."""
    if current is not None and same_timing(current.schedule, spec):
        return current.anchor
    return whole_second(now)


def _schedules(desired: DesiredState) -> dict[str, Schedule]:
    return {r.document.name: r.document for r in desired.of_kind(Kind.SCHEDULE)
            if isinstance(r.document, Schedule)}


def describe(spec: ScheduleSpec) -> str:
    """One line: when and what (``cron 0 3 * * * (UTC): run blog/backup``)."""
    when = f"every {spec.every}" if spec.every else f"cron {spec.cron} ({spec.timezone})"
    action = spec.action
    if action.run is not None:
        what = f"run {action.run.stack}/{action.run.service}"
    elif action.exec is not None:
        what = f"exec in {action.exec.stack}/{action.exec.service}"
    elif action.http is not None:
        what = f"{action.http.method} {action.http.url}"
    else:
        targets = action.reconcile.resources if action.reconcile else []
        what = "reconcile " + (", ".join(targets) or "everything")
    extras = [f"concurrency {spec.concurrency.value}", f"missed {spec.missed.value}"]
    if spec.timeout:
        extras.append(f"timeout {spec.timeout}")
    if spec.suspend:
        extras.append("suspended")
    return f"{when}: {what} ({', '.join(extras)})"


def _next_run_diff(before: str | None, after: str | None) -> list[FieldDiff]:
    return [FieldDiff(path="nextRun", before=before, after=after)] if before != after else []


def plan_schedules(desired: DesiredState, observed: ScheduleObservation, owner: str,
                   now: datetime | None = None) -> list[Change]:
    now = now or datetime.now(UTC)
    wanted = _schedules(desired)
    changes: list[Change] = []
    for name, schedule in sorted(wanted.items()):
        ref = ResourceRef(kind=Kind.SCHEDULE, name=name)
        after = spec_body(schedule.spec)
        state = observed.jobs.get(name)
        tz = schedule.spec.timezone
        if state is None:
            nxt = next_run(schedule.spec, whole_second(now), now)
            changes.append(Change(
                action=ChangeAction.CREATE, ref=ref, provider=PROVIDER,
                reason=f"{ref} is not registered yet",
                diffs=(*diff_values({}, after, "spec"), *_next_run_diff(None, show(nxt, tz))),
                details=(describe(schedule.spec),
                         f"first run {show(nxt, tz)}" if nxt else "suspended: no runs"),
                payload={"next_run": show(nxt, tz)},
            ))
            continue
        job = state.job
        diffs = diff_values(job.spec, after, "spec")
        if not diffs and state.scheduled is not False:
            continue
        anchor = planned_anchor(schedule.spec, job, now)
        nxt = next_run(schedule.spec, anchor, now)
        before_next = state.next_run if state.scheduled else next_run(
            job.schedule, job.anchor, now)
        if not diffs:
            reason = "registered but not held by the running scheduler"
        else:
            fields = ", ".join(d.path for d in diffs[:3]) + (", ..." if len(diffs) > 3 else "")
            reason = f"changed: {fields}"
        changes.append(Change(
            action=ChangeAction.UPDATE, ref=ref, provider=PROVIDER, reason=reason,
            diffs=(*diffs, *_next_run_diff(show(before_next, job.schedule.timezone),
                                           show(nxt, tz))),
            payload={"next_run": show(nxt, tz)},
        ))
    for name, state in sorted(observed.jobs.items()):
        if name in wanted or state.job.owner != owner:
            continue
        ref = ResourceRef(kind=Kind.SCHEDULE, name=name)
        job = state.job
        before = state.next_run if state.scheduled else next_run(job.schedule, job.anchor, now)
        changes.append(Change(
            action=ChangeAction.DELETE, ref=ref, provider=PROVIDER,
            reason="removed from the repository; no further runs",
            details=(describe(job.schedule),),
            diffs=tuple(_next_run_diff(show(before, job.schedule.timezone), None)),
        ))
    for name in observed.strays:
        if name in wanted or name in observed.jobs:
            continue
        changes.append(Change(
            action=ChangeAction.DELETE, ref=ResourceRef(kind=Kind.SCHEDULE, name=name),
            provider=PROVIDER, reason="held by the running scheduler but no longer registered",
        ))
    return changes
