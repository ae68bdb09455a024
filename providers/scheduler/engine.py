"""The running scheduler of ``bosun serve``: APScheduler fires slots, bosun runs them.

apply (register / unregister) -> **engine** -> actions -> history

APScheduler (3.x, a ``BackgroundScheduler``) only keeps time: its executor
here hands each due slot to ``ScheduleEngine.fire`` instead of calling a
function. ``fire`` claims the slot in the state store first (a slot is
handled at most once, across restarts), then applies ``suspend`` and
``concurrency`` (``forbid`` records a skipped run, ``replace`` stops the
running ones, ``allow`` starts another) and starts the run on its own
thread: runs never occupy the runtime's reconcile workers. A run waits its
jitter, then runs its action under ``timeout`` and records its end.

At start-up, runs a previous process left ``running`` are marked
interrupted, every registered job is loaded, and a slot that passed while
bosun was down is run once (``missed: run-once``, trigger ``missed``) or
recorded as skipped (``missed: skip``). Runs need the repository (stack
definitions, secrets): they wait for the first reconcile to read it.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.base import BaseExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.util import undefined

from providers.scheduler.actions import make_action, redaction_values
from providers.scheduler.jobs import JobBook, RegisteredJob
from providers.scheduler.output import OutputTail
from providers.scheduler.runs import Action, Outcome, RunContext
from providers.scheduler.timing import make_trigger, missed_slots, next_slot
from reconciler.errors import BosunError
from reconciler.model.common import Kind, ResourceRef, duration_seconds
from reconciler.model.kinds import Concurrency, Missed
from reconciler.model.schedule import (
    ScheduleRun,
    ScheduleRunReason,
    ScheduleRunResult,
    ScheduleTrigger,
)
from reconciler.model.sensitive import redact
from reconciler.provider import ServiceHost

log = logging.getLogger("bosun.scheduler")

READY_TIMEOUT = 300.0
"""How long a run waits for the first reconcile to read the repository."""
STOP_GRACE = 12.0
"""How long ``stop`` waits for stopped runs to record how they ended."""
POLL = 0.1

_STOPPED = {
    ScheduleRunReason.TIMEOUT: (ScheduleRunResult.FAILED, "stopped: ran past its timeout of {}"),
    ScheduleRunReason.REPLACED: (ScheduleRunResult.FAILED,
                                 "stopped: a newer run replaced it (concurrency: replace)"),
    ScheduleRunReason.STOPPING: (ScheduleRunResult.INTERRUPTED,
                                 "stopped: bosun serve is stopping"),
}


def _noop() -> None:  # APScheduler wants a callable; the executor below never calls it
    return None


class _SlotExecutor(BaseExecutor):  # type: ignore[misc]
    """Hands due slots to the engine; APScheduler's documented extension point.

    APScheduler submits while holding its job store lock, and the engine calls
    APScheduler while holding its own: the slot is handed over on a thread of
    its own so that the two locks are never taken in opposite orders.
    """

    def __init__(self, fire: Callable[[str, datetime], None]) -> None:
        super().__init__()
        self._fire = fire

    def submit_job(self, job: Any, run_times: list[datetime]) -> None:
        if run_times:
            threading.Thread(target=self._fire, args=(str(job.id), run_times[-1]),
                             name=f"bosun-slot-{job.id}", daemon=True).start()

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        self.submit_job(job, run_times)


@dataclass
class _Active:
    run: ScheduleRun
    job: RegisteredJob
    cancelled: threading.Event = field(default_factory=threading.Event)
    reason: ScheduleRunReason | None = None
    action: Action | None = None
    thread: threading.Thread | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def cancel(self, reason: ScheduleRunReason) -> None:
        with self.lock:
            if self.reason is None:
                self.reason = reason
            self.cancelled.set()
            action = self.action
        if action is not None:
            action.kill()


class ScheduleEngine:
    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        self.book = JobBook(host.kv)
        self._jobs: dict[str, RegisteredJob] = {}
        self._triggers: dict[str, BaseTrigger] = {}
        self._active: dict[str, dict[int, _Active]] = {}
        self._lock = threading.RLock()
        self._ready = threading.Event()
        self._context: RunContext | None = None
        self._stopping = False
        self._scheduler = BackgroundScheduler(
            executors={"default": _SlotExecutor(self.fire)}, timezone=UTC, daemon=True)

    # -- life cycle -------------------------------------------------------------

    def start(self) -> None:
        for run in self.host.runs.interrupt_schedule_runs(
                "bosun stopped while this run went on"):
            log.warning("schedule %s: run %s was interrupted by a restart", run.schedule, run.id)
        jobs = self.book.jobs()
        self._scheduler.start()
        with self._lock:
            for job in jobs.values():
                self._jobs[job.name] = job
                self._add(job)
        for job in jobs.values():
            self._catch_up(job)

    def stop(self, timeout: float) -> bool:
        """Fire nothing more; let runs finish within ``timeout``, then stop them."""
        with self._lock:
            self._stopping = True
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        deadline = time.monotonic() + timeout
        while self.active() and time.monotonic() < deadline:
            time.sleep(POLL)
        left = [a for runs in self._snapshot().values() for a in runs]
        for active in left:
            log.warning("schedule %s: stopping run %s (bosun is stopping)", active.job.name,
                        active.run.id)
            active.cancel(ScheduleRunReason.STOPPING)
        for active in left:
            if active.thread is not None:
                active.thread.join(STOP_GRACE)
        return not left

    def set_context(self, context: RunContext) -> None:
        """The latest reconcile's desired state and secrets: what runs use."""
        with self._lock:
            self._context = context
        self._ready.set()

    # -- registration -------------------------------------------------------------

    def _add(self, job: RegisteredJob) -> None:
        spec = job.schedule
        trigger = make_trigger(spec, job.anchor)
        self._triggers[job.name] = trigger
        aps = self._scheduler.add_job(
            _noop, trigger, id=job.name, name=f"Schedule/{job.name}",
            replace_existing=True, coalesce=True, misfire_grace_time=None, max_instances=1,
            next_run_time=None if spec.suspend else undefined,
        )
        self.book.set_next(job.name, getattr(aps, "next_run_time", None))

    def _following(self, job: RegisteredJob, slot: datetime) -> datetime | None:
        trigger = self._triggers.get(job.name)
        if trigger is None or job.schedule.suspend:
            return None
        return next_slot(trigger, slot)

    def register(self, job: RegisteredJob) -> None:
        with self._lock:
            self._jobs[job.name] = job
            self._add(job)

    def unregister(self, name: str) -> None:
        """No further runs; runs going on finish."""
        with self._lock:
            self._jobs.pop(name, None)
            self._triggers.pop(name, None)
            with contextlib.suppress(JobLookupError):
                self._scheduler.remove_job(name)

    def registered(self) -> dict[str, tuple[RegisteredJob, datetime | None]]:
        """Jobs held by the scheduler, with their next run time (None when suspended)."""
        with self._lock:
            out: dict[str, tuple[RegisteredJob, datetime | None]] = {}
            for aps in self._scheduler.get_jobs():
                job = self._jobs.get(aps.id)
                if job is not None:
                    nxt = aps.next_run_time
                    out[aps.id] = (job, nxt.astimezone(UTC) if nxt is not None else None)
            return out

    def active(self) -> dict[str, list[int]]:
        """Run ids going on, by schedule."""
        return {name: sorted(a.run.id for a in runs if a.run.id is not None)
                for name, runs in self._snapshot().items()}

    def _snapshot(self) -> dict[str, list[_Active]]:
        with self._lock:
            return {name: list(runs.values()) for name, runs in self._active.items() if runs}

    # -- firing --------------------------------------------------------------------

    def _catch_up(self, job: RegisteredJob) -> None:
        spec = job.schedule
        if spec.suspend:
            return
        last = self.book.last_slot(job.name)
        baseline = max(last, job.anchor) if last is not None else job.anchor
        aps = self._scheduler.get_job(job.name)
        live = aps.next_run_time if aps is not None else None
        until = (live.astimezone(UTC) - timedelta(microseconds=1)) if live is not None \
            else datetime.now(UTC)
        found = missed_slots(make_trigger(spec, job.anchor), baseline, until)
        if found is None:
            return
        first, latest = found
        span = f"{first.isoformat()}" if first == latest else \
            f"{first.isoformat()} to {latest.isoformat()}"
        if spec.missed is Missed.RUN_ONCE:
            log.info("schedule %s: slot(s) %s passed while bosun was down; running once",
                     job.name, span)
            self.fire(job.name, latest, ScheduleTrigger.MISSED,
                      note=f"caught up once: slot(s) {span} passed while bosun was down")
            return
        if self.book.claim(job.name, latest, self._following(job, latest)):
            log.info("schedule %s: skipping slot(s) %s missed while bosun was down", job.name,
                     span)
            self._record_skip(job, latest, ScheduleTrigger.MISSED, ScheduleRunReason.MISSED,
                              f"slot(s) {span} passed while bosun was down (missed: skip)")

    def fire(self, name: str, slot: datetime, trigger: ScheduleTrigger | None = None,
             note: str = "") -> None:
        """A slot is due: claim it, then run it, skip it, or replace what runs.

        ``trigger`` None: the slot came while bosun ran (``cron`` or ``every``).
        """
        try:
            self._fire(name, slot.astimezone(UTC), trigger, note)
        except Exception:
            log.exception("schedule %s: firing slot %s failed", name, slot)

    def _fire(self, name: str, slot: datetime, trigger: ScheduleTrigger | None,
              note: str) -> None:
        with self._lock:
            job = self._jobs.get(name)
            if job is None or self._stopping:
                return
            if trigger is None:
                trigger = ScheduleTrigger.CRON if job.schedule.cron else ScheduleTrigger.EVERY
            if not self.book.claim(name, slot, self._following(job, slot)):
                log.debug("schedule %s: slot %s was handled already", name, slot)
                return
            spec = job.schedule
            ref = ResourceRef(kind=Kind.SCHEDULE, name=name)
            if spec.suspend or ref in self.host.suspended():
                self._record_skip(job, slot, trigger, ScheduleRunReason.SUSPENDED,
                                  "suspended: not run")
                return
            running = self._active.get(name, {})
            if running and spec.concurrency is Concurrency.FORBID:
                ids = ", ".join(str(i) for i in sorted(running))
                self._record_skip(job, slot, trigger, ScheduleRunReason.CONCURRENCY,
                                  f"run {ids} still running (concurrency: forbid)")
                return
            if running and spec.concurrency is Concurrency.REPLACE:
                for other in list(running.values()):
                    other.cancel(ScheduleRunReason.REPLACED)
            run = ScheduleRun(schedule=name, slot=slot, trigger=trigger, action=job.action_kind,
                              revision=job.revision or None, started_at=datetime.now(UTC),
                              message=note)
            run = run.model_copy(update={"id": self.host.runs.save_schedule_run(run)})
            assert run.id is not None
            active = _Active(run=run, job=job)
            self._active.setdefault(name, {})[run.id] = active
            thread = threading.Thread(target=self._execute, args=(active,), daemon=True,
                                      name=f"bosun-schedule-{name}-{run.id}")
            active.thread = thread
        log.info("schedule %s: run %s for slot %s (%s)", name, run.id, slot.isoformat(),
                 trigger.value)
        thread.start()

    def _record_skip(self, job: RegisteredJob, slot: datetime, trigger: ScheduleTrigger,
                     reason: ScheduleRunReason, message: str) -> None:
        now = datetime.now(UTC)
        self.host.runs.save_schedule_run(ScheduleRun(
            schedule=job.name, slot=slot, trigger=trigger, action=job.action_kind,
            revision=job.revision or None, started_at=now, finished_at=now,
            result=ScheduleRunResult.SKIPPED, reason=reason, message=message,
        ), keep=job.schedule.history)
        log.info("schedule %s: slot %s skipped: %s", job.name, slot.isoformat(), message)

    # -- running ---------------------------------------------------------------------

    def _wait_ready(self, active: _Active) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT
        while not self._ready.is_set():
            if active.cancelled.is_set() or time.monotonic() > deadline:
                return False
            self._ready.wait(POLL)
        return True

    def _execute(self, active: _Active) -> None:
        job = active.job
        spec = job.schedule
        out = OutputTail()
        context: RunContext | None = None
        action: Action | None = None
        outcome: Outcome
        try:
            if spec.jitter:
                active.cancelled.wait(random.uniform(0, duration_seconds(spec.jitter)))
            if not active.cancelled.is_set() and not self._wait_ready(active) \
                    and not active.cancelled.is_set():
                outcome = Outcome(ScheduleRunResult.FAILED, ScheduleRunReason.ERROR, None,
                                  "the repository has not been read since bosun started")
            elif active.cancelled.is_set():
                outcome = self._stopped(active, spec.timeout, None)
            else:
                with self._lock:
                    context = self._context
                assert context is not None
                assert active.run.id is not None
                action = make_action(job, active.run.id, context)
                with active.lock:
                    active.action = action
                    stop_now = active.reason is not None
                if stop_now:
                    action.kill()
                outcome = self._supervise(active, action, out, spec.timeout)
        except BosunError as exc:
            outcome = Outcome(ScheduleRunResult.FAILED, ScheduleRunReason.ERROR, None,
                              str(getattr(exc, "message", exc)))
        except Exception as exc:
            log.exception("schedule %s: run %s failed", job.name, active.run.id)
            outcome = Outcome(ScheduleRunResult.FAILED, ScheduleRunReason.ERROR, None,
                              f"internal error: {type(exc).__name__}: {exc}")
        self._finish(active, outcome, out, context, action)

    def _supervise(self, active: _Active, action: Action, out: OutputTail,
                   timeout: str | None) -> Outcome:
        results: list[Outcome] = []
        errors: list[BaseException] = []

        def target() -> None:
            try:
                results.append(action.run(out))
            except BaseException as exc:
                errors.append(exc)

        worker = threading.Thread(target=target, daemon=True,
                                  name=f"bosun-action-{active.job.name}-{active.run.id}")
        worker.start()
        deadline = time.monotonic() + duration_seconds(timeout) if timeout else None
        while worker.is_alive():
            if deadline is not None and time.monotonic() >= deadline:
                active.cancel(ScheduleRunReason.TIMEOUT)
            if active.cancelled.wait(POLL):
                action.kill()
                worker.join(action.kill_grace)
                return self._stopped(active, timeout, results[0] if results else None)
        if errors:
            raise errors[0]
        return results[0]

    @staticmethod
    def _stopped(active: _Active, timeout: str | None, ended: Outcome | None) -> Outcome:
        reason = active.reason or ScheduleRunReason.STOPPING
        result, text = _STOPPED.get(reason, (ScheduleRunResult.FAILED, "stopped"))
        return Outcome(result, reason, ended.exit_code if ended else None,
                       text.format(timeout or ""))

    def _finish(self, active: _Active, outcome: Outcome, out: OutputTail,
                context: RunContext | None, action: Action | None) -> None:
        job = active.job
        secrets = list(redaction_values(context, action)) if context and action else []
        try:
            text, cut = out.text(secrets)
            message = redact(outcome.message, secrets) if secrets else outcome.message
            if active.run.message:
                message = f"{active.run.message}; {message}" if message else active.run.message
            final = active.run.model_copy(update={
                "finished_at": datetime.now(UTC), "result": outcome.result,
                "reason": outcome.reason, "exit_code": outcome.exit_code, "message": message,
                "output": text, "output_truncated": cut,
            })
            self.host.runs.save_schedule_run(final, keep=job.schedule.history)
            log.info("schedule %s: run %s %s: %s", job.name, final.id, final.result.value,
                     message)
        finally:
            with self._lock:
                runs = self._active.get(job.name, {})
                assert active.run.id is not None
                runs.pop(active.run.id, None)
                if not runs:
                    self._active.pop(job.name, None)
