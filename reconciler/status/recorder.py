"""The record stage's sinks: plans, ``Reconciling`` steps, metrics, the live feed, the branch.

... -> apply -> **record**

``StatusRecorder`` listens to each reconcile (``reconciler.runtime.listener``):
it stores every plan (redacted, for the API and the dashboard), counts drift
and applied changes, turns ``Reconciling`` on with the provider's current step
while a resource is applied, tells the live feed which statuses changed and
asks the ``BranchWriter`` to commit them to the status branch. The statuses
themselves are computed by ``reconciler.runtime.record`` and written by the
cycle before ``recorded`` is called.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from reconciler import metrics
from reconciler.errors import BosunError
from reconciler.logs import scrub, scrub_data
from reconciler.model.common import ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.plan import ApplyReport, Plan
from reconciler.model.source import Revision
from reconciler.model.status import (
    Condition,
    ConditionType,
    ResourceStatus,
    Sync,
)
from reconciler.render import plan_json
from reconciler.runtime.listener import CycleListener
from reconciler.state import EventLevel, StateStore
from reconciler.status.branch import StatusBranch, StatusRemote, Written
from reconciler.status.feed import StatusFeed
from reconciler.status.files import HISTORY_IN_FILE

log = logging.getLogger("bosun.status")

RETRY_SECONDS = 30.0


def agent_name(desired: DesiredState | None = None, override: str | None = None) -> str:
    """This agent's folder on the status branch: --agent, the repository's, or the host name."""
    name = override or (desired.repository.spec.agent if desired is not None else None)
    if not name:
        name = socket.gethostname().split(".")[0]
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63]
    return label or "bosun"


def _same(a: ResourceStatus | None, b: ResourceStatus | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.model_copy(update={"history": ()}) == b.model_copy(update={"history": ()})


class BranchWriter:
    """Writes the status branch on a thread of its own, the newest request winning."""

    def __init__(self, store: StateStore, remote: StatusRemote, repo_dir: Path,
                 agent: str | None = None) -> None:
        self.store = store
        self.remote = remote
        self.repo_dir = repo_dir
        self.agent = agent
        self.last: Written | None = None
        self.last_error: str | None = None
        self.writes = 0
        self._cond = threading.Condition()
        self._pending: tuple[Revision, str, str] | None = None
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def request(self, revision: Revision, desired: DesiredState) -> None:
        branch = desired.repository.spec.status_branch
        with self._cond:
            self._pending = (revision, branch, agent_name(desired, self.agent))
            self._cond.notify_all()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="bosun-status-branch",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the write in progress (and a pending one), then stop."""
        self.flush(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is pending or being written; True when idle in time."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy,
                                       timeout)

    def write_now(self, revision: Revision, branch: str, agent: str) -> Written:
        statuses = self.store.statuses(history=HISTORY_IN_FILE)
        target = StatusBranch(self.repo_dir, self.remote, branch, agent)
        return target.write(statuses, revision)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._stopping)
                if self._pending is None:
                    return
                job, self._pending = self._pending, None
                self._busy = True
            try:
                self._write(*job)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _write(self, revision: Revision, branch: str, agent: str) -> None:
        try:
            written = self.write_now(revision, branch, agent)
        except (BosunError, OSError, ValueError, RuntimeError) as exc:
            message = scrub(str(exc))
            metrics.STATUS_COMMITS.labels(result="failed").inc()
            if message != self.last_error:
                log.warning("cannot write the status branch %s: %s", branch, message)
                self.store.add_event("status", f"cannot write the status branch {branch!r}: "
                                     f"{message}", level=EventLevel.WARNING)
            self.last_error = message
            timer = threading.Timer(RETRY_SECONDS, self._retry, (revision, branch, agent))
            timer.daemon = True
            timer.start()
            return
        if self.last_error is not None:
            self.store.add_event("status", f"the status branch {branch!r} is written again")
        self.last_error = None
        self.last = written
        if written.commit is None:
            metrics.STATUS_COMMITS.labels(result="unchanged").inc()
        else:
            self.writes += 1
            metrics.STATUS_COMMITS.labels(result="committed").inc()

    def _retry(self, revision: Revision, branch: str, agent: str) -> None:
        with self._cond:
            if self._pending is None and not self._stopping:
                self._pending = (revision, branch, agent)
                self._cond.notify_all()


class StatusRecorder(CycleListener):
    """Listens to every reconcile of one cycle (see the module docstring)."""

    def __init__(self, store: StateStore, feed: StatusFeed,
                 writer: BranchWriter | None = None) -> None:
        self.store = store
        self.feed = feed
        self.writer = writer
        self._lock = threading.Lock()
        self._steps: dict[ResourceRef, str] = {}

    # -- plan -----------------------------------------------------------------

    def planned(self, run_id: int, revision: Revision, desired: DesiredState,
                plan: Plan) -> None:
        body = scrub_data(plan_json(plan))
        self.store.put_plan(run_id, body)
        previous = {s.ref: s for s in self.store.statuses(history=0)}
        drifted: set[ResourceRef] = set()
        for change in plan.changes:
            prev = previous.get(change.ref)
            res = desired.get(change.ref)
            # Synced at this very desired digest, and now a change: the engine moved.
            if (prev is not None and res is not None and prev.sync is Sync.SYNCED
                    and prev.digest == res.digest and change.ref not in drifted):
                drifted.add(change.ref)
                metrics.DRIFT.labels(kind=change.ref.kind.value).inc()
        for ref in sorted(drifted, key=ResourceRef.sort_key):
            self.store.add_event("drift", f"{ref} changed on its engine; bosun puts it back"
                                 if plan.changes else f"{ref} drifted", ref=ref,
                                 level=EventLevel.WARNING)
        self.feed.publish()

    # -- Reconciling ----------------------------------------------------------

    def applying(self, run_id: int, refs: Sequence[ResourceRef]) -> None:
        # The cycle has already turned Reconciling on ("applying <revision>").
        self.feed.publish(refs)

    def progress(self, ref: ResourceRef, step: str) -> None:
        self._reconciling(ref, step)

    def _reconciling(self, ref: ResourceRef, step: str) -> None:
        step = scrub(step)
        with self._lock:
            if self._steps.get(ref) == step:
                return
            self._steps[ref] = step
            now = datetime.now(UTC)
            status = self.store.status(ref, history=0) or ResourceStatus(
                ref=ref, sync=Sync.OUT_OF_SYNC)
            old = status.condition(ConditionType.RECONCILING)
            since = old.last_transition if old is not None and old.status else now
            condition = Condition(type=ConditionType.RECONCILING, status=True,
                                  reason="Applying", message=step, last_transition=since)
            others = tuple(c for c in status.conditions if c.type is not
                           ConditionType.RECONCILING)
            order = {t: n for n, t in enumerate(ConditionType)}
            conditions = tuple(sorted((*others, condition), key=lambda c: order[c.type]))
            self.store.put_status(status.model_copy(update={"conditions": conditions}))
        self.feed.publish([ref])

    # -- after apply ------------------------------------------------------------

    def applied(self, run_id: int, report: ApplyReport) -> None:
        for result in report.results:
            metrics.APPLIES.labels(kind=result.ref.kind.value,
                                   result=result.outcome.value).inc()

    def recorded(self, run_id: int, revision: Revision, desired: DesiredState,
                 previous: Mapping[ResourceRef, ResourceStatus],
                 statuses: Sequence[ResourceStatus],
                 removed: Sequence[ResourceRef]) -> None:
        with self._lock:
            self._steps.clear()
        changed = [s.ref for s in statuses if not _same(previous.get(s.ref), s)]
        self.feed.publish([*changed, *removed])
        if self.writer is not None:
            self.writer.request(revision, desired)
