"""The state store: what bosun remembers between reconciles and across restarts.

Not a stage: the runtime's *record* step writes here; ``bosun status``, the API,
the dashboard and providers (through ``ProviderContext.kv``) read it. One
SQLite database in WAL mode, ``<state-dir>/state.db`` (``db``): sources,
revisions seen, reconcile runs, per-resource status and history (``runs``),
events, webhook deliveries, a key-value table for providers (last healthy
configs for rollback) and suspended resources (``control``); plans and
schedule runs for the API and the dashboard (``status_tables``); what the
scheduler records of each run (``schedule_runs``).

A damaged or missing store is moved aside and rebuilt (see ``db``); the next
reconcile fills it again from Git and the engines. Every method is safe to
call from any thread.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.state.control import SUSPENDED_FILE, ControlTables
from reconciler.state.db import BUSY_TIMEOUT, DB_FILE, StateDirError, StoreError
from reconciler.state.records import EventLevel
from reconciler.state.runs import HISTORY_PER_RESOURCE, RunsTables
from reconciler.state.schedule_runs import ScheduleRunsTables
from reconciler.state.status_tables import StatusTables


class StateStore(RunsTables, ControlTables, StatusTables, ScheduleRunsTables):
    """bosun's SQLite state."""

    @classmethod
    def open(cls, state_dir: Path) -> StateStore:
        return cls(state_dir)

    def _after_rebuild(self, reason: str) -> None:
        self._restore_suspended()
        moved = self.rebuilt_from.name if self.rebuilt_from else "aside"
        self.add_event("state", f"the state store was unusable ({reason}); moved to {moved} "
                       "and rebuilt", level=EventLevel.WARNING)


__all__ = [
    "BUSY_TIMEOUT",
    "DB_FILE",
    "HISTORY_PER_RESOURCE",
    "SUSPENDED_FILE",
    "StateDirError",
    "StateStore",
    "StoreError",
]
