"""What the state store hands out: plain frozen records, ready for JSON.

Part of the state store. The API, the dashboard, ``bosun status`` and the
status branch read these; resource status itself is the model's
``ResourceStatus``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from reconciler.model.common import Frozen, ResourceRef


class SourceState(StrEnum):
    OK = "ok"
    FAILED = "failed"


class SourceRecord(Frozen):
    name: str
    url: str = Field(description="Where the source reads from, credentials removed.")
    ref: str
    state: SourceState
    message: str = ""
    revision: str | None = None
    checked_at: datetime
    succeeded_at: datetime | None = None


class RevisionRecord(Frozen):
    id: int
    source: str
    revision: str
    ref: str
    sha: str | None = None
    message: str | None = None
    seen_at: datetime


class RunState(StrEnum):
    """A reconcile's life: planning -> applying -> one of the final states."""

    PLANNING = "planning"
    APPLYING = "applying"
    SUCCEEDED = "succeeded"        # applied every change (or there was none)
    FAILED = "failed"              # some change failed, or the plan could not be made
    SUPERSEDED = "superseded"      # a newer revision arrived; what was left was not applied
    STOPPED = "stopped"            # bosun was asked to stop; what was left was not applied
    INTERRUPTED = "interrupted"    # bosun died while applying; found on the next start

    @property
    def final(self) -> bool:
        return self not in (RunState.PLANNING, RunState.APPLYING)


class RunRecord(Frozen):
    id: int
    revision: str
    trigger: str
    state: RunState
    started_at: datetime
    finished_at: datetime | None = None
    desired_digest: str | None = None
    plan_digest: str | None = None
    summary: str = ""
    message: str = ""
    changes: tuple[str, ...] = ()


class EventLevel(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class EventRecord(Frozen):
    id: int
    at: datetime
    level: EventLevel
    kind: str
    ref: ResourceRef | None = None
    message: str
    data: dict[str, Any] = Field(default_factory=dict)


class SuspendedRecord(Frozen):
    ref: ResourceRef
    since: datetime
    reason: str = ""
