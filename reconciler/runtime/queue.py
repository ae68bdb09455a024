"""The one work queue: keyed, collapsing, delayed, one worker per key.

Part of the runtime. ``put`` adds a request or merges it into the one already
waiting under the same key (so a burst of webhooks is one reconcile); a
request may wait until a due time (retries with backoff, debounced saves).
``take`` hands out the earliest due request whose key nobody is working on,
so two requests with one key never run at once; ``done`` frees the key.
Workers ask ``superseded`` while they apply, to stop early when newer work
for their key is waiting.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from reconciler import metrics
from reconciler.runtime.requests import Request


@dataclass
class _Waiting:
    request: Request
    due: float
    merged: int = 0


class WorkQueue:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: dict[str, _Waiting] = {}
        self._working: dict[str, Request] = {}
        self._closed = False

    def put(self, request: Request, delay: float = 0.0) -> bool:
        """Queue ``request``; False when it merged into one already waiting.

        A merged request is due at the earlier of the two due times, so a fresh
        trigger cancels the wait of a pending retry.
        """
        due = time.monotonic() + max(0.0, delay)
        with self._cond:
            if self._closed:
                return False
            waiting = self._waiting.get(request.key)
            if waiting is None:
                self._waiting[request.key] = _Waiting(request, due)
                fresh = True
            else:
                waiting.request = waiting.request.merge(request)
                waiting.due = min(waiting.due, due)
                waiting.merged += 1
                metrics.REQUESTS_COLLAPSED.inc()
                fresh = False
            metrics.QUEUE_DEPTH.set(len(self._waiting))
            self._cond.notify_all()
            return fresh

    def take(self, timeout: float | None = None) -> Request | None:
        """The next request to work on, or None on timeout or when closed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                ready = [
                    (w.due, key) for key, w in self._waiting.items()
                    if w.due <= now and key not in self._working
                ]
                if ready:
                    _, key = min(ready)
                    request = self._waiting.pop(key).request
                    self._working[key] = request
                    metrics.QUEUE_DEPTH.set(len(self._waiting))
                    return request
                waits = [w.due - now for k, w in self._waiting.items() if k not in self._working]
                wait = min(waits) if waits else None
                if deadline is not None:
                    left = deadline - now
                    if left <= 0:
                        return None
                    wait = left if wait is None else min(wait, left)
                self._cond.wait(wait)
            return None

    def done(self, request: Request) -> None:
        with self._cond:
            if self._working.get(request.key) is request:
                del self._working[request.key]
            self._cond.notify_all()

    def superseded(self, running: Request, revision: str | None) -> Request | None:
        """The waiting request that makes ``running`` pointless to finish, if any."""
        with self._cond:
            waiting = self._waiting.get(running.key)
            if waiting is not None and waiting.request.supersedes(running, revision):
                return waiting.request
            return None

    def waiting(self) -> list[tuple[Request, float]]:
        """What waits, with seconds until due (for the API and tests)."""
        now = time.monotonic()
        with self._cond:
            return [(w.request, max(0.0, w.due - now)) for w in self._waiting.values()]

    def working(self) -> list[Request]:
        with self._cond:
            return list(self._working.values())

    def idle(self) -> bool:
        with self._cond:
            return not self._waiting and not self._working

    def close(self) -> None:
        """Stop handing out work; waiting requests are dropped."""
        with self._cond:
            self._closed = True
            self._waiting.clear()
            metrics.QUEUE_DEPTH.set(0)
            self._cond.notify_all()
