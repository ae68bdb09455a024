"""One reconcile, end to end: source -> pipeline -> record, with the state store.

Part of the runtime; the only runtime module that sees every stage (through
``reconciler.pipeline``). ``ReconcileCycle.run`` fetches the source, loads the
revision, plans, leaves suspended resources out, says "applying" in the store
before the first write, applies (stopping early when told to), reads health
and records the outcome. It never raises for a failed fetch, a bad
repository or a failed change: it records them and says whether (and how
soon) to retry.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler import metrics
from reconciler.errors import BosunError, ConfigError, SourceError, UnsafePlanError
from reconciler.model.common import ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.plan import ApplyReport, Change, ChangeOutcome, Plan
from reconciler.model.source import Revision
from reconciler.pipeline import Reconciler, load_desired
from reconciler.runtime.listener import CycleListener
from reconciler.runtime.locks import ResourceLocks
from reconciler.runtime.record import applying_statuses, change_lines, resource_statuses
from reconciler.source import Source
from reconciler.state import EventLevel, RunState, StateStore

log = logging.getLogger("bosun.runtime")

StopCheck = Callable[[], str | None]


@dataclass(frozen=True)
class CycleResult:
    """How one reconcile ended, and whether the runtime should try again soon."""

    state: RunState
    revision: Revision | None = None
    run_id: int | None = None
    message: str = ""
    retry_after: float | None = None
    changes: int = 0
    desired: DesiredState | None = None


class ReconcileCycle:
    """Runs reconciles of one source against one set of providers."""

    def __init__(self, source: Source, reconciler: Reconciler, store: StateStore,
                 source_name: str = "repository", locks: ResourceLocks | None = None) -> None:
        self.source = source
        self.locks = locks or ResourceLocks()
        self.reconciler = reconciler
        self.store = store
        self.source_name = source_name
        self.last_desired: DesiredState | None = None
        self.last_revision: Revision | None = None
        self.last_succeeded: Revision | None = None
        self.listeners: list[CycleListener] = []
        if reconciler.kv is None:
            reconciler.kv = store

    def _tell(self, hook: str, *args: Any) -> None:
        for listener in list(self.listeners):
            try:
                getattr(listener, hook)(*args)
            except Exception:
                log.exception("status listener %s failed in %s", type(listener).__name__, hook)

    def _progress(self, ref: ResourceRef, step: str) -> None:
        self._tell("progress", ref, step)

    # -- stages ---------------------------------------------------------------

    def _fetch(self) -> tuple[Revision, Path] | CycleResult:
        ref = getattr(getattr(self.source, "spec", None), "ref", "local")
        try:
            with metrics.SOURCE_FETCH_SECONDS.time():
                revision = self.source.fetch()
            root = self.source.checkout(revision)
        except SourceError as exc:
            message = str(exc)
            metrics.SOURCE_FETCHES.labels(result="failed").inc()
            metrics.SOURCE_UP.set(0)
            previous = self.store.source(self.source_name)
            # The event first: whoever sees the source failed finds why in the events.
            if previous is None or previous.state.value == "ok" or previous.message != message:
                self.store.add_event("source", f"cannot read the source: {message}",
                                     level=EventLevel.ERROR)
            self.store.set_source(self.source_name, self.source.display_url, ref, ok=False,
                                  message=message)
            log.error("source %s: %s", self.source.display_url, message)
            return CycleResult(RunState.FAILED, message=message, retry_after=5.0)
        metrics.SOURCE_FETCHES.labels(result="ok").inc()
        metrics.SOURCE_UP.set(1)
        previous = self.store.source(self.source_name)
        self.store.set_source(self.source_name, self.source.display_url, ref, ok=True,
                              revision=revision)
        if previous is not None and previous.state.value == "failed":
            self.store.add_event("source", f"the source is readable again at {revision}")
        if previous is None or previous.revision != str(revision):
            log.info("source %s is at %s", self.source.display_url, revision)
        self.last_revision = revision
        return revision, root

    def _desired(self, root: Path, revision: Revision, trigger: str) -> DesiredState | CycleResult:
        try:
            desired = load_desired(root, revision)
        except ConfigError as exc:
            run_id = self.store.start_run(str(revision), trigger)
            problems = exc.lines()
            self.store.finish_run(run_id, RunState.FAILED,
                                  message=f"{len(problems)} problem(s) in the repository: "
                                  + "; ".join(problems[:20]))
            self.store.add_event("reconcile", f"{revision} is not valid; nothing was applied",
                                 level=EventLevel.ERROR, data={"problems": problems[:100]})
            log.error("%s is not valid:\n%s", revision, "\n".join(problems))
            return CycleResult(RunState.FAILED, revision, run_id, "invalid repository")
        self.last_desired = desired
        return desired

    # -- the cycle ------------------------------------------------------------

    def run(self, trigger: str = "manual", should_stop: StopCheck | None = None,
            only: Collection[ResourceRef] | None = None) -> CycleResult:
        """One reconcile. ``should_stop`` gives a reason to stop applying, or None.

        ``only`` limits what is applied to those resources (everything is still
        planned and recorded; the other changes wait for the next reconcile).
        """
        started = time.monotonic()
        fetched = self._fetch()
        if isinstance(fetched, CycleResult):
            self._count(trigger, fetched.state, started)
            return fetched
        revision, root = fetched
        desired = self._desired(root, revision, trigger)
        if isinstance(desired, CycleResult):
            self._count(trigger, desired.state, started)
            return desired
        result = self._plan_and_apply(desired, revision, trigger, should_stop, only)
        self._count(trigger, result.state, started)
        return result

    def _count(self, trigger: str, state: RunState, started: float) -> None:
        metrics.RECONCILES.labels(trigger=trigger, state=state.value).inc()
        metrics.RECONCILE_SECONDS.observe(time.monotonic() - started)

    def _plan_and_apply(self, desired: DesiredState, revision: Revision, trigger: str,
                        should_stop: StopCheck | None,
                        only: Collection[ResourceRef] | None = None) -> CycleResult:
        began = datetime.now(UTC)
        run_id = self.store.start_run(str(revision), trigger, desired.digest)
        ctx = self.reconciler.context(desired)
        if self.listeners:
            forward = ctx.progress

            def progress(ref: ResourceRef, step: str) -> None:
                forward(ref, step)
                self._progress(ref, step)

            ctx = dataclasses.replace(ctx, progress=progress)
        try:
            plan, observations = self.reconciler.observe_and_plan(desired, ctx)
        except UnsafePlanError as exc:
            self.store.finish_run(run_id, RunState.FAILED, message=str(exc))
            self.store.add_event("reconcile", f"{revision}: {exc}", level=EventLevel.ERROR)
            return CycleResult(RunState.FAILED, revision, run_id, str(exc), desired=desired)
        except BosunError as exc:
            self.store.finish_run(run_id, RunState.FAILED, message=str(exc))
            self.store.add_event("reconcile", f"{revision}: planning failed: {exc}",
                                 level=EventLevel.ERROR)
            return CycleResult(RunState.FAILED, revision, run_id, str(exc), retry_after=10.0,
                               desired=desired)
        self._tell("planned", run_id, revision, desired, plan)

        suspended = {ref: rec.reason for ref, rec in self.store.suspended().items()}
        unselected = [c for c in plan.changes
                      if only is not None and c.ref not in only and c.ref not in suspended]
        runnable = tuple(c for c in plan.changes
                         if c.ref not in suspended and (only is None or c.ref in only))
        held = [c for c in plan.changes if c.ref in suspended]
        report: ApplyReport | None = None
        stopped: str | None = None
        message = ""
        if plan.blocked:
            rules = sorted({p.rule for p in plan.policy if p.enforced})
            message = f"enforced policy rules failed ({', '.join(rules)}); nothing was applied"
            self.store.add_event("reconcile", f"{revision}: {message}", level=EventLevel.ERROR)
        elif runnable:
            to_apply = plan.model_copy(update={"changes": runnable})
            refs = sorted({c.ref for c in runnable}, key=ResourceRef.sort_key)
            lines = change_lines(to_apply)
            # Said before the first write: a crash from here on is found at start-up.
            before = {s.ref: s for s in self.store.statuses(history=0)}
            for status in applying_statuses(refs, before, str(revision), datetime.now(UTC)):
                self.store.put_status(status)
            self.store.mark_applying(run_id, to_apply.digest(), to_apply.summary(), lines, refs)
            self.store.add_event("apply", f"applying {revision}: {to_apply.summary()}",
                                 data={"changes": lines})
            log.info("applying %s: %s", revision, to_apply.summary())
            self._tell("applying", run_id, refs)

            def stop_check() -> str | None:
                nonlocal stopped
                if should_stop is not None and stopped is None:
                    stopped = should_stop()
                return stopped

            with self.locks.hold(refs, holder=f"reconcile {revision}"):
                report = self.reconciler.apply(to_apply, desired, ctx, should_stop=stop_check)
            self._tell("applied", run_id, report)
            observations = self.reconciler.observe(desired, ctx)
        health = self.reconciler.health(desired, observations, ctx)
        details = self.reconciler.details(desired, observations, ctx)
        previous = {s.ref: s for s in self.store.statuses(history=0)}
        recorded = resource_statuses(
            desired, {p.name: p.kinds for p in self.reconciler.providers}, plan, report,
            health, suspended, previous, str(revision), began, datetime.now(UTC),
            details=details,
        )
        for status in recorded.statuses:
            self.store.put_status(status)
        for ref in recorded.removed:
            self.store.remove_status(ref)
        for ref, entry in recorded.history:
            self.store.add_history(ref, entry, run_id)
        self._tell("recorded", run_id, revision, desired, previous, recorded.statuses,
                   recorded.removed)
        return self._finish(run_id, revision, desired, plan, report, stopped, held, message,
                            unselected)

    def _finish(self, run_id: int, revision: Revision, desired: DesiredState, plan: Plan,
                report: ApplyReport | None, stopped: str | None, held: Sequence[Change],
                message: str, unselected: Sequence[Change] = ()) -> CycleResult:
        failed = [r for r in report.results if r.outcome is not ChangeOutcome.APPLIED] \
            if report else []
        hard_failed = [r for r in failed if r.outcome is ChangeOutcome.FAILED]
        retry_hints = [float(r.data["retry_after"]) for r in hard_failed
                       if "retry_after" in r.data]
        for r in hard_failed:
            self.store.add_event("apply", f"{r.action.value} failed: {r.message}",
                                 level=EventLevel.ERROR, ref=r.ref)
        for err in plan.errors:
            self.store.add_event("reconcile", f"{err.provider}: {err.message}",
                                 level=EventLevel.ERROR, ref=err.ref)
        applied = len(report.results) - len(failed) if report else 0
        if stopped is not None:
            state = RunState.SUPERSEDED if "newer" in stopped else RunState.STOPPED
            message = message or stopped
        elif message or hard_failed or plan.errors:
            state = RunState.FAILED
            message = message or "; ".join(
                [f"{r.ref}: {r.message}" for r in hard_failed][:5]
                + [f"{e.provider}: {e.message}" for e in plan.errors][:5]
            )
        else:
            state = RunState.SUCCEEDED
            if not unselected:
                self.last_succeeded = revision
        summary = plan.summary() if not held else f"{plan.summary()} ({len(held)} suspended)"
        if unselected:
            summary += f" ({len(unselected)} not selected)"
        self.store.finish_run(run_id, state, message=message, summary=summary,
                              plan_digest=plan.digest())
        if report is not None:
            self.store.add_event(
                "apply", f"{revision}: {applied} applied, {len(failed)} not applied",
                level=EventLevel.INFO if not failed else EventLevel.WARNING,
            )
            log.info("%s: %d applied, %d not applied (%s)", revision, applied, len(failed),
                     state.value)
        # Temporary failures and unreadable engines are retried with backoff;
        # permanent failures wait for a new revision (or the next poll).
        retry = None
        if state is RunState.FAILED and (retry_hints or plan.errors):
            retry = max(retry_hints) if retry_hints else 5.0
        return CycleResult(state, revision, run_id, message, retry, applied, desired)
