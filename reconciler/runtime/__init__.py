"""The runtime: the queue, the workers and the triggers that make bosun a service.

Triggers (poll timer, webhook, folder watcher, API, schedules) only
``Runtime.submit`` a request; workers take requests off the one queue and run
the handler for their type. ``ReconcileCycle`` is the reconcile handler:
source -> pipeline -> record, with the state store.
"""

from __future__ import annotations

from reconciler.runtime.cycle import CycleResult, ReconcileCycle
from reconciler.runtime.locks import ResourceLocks
from reconciler.runtime.queue import WorkQueue
from reconciler.runtime.requests import PlanPullRequest, ReconcileRequest, Request, Trigger
from reconciler.runtime.runtime import Runtime, RuntimeOptions, WatchFilter

__all__ = [
    "CycleResult",
    "PlanPullRequest",
    "ReconcileCycle",
    "ReconcileRequest",
    "Request",
    "ResourceLocks",
    "Runtime",
    "RuntimeOptions",
    "Trigger",
    "WatchFilter",
    "WorkQueue",
]
