"""One worker per resource: locks that every handler takes before touching a resource.

Part of the runtime. The reconcile holds the locks of the resources it is about
to change for the length of its apply; other work on a resource (a schedule
running a command in a stack, a one-resource sync) takes the same lock, so it
waits for an apply in progress and an apply waits for it. Locks are taken in
a fixed order, so two holders of overlapping sets never deadlock.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator

from reconciler.model.common import ResourceRef


class ResourceLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[ResourceRef, threading.Lock] = {}
        self._holders: dict[ResourceRef, str] = {}

    def _lock(self, ref: ResourceRef) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(ref, threading.Lock())

    @contextlib.contextmanager
    def hold(self, refs: Iterable[ResourceRef], holder: str = "") -> Iterator[None]:
        """Hold every lock of ``refs`` (blocking) for the ``with`` block."""
        ordered = sorted(set(refs), key=ResourceRef.sort_key)
        taken: list[ResourceRef] = []
        try:
            for ref in ordered:
                self._lock(ref).acquire()
                taken.append(ref)
                with self._guard:
                    self._holders[ref] = holder
            yield
        finally:
            for ref in reversed(taken):
                with self._guard:
                    self._holders.pop(ref, None)
                self._locks[ref].release()

    def holders(self) -> dict[ResourceRef, str]:
        """Who holds which resource right now (for the API and tests)."""
        with self._guard:
            return dict(self._holders)
