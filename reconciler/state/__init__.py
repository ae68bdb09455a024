"""The state store (SQLite, WAL) and the records it hands out. See ``store``."""

from __future__ import annotations

from reconciler.state.records import (
    EventLevel,
    EventRecord,
    RevisionRecord,
    RunRecord,
    RunState,
    SourceRecord,
    SourceState,
    SuspendedRecord,
)
from reconciler.state.status_tables import (
    PlanChangeRecord,
    PlanRecord,
    ScheduleRunRecord,
    ScheduleRunState,
)
from reconciler.state.store import DB_FILE, StateStore

__all__ = [
    "DB_FILE",
    "EventLevel",
    "EventRecord",
    "PlanChangeRecord",
    "PlanRecord",
    "RevisionRecord",
    "RunRecord",
    "RunState",
    "ScheduleRunRecord",
    "ScheduleRunState",
    "SourceRecord",
    "SourceState",
    "StateStore",
    "SuspendedRecord",
]
