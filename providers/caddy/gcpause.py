"""Pause Python's cyclic garbage collector around bulk config work.

Part of the Caddy provider. A reconcile parses Caddy's whole config and builds
the objects of every route: tens of thousands of dicts and lists, all trees
(no reference cycles), freed by reference counting alone. Each of those
allocations counts towards the cyclic collector's thresholds, and its full
passes walk the whole desired state too; at 2,000 routes they more than
doubled a no-op plan (110 ms of CPU without them, 270 ms with them). The
collector is paused inside ``paused()`` and resumed when the last thread
leaves it, if it was running when the first entered.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator


class _Pause:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.resume = False


_state = _Pause()


@contextlib.contextmanager
def paused() -> Iterator[None]:
    with _state.lock:
        if _state.depth == 0:
            _state.resume = gc.isenabled()
            gc.disable()
        _state.depth += 1
    try:
        yield
    finally:
        with _state.lock:
            _state.depth -= 1
            if _state.depth == 0 and _state.resume:
                gc.enable()
