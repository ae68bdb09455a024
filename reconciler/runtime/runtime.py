"""The runtime: triggers enqueue, workers reconcile, ``stop`` leaves nothing half said.

Part of the runtime. ``Runtime`` owns the work queue, a bounded pool of
worker threads, the poll timer (APScheduler, interval with jitter), the
control watch (suspend/resume from another process), in local mode the
folder watcher, and the background work of providers that have some (the
scheduler's jobs, see ``services``). Triggers call ``submit``; only workers
run work, through the handler registered for the request's type (``ReconcileRequest`` ->
``ReconcileCycle``; ``PlanPullRequest`` -> whatever the change-control code
registers).

Stopping: ``stop`` closes the queue, tells running work to start no new
change (``should_stop`` gives "bosun is stopping"), waits for the changes in
flight and lets each run record how it ended. A process killed outright
leaves its run "applying" in the store; ``start`` marks such runs
interrupted and reconciles at once, which re-reads Git and the engines.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from reconciler.provider import BackgroundProvider
from reconciler.runtime import services
from reconciler.runtime.cycle import CycleResult, ReconcileCycle
from reconciler.runtime.queue import WorkQueue
from reconciler.runtime.requests import PlanPullRequest, ReconcileRequest, Request, Trigger
from reconciler.runtime.services import RuntimeServiceHost
from reconciler.runtime.watch import FolderWatcher
from reconciler.source import GitSource, RefKind
from reconciler.state import EventLevel, StateStore

log = logging.getLogger("bosun.runtime")

R = TypeVar("R", bound=Request)
StopCheck = Callable[[], str | None]
Handler = Callable[[Any, StopCheck], None]

STOPPING = "bosun is stopping"
MAX_BACKOFF = 300.0


@dataclass(frozen=True)
class WatchFilter:
    """What pushes matter, for the webhook receivers.

    ``ref`` is the full ref followed (``refs/heads/main``, ``refs/tags/v1``),
    None when following a commit or a working folder (then no push matters).
    """

    ref: str | None
    status_branch: str = "bosun-status"
    subdir: str = ""


@dataclass(frozen=True)
class RuntimeOptions:
    interval: float = 60.0
    jitter: float | None = None        # default: 10% of the interval, at most 10 s
    concurrency: int = 4
    stop_timeout: float = 120.0
    debounce: float = 0.4
    control_poll: float = 2.0
    watch: Path | None = None          # local mode: the working folder
    ignore: tuple[Path, ...] = field(default=())


class Runtime:
    def __init__(self, cycle: ReconcileCycle, store: StateStore,
                 options: RuntimeOptions | None = None) -> None:
        self.cycle = cycle
        self.store = store
        self.options = options or RuntimeOptions()
        self.queue = WorkQueue()
        self.locks = cycle.locks
        """Per-resource locks: handlers take them before touching a resource."""
        self._handlers: dict[type[Request], Handler] = {
            ReconcileRequest: self._reconcile,
            PlanPullRequest: self._no_pull_request_handler,
        }
        self._workers: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._scheduler: BackgroundScheduler | None = None
        self._watcher: FolderWatcher | None = None
        self._background: list[BackgroundProvider] = []
        self._control = store.control_version()
        self._results: list[CycleResult] = []
        self._results_lock = threading.Lock()
        self.on_result: list[Callable[[CycleResult], None]] = []

    # -- extension points ------------------------------------------------------

    def register_handler(self, kind: type[R], handler: Callable[[R, StopCheck], None]) -> None:
        """Run ``handler(request, should_stop)`` for requests of ``kind``.

        The handler runs on a worker thread, one at a time per request key;
        it should check ``should_stop()`` between steps and return when it
        gives a reason, and hold ``self.locks.hold([ref])`` while it touches a
        resource (the reconcile holds them while it applies).
        """
        self._handlers[kind] = handler

    def submit(self, request: Request, delay: float = 0.0) -> bool:
        """Queue work (what every trigger calls). False when merged into waiting work."""
        if self._stopping.is_set():
            return False
        return self.queue.put(request, delay)

    def watch_filter(self) -> WatchFilter:
        """Which pushes should trigger a reconcile, for the webhook receivers."""
        desired = self.cycle.last_desired
        status_branch = desired.repository.spec.status_branch if desired else "bosun-status"
        source = self.cycle.source
        if not isinstance(source, GitSource):
            return WatchFilter(ref=None, status_branch=status_branch)
        spec = source.spec
        ref = {RefKind.BRANCH: f"refs/heads/{spec.ref}",
               RefKind.TAG: f"refs/tags/{spec.ref}"}.get(spec.ref_kind)
        return WatchFilter(ref=ref, status_branch=status_branch, subdir=spec.subdir)

    def results(self) -> list[CycleResult]:
        """Every reconcile result since start (newest last); for tests and the API."""
        with self._results_lock:
            return list(self._results)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # -- life cycle -------------------------------------------------------------

    def start(self) -> None:
        interrupted = self.store.recover_interrupted()
        for run in interrupted:
            self.store.add_event(
                "reconcile", f"run {run.id} ({run.revision}) was interrupted while "
                f"{run.message.rsplit(' ', 1)[-1] if run.message else 'running'}; "
                "reconciling again", level=EventLevel.WARNING,
            )
        for n in range(max(1, self.options.concurrency)):
            worker = threading.Thread(target=self._work, name=f"bosun-worker-{n}", daemon=True)
            worker.start()
            self._workers.append(worker)
        self._scheduler = BackgroundScheduler(daemon=True)
        interval = max(0.5, self.options.interval)
        jitter = self.options.jitter
        if jitter is None:
            jitter = min(10.0, interval * 0.1)
        jitter = max(0.0, min(jitter, interval / 2))
        # APScheduler adds 0..jitter seconds: fire every (interval - jitter) plus
        # that, so that two polls are never more than ``interval`` apart.
        self._scheduler.add_job(
            self._poll, IntervalTrigger(seconds=interval - jitter, jitter=jitter or None),
            id="poll", max_instances=1, coalesce=True,
        )
        self._scheduler.add_job(
            self._check_control, IntervalTrigger(seconds=self.options.control_poll),
            id="control", max_instances=1, coalesce=True,
        )
        self._scheduler.start()
        host = RuntimeServiceHost(self.store, self.submit, lambda: self._stopping.is_set())
        self._background = services.start_all(
            services.background_providers(self.cycle.reconciler.providers), host, self.store)
        if self.options.watch is not None:
            self._watcher = FolderWatcher(
                self.options.watch, self._on_save, self.options.debounce,
                ignore=self.options.ignore,
            )
            self._watcher.start()
        reason = "recovering an interrupted apply" if interrupted else "start-up"
        self.submit(ReconcileRequest(Trigger.STARTUP, reason=reason))

    def stop(self, timeout: float | None = None) -> bool:
        """Stop cleanly; True when every worker finished within ``timeout``."""
        if self._stopping.is_set():
            return True
        self._stopping.set()
        log.info("stopping: letting changes in flight finish")
        if self._watcher is not None:
            self._watcher.stop()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        limit = self.options.stop_timeout if timeout is None else timeout
        began = time.monotonic()
        background_clean = services.stop_all(self._background, limit)
        limit = max(0.0, limit - (time.monotonic() - began))
        self.queue.close()
        deadline = threading.Event()
        timer = threading.Timer(limit, deadline.set)
        timer.start()
        try:
            for worker in self._workers:
                while worker.is_alive() and not deadline.is_set():
                    worker.join(0.1)
        finally:
            timer.cancel()
        clean = not any(w.is_alive() for w in self._workers) and background_clean
        if not clean:
            log.warning("stopped with work still running; the store says it was applying")
        return clean

    # -- triggers -----------------------------------------------------------------

    def _poll(self) -> None:
        self.submit(ReconcileRequest(Trigger.POLL))

    def _on_save(self) -> None:
        self.submit(ReconcileRequest(Trigger.WATCH, reason="a file was saved"))

    def _check_control(self) -> None:
        version = self.store.control_version()
        if version != self._control:
            self._control = version
            self.submit(ReconcileRequest(Trigger.CONTROL, reason="suspended or resumed"))

    # -- workers --------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stopping.is_set():
            request = self.queue.take(timeout=0.5)
            if request is None:
                continue
            try:
                handler = self._handlers.get(type(request))
                if handler is None:
                    log.error("no handler for %s", type(request).__name__)
                    continue
                handler(request, self._stop_check(request))
            except Exception:
                log.exception("work on %s failed", request.key)
                self.store.add_event("runtime", f"internal error while working on "
                                     f"{request.key}", level=EventLevel.ERROR)
            finally:
                self.queue.done(request)

    def _stop_check(self, request: Request) -> StopCheck:
        def check() -> str | None:
            if self._stopping.is_set():
                return STOPPING
            revision = self.cycle.last_revision
            newer = self.queue.superseded(request, str(revision) if revision else None)
            if newer is not None:
                return f"superseded by a newer request ({newer.trigger.value})"
            return None

        return check

    def _reconcile(self, request: ReconcileRequest, should_stop: StopCheck) -> None:
        done = self.cycle.last_succeeded
        if (request.trigger is Trigger.WEBHOOK and request.sha and done is not None
                and done.sha == request.sha):
            # The push announces a revision already applied in full: a burst of
            # webhooks for one push is one reconcile. Drift is the poll's job.
            log.debug("webhook for %s: already applied", request.sha)
            return
        result = self.cycle.run(request.trigger.value, should_stop,
                                only=request.resources or None)
        with self._results_lock:
            self._results.append(result)
            del self._results[:-200]
        for callback in list(self.on_result):
            callback(result)
        if result.retry_after is not None and not self._stopping.is_set():
            attempt = request.attempt + 1
            delay = min(MAX_BACKOFF, self.options.interval,
                        max(result.retry_after, 1.0 * 2 ** request.attempt))
            delay *= random.uniform(0.9, 1.1)
            log.info("retrying in %.1fs (attempt %d): %s", delay, attempt, result.message)
            self.submit(ReconcileRequest(Trigger.RETRY, reason=result.message,
                                         attempt=attempt), delay=delay)

    def _no_pull_request_handler(self, request: PlanPullRequest, should_stop: StopCheck) -> None:
        self.store.add_event(
            "pull-request",
            f"{request.forge} pull request {request.repository}#{request.number} "
            f"({request.action}) received; no pull-request planner is installed",
            level=EventLevel.WARNING,
        )
