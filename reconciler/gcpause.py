"""Pause Python's cyclic garbage collector around bulk work, one count for the process.

Not a stage: the pipeline (load, plan) and providers (the Caddy provider's
config work) call ``paused()``. Loading and planning a large repository, or
parsing Caddy's whole config and building the objects of every route,
allocate hundreds of thousands of small dicts and lists, all trees freed by
reference counting alone. Each allocation counts towards the collector's
thresholds and its full passes walk the whole desired state: about a quarter
of a large load and plan (bench/load_plan.py), more than half of a no-op plan
of 2,000 routes (110 ms of CPU without them, 270 ms with them). The collector
is paused while any thread is inside ``paused()`` and resumed when the last
one leaves, if it was running when the first entered. One count for every
caller: two separate counts would let one caller's exit end another's pause.
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
