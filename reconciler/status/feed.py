"""The live feed: which statuses changed, for the dashboard's server-sent events.

Part of stage *record*. The recorder ``publish``es the resources whose status
it changed; each stream (an asyncio task in the HTTP server) ``subscribe``s
and wakes up when something changed, then asks ``changed_since`` for the refs
and reads their statuses from the state store. Publishing is thread-safe
(apply threads report progress) and never blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Iterable

from reconciler.model.common import ResourceRef

KEEP = 5000


class StatusFeed:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = 0
        self._changes: deque[tuple[int, ResourceRef]] = deque(maxlen=KEEP)
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    @property
    def seq(self) -> int:
        with self._lock:
            return self._seq

    def publish(self, refs: Iterable[ResourceRef] = (), *, wake: bool = True) -> int:
        """Say that the statuses of ``refs`` changed (no refs: only new events)."""
        with self._lock:
            for ref in refs:
                self._seq += 1
                self._changes.append((self._seq, ref))
            waiters = list(self._waiters) if wake else []
            seq = self._seq
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # a closed loop: the stream is gone
                loop.call_soon_threadsafe(event.set)
        return seq

    def changed_since(self, seq: int) -> tuple[set[ResourceRef] | None, int]:
        """The refs changed after ``seq`` and the current sequence number.

        None instead of refs when ``seq`` is older than what is kept: the
        client should reload everything.
        """
        with self._lock:
            if self._changes and seq < self._changes[0][0] - 1:
                return None, self._seq
            return {ref for n, ref in self._changes if n > seq}, self._seq

    def subscribe(self) -> asyncio.Event:
        event = asyncio.Event()
        with self._lock:
            self._waiters.add((asyncio.get_running_loop(), event))
        return event

    def unsubscribe(self, event: asyncio.Event) -> None:
        with self._lock:
            self._waiters = {w for w in self._waiters if w[1] is not event}
