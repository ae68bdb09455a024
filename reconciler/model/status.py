"""Status of a resource: the sync and health axes, conditions and history.

Part of the model layer. The record stage writes these; the API, the dashboard,
``bosun status`` and the status branch read them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from reconciler.model.common import Frozen, ResourceRef


class Sync(StrEnum):
    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"


class HealthState(StrEnum):
    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"
    MISSING = "Missing"
    SUSPENDED = "Suspended"
    UNKNOWN = "Unknown"


class Health(Frozen):
    state: HealthState
    reason: str = ""
    message: str = ""


class ConditionType(StrEnum):
    READY = "Ready"
    RECONCILING = "Reconciling"
    STALLED = "Stalled"


class Condition(Frozen):
    type: ConditionType
    status: bool
    reason: str = ""
    message: str = ""
    last_transition: datetime | None = None


class HistoryEntry(Frozen):
    revision: str
    digest: str
    started_at: datetime
    finished_at: datetime | None = None
    result: str
    changes: tuple[str, ...] = ()


class ResourceStatus(Frozen):
    ref: ResourceRef
    sync: Sync = Sync.UNKNOWN
    health: Health = Field(default_factory=lambda: Health(state=HealthState.UNKNOWN))
    conditions: tuple[Condition, ...] = ()
    last_applied_revision: str | None = None
    last_attempted_revision: str | None = None
    history: tuple[HistoryEntry, ...] = ()
