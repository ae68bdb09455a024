"""``SchedulerProvider``: Schedules, registered in the state store and run by ``bosun serve``.

The provider Protocol's entry points, wired to this package's modules:
``jobs`` (registrations and handled slots in the state store), ``planner``
(observation and plan), ``timing`` (cron, every, slots), ``engine``
(APScheduler and the runs, inside ``bosun serve``), ``actions`` with
``containers`` (run, exec, http, reconcile; ``runs`` holds what they share),
``output`` (the redacted tail of a run's output) and ``cleanup`` (run
containers a killed process left).

``observe`` reads the registered jobs, and inside ``bosun serve`` what the
running scheduler holds; ``apply`` registers, changes or removes jobs (and,
inside ``bosun serve``, the running scheduler's jobs with them). Outside
``bosun serve``, ``bosun apply`` only registers: the jobs run once ``bosun
serve`` runs with the same state folder.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from providers.compose.render import Renderers
from providers.engine import EngineClients
from providers.scheduler.cleanup import remove_leftovers
from providers.scheduler.engine import ScheduleEngine
from providers.scheduler.jobs import JobBook, RegisteredJob, spec_body
from providers.scheduler.planner import (
    PROVIDER,
    JobState,
    ScheduleObservation,
    next_run,
    plan_schedules,
    planned_anchor,
)
from providers.scheduler.runs import RunContext
from providers.scheduler.timing import show
from reconciler.errors import ObserveError, PermanentError
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.digest import digest, short
from reconciler.model.kinds import Schedule
from reconciler.model.plan import Change, ChangeAction, ChangeOutcome, ChangeResult
from reconciler.model.schedule import ScheduleRunResult
from reconciler.model.status import Health, HealthState
from reconciler.provider import KeyValueStore, ProviderContext, ServiceHost


class SchedulerProvider:
    name = PROVIDER
    kinds = frozenset({Kind.SCHEDULE})

    def __init__(self, clients: EngineClients | None = None) -> None:
        self.clients = clients or EngineClients()
        self.engine: ScheduleEngine | None = None
        self._renderers = Renderers()
        self._lock = threading.Lock()
        self._cleaned = False

    # -- helpers ----------------------------------------------------------------

    def _book(self, ctx: ProviderContext) -> JobBook:
        kv: KeyValueStore | None = ctx.kv
        if kv is None:
            raise ObserveError("schedules are registered in the state store, and bosun runs "
                               "without one here")
        return JobBook(kv)

    def _hand_over(self, desired: DesiredState, ctx: ProviderContext) -> None:
        """Give the running scheduler the repository and secrets of the latest reconcile
        (from ``apply`` and ``health``: what was reconciled, not what was only planned)."""
        engine = self.engine
        if engine is None:
            return
        instance = short(digest(str(ctx.state_dir.resolve())))
        rc = RunContext(desired=desired, ctx=ctx, clients=self.clients,
                        renderer=self._renderers.of(ctx.state_dir), host=engine.host,
                        instance=instance)
        engine.set_context(rc)
        with self._lock:
            first, self._cleaned = not self._cleaned, True
        if first:
            threading.Thread(target=remove_leftovers, args=(rc, engine.active), daemon=True,
                             name="bosun-schedule-cleanup").start()

    # -- Protocol -----------------------------------------------------------------

    def observe(self, desired: DesiredState, ctx: ProviderContext) -> ScheduleObservation:
        jobs = self._book(ctx).jobs()
        engine = self.engine
        if engine is None:
            return ScheduleObservation(jobs={n: JobState(job=j) for n, j in jobs.items()})
        held = engine.registered()
        last_runs = engine.host.runs.last_schedule_runs()
        states = {
            name: JobState(job=job, scheduled=name in held and held[name][0] == job,
                           next_run=held[name][1] if name in held else None,
                           last_run=last_runs.get(name))
            for name, job in jobs.items()
        }
        strays = tuple(sorted(n for n in held if n not in jobs))
        return ScheduleObservation(jobs=states, serving=True, strays=strays)

    def plan(self, desired: DesiredState, observed: ScheduleObservation,
             ctx: ProviderContext) -> list[Change]:
        return plan_schedules(desired, observed, ctx.owner)

    def batch_key(self, change: Change) -> str:
        return str(change.ref)

    def apply(self, changes: Sequence[Change], desired: DesiredState,
              ctx: ProviderContext) -> list[ChangeResult]:
        book = self._book(ctx)
        self._hand_over(desired, ctx)
        return [self._apply_one(change, desired, ctx, book) for change in changes]

    def _apply_one(self, change: Change, desired: DesiredState, ctx: ProviderContext,
                   book: JobBook) -> ChangeResult:
        started = datetime.now(UTC)
        name = change.ref.name
        engine = self.engine
        if change.action is ChangeAction.DELETE:
            book.delete(name)
            if engine is not None:
                engine.unregister(name)
            return ChangeResult(ref=change.ref, action=change.action,
                                outcome=ChangeOutcome.APPLIED, message="no further runs",
                                started_at=started, finished_at=datetime.now(UTC), writes=1)
        res = desired.get(change.ref)
        if res is None or not isinstance(res.document, Schedule):
            raise PermanentError("not in the desired state", change.ref)
        spec = res.document.spec
        old = book.get(name)
        anchor = planned_anchor(spec, old, started)
        job = RegisteredJob(name=name, owner=ctx.owner, spec=spec_body(spec),
                            revision=str(desired.revision), anchor=anchor,
                            registered_at=started)
        book.put(job)
        planned = next_run(spec, anchor, started)
        if old is None:
            book.reset_slot(name, anchor, planned)
        if engine is not None:
            engine.register(job)
            held = engine.registered().get(name)
            nxt = held[1] if held is not None else None
            where = "registered with the running scheduler"
        else:
            nxt = planned
            book.set_next(name, nxt)
            where = "registered; it runs while bosun serve runs with this state folder"
        shown = show(nxt, spec.timezone)
        return ChangeResult(
            ref=change.ref, action=change.action, outcome=ChangeOutcome.APPLIED,
            message=f"{where}; next run {shown}" if shown else f"{where}; suspended",
            started_at=started, finished_at=datetime.now(UTC), writes=1,
            data={"next_run": shown},
        )

    def health(self, desired: DesiredState, observed: ScheduleObservation,
               ctx: ProviderContext) -> dict[ResourceRef, Health]:
        # Health is read once per reconcile of the followed revision, never for a
        # plan alone (a pull request's plan must not change what runs use).
        self._hand_over(desired, ctx)
        out: dict[ResourceRef, Health] = {}
        for res in desired.of_kind(Kind.SCHEDULE):
            schedule = res.document
            if not isinstance(schedule, Schedule):
                continue
            state = observed.jobs.get(schedule.name)
            if state is None:
                out[res.ref] = Health(state=HealthState.MISSING, reason="NotRegistered")
                continue
            if state.job.spec != spec_body(schedule.spec) or state.scheduled is False:
                out[res.ref] = Health(state=HealthState.PROGRESSING, reason="NotRegistered",
                                      message="the change is not registered yet")
                continue
            if schedule.spec.suspend:
                out[res.ref] = Health(state=HealthState.SUSPENDED, reason="Suspended",
                                      message="spec.suspend: true")
                continue
            last = state.last_run
            if last is not None and last.result is not ScheduleRunResult.SUCCEEDED:
                out[res.ref] = Health(
                    state=HealthState.DEGRADED, reason="LastRunFailed",
                    message=f"run {last.id} {last.result.value}: {last.message}"[:300])
            else:
                # No next run time here: status should change when the schedule
                # does, not with every tick of the clock.
                out[res.ref] = Health(state=HealthState.HEALTHY, reason="Scheduled")
        return out

    # -- bosun serve ------------------------------------------------------------------

    def start_background(self, host: ServiceHost) -> None:
        engine = ScheduleEngine(host)
        self.engine = engine
        try:
            engine.start()
        except BaseException:
            self.engine = None
            raise

    def stop_background(self, timeout: float) -> bool:
        engine, self.engine = self.engine, None
        if engine is None:
            return True
        return engine.stop(timeout)
