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
from reconciler.state.store import DB_FILE, StateStore

__all__ = [
    "DB_FILE",
    "EventLevel",
    "EventRecord",
    "RevisionRecord",
    "RunRecord",
    "RunState",
    "SourceRecord",
    "SourceState",
    "StateStore",
    "SuspendedRecord",
]
