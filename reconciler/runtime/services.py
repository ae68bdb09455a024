"""Background providers under ``bosun serve``: what the runtime offers them, start and stop.

Part of the runtime. A provider that implements ``BackgroundProvider`` (the
scheduler, the Caddy provider's supervisor) is started once the workers run
and stopped with the runtime. It gets a ``RuntimeServiceHost``: the state
store (key-value table, schedule run history, events), the suspension list,
and ``reconcile``, which only puts a ``ReconcileRequest`` on the queue: a
trigger, never a reconcile of its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from reconciler.model.common import ResourceRef
from reconciler.provider import BackgroundProvider, KeyValueStore, Provider, ScheduleRunStore
from reconciler.runtime.requests import ReconcileRequest, Request, Trigger
from reconciler.state import EventLevel, StateStore

log = logging.getLogger("bosun.runtime")


class RuntimeServiceHost:
    """The ``ServiceHost`` of ``reconciler.provider``, backed by the runtime."""

    def __init__(self, store: StateStore, submit: Callable[[Request], bool],
                 stopping: Callable[[], bool]) -> None:
        self._store = store
        self._submit = submit
        self._stopping = stopping

    @property
    def kv(self) -> KeyValueStore:
        return self._store

    @property
    def runs(self) -> ScheduleRunStore:
        return self._store

    @property
    def stopping(self) -> bool:
        return self._stopping()

    def reconcile(self, resources: Sequence[ResourceRef], reason: str) -> bool:
        return self._submit(ReconcileRequest(Trigger.SCHEDULE, reason=reason,
                                             resources=frozenset(resources)))

    def suspended(self) -> frozenset[ResourceRef]:
        return frozenset(self._store.suspended())

    def record_event(self, kind: str, message: str, level: str = "info",
                     ref: ResourceRef | None = None) -> None:
        self._store.add_event(kind, message, level=EventLevel(level), ref=ref)


def background_providers(providers: Sequence[Provider]) -> list[BackgroundProvider]:
    return [p for p in providers if isinstance(p, BackgroundProvider)]


def start_all(providers: Sequence[BackgroundProvider], host: RuntimeServiceHost,
              store: StateStore) -> list[BackgroundProvider]:
    """Start each; one that fails to start is reported and left out."""
    started: list[BackgroundProvider] = []
    for provider in providers:
        name = getattr(provider, "name", type(provider).__name__)
        try:
            provider.start_background(host)
        except Exception as exc:
            log.exception("provider %s failed to start its background work", name)
            store.add_event("runtime", f"provider {name} could not start: {exc}",
                            level=EventLevel.ERROR)
            continue
        started.append(provider)
    return started


def stop_all(providers: Sequence[BackgroundProvider], timeout: float) -> bool:
    """Stop each within what is left of ``timeout``; True when all stopped in time."""
    deadline = time.monotonic() + timeout
    clean = True
    for provider in providers:
        try:
            clean = provider.stop_background(max(0.0, deadline - time.monotonic())) and clean
        except Exception:
            log.exception("provider %s failed to stop", getattr(provider, "name", provider))
            clean = False
    return clean
