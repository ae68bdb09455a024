"""Stage *record*, beyond the state store: plans, live feed, metrics and the status branch.

... -> apply -> **record**

``attach`` wires a ``StatusRecorder`` into a reconcile cycle; what it returns
(``StatusService``) is handed to the HTTP API and the dashboard, which read
the live feed, and is started and stopped with the runtime.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.state import StateStore
from reconciler.status.branch import StatusBranch, StatusBranchError, StatusRemote, Written
from reconciler.status.feed import StatusFeed
from reconciler.status.recorder import BranchWriter, StatusRecorder, agent_name

if TYPE_CHECKING:  # the runtime imports this package's details module
    from reconciler.runtime.cycle import ReconcileCycle


@dataclass
class StatusService:
    store: StateStore
    feed: StatusFeed
    recorder: StatusRecorder
    writer: BranchWriter | None = None

    def start(self) -> None:
        if self.writer is not None:
            self.writer.start()

    def stop(self, timeout: float = 30.0) -> None:
        if self.writer is not None:
            self.writer.stop(timeout)


def attach(cycle: ReconcileCycle, store: StateStore, *, status_branch: bool = True,
           agent: str | None = None) -> StatusService:
    """Listen to ``cycle``; write the status branch when its source is a Git remote."""
    feed = StatusFeed()
    writer = None
    source = cycle.source
    if status_branch and hasattr(source, "fetch_ref") and hasattr(source, "push_ref"):
        remote: StatusRemote = source  # type: ignore[assignment]
        key = hashlib.sha256(source.display_url.encode()).hexdigest()[:16]
        writer = BranchWriter(store, remote, store.state_dir / "status-branch" / key, agent)
    recorder = StatusRecorder(store, feed, writer)
    cycle.listeners.append(recorder)
    return StatusService(store, feed, recorder, writer)


__all__ = [
    "BranchWriter",
    "StatusBranch",
    "StatusBranchError",
    "StatusFeed",
    "StatusRecorder",
    "StatusRemote",
    "StatusService",
    "Written",
    "agent_name",
    "attach",
]
