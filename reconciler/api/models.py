"""What the HTTP API answers: one pydantic model per response body.

Part of the API (read side of stage *record*). The OpenAPI document is
generated from these same models (``openapi.py``), and every handler
serialises one of them, so the document and the answers cannot disagree.
Records of the state store are reused where they are already the right shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reconciler.model.common import Frozen, Kind
from reconciler.model.status import HealthState, HistoryEntry, ResourceStatus, Sync
from reconciler.state import (
    EventRecord,
    RevisionRecord,
    RunRecord,
    ScheduleRunRecord,
    SourceRecord,
    SuspendedRecord,
)


class ErrorBody(Frozen):
    code: str = Field(description="Stable, machine-readable: not_found, bad_request, ...")
    message: str


class Error(Frozen):
    error: ErrorBody


class ResourceSummary(Frozen):
    """One row of the resource list."""

    kind: Kind
    name: str
    sync: Sync
    health: HealthState
    reason: str = Field(default="", description="Why the health is what it is.")
    message: str = ""
    ready: bool = False
    reconciling: bool = False
    step: str = Field(default="", description="While reconciling: the current step.")
    stalled: bool = False
    suspended: bool = False
    last_applied_revision: str | None = None
    last_attempted_revision: str | None = None


class ResourceList(Frozen):
    items: list[ResourceSummary]
    total: int = Field(description="Resources matching the filters (before limit/offset).")


class Counts(Frozen):
    sync: dict[str, int]
    health: dict[str, int]
    total: int


class Overview(Frozen):
    """What ``bosun status`` and the dashboard's first page show."""

    sources: list[SourceRecord]
    last_run: RunRecord | None = None
    revision: str | None = Field(default=None, description="The revision last read.")
    counts: Counts
    resources: list[ResourceSummary] = Field(description="Failing resources first.")
    suspended: list[SuspendedRecord]


class PlannedChange(Frozen):
    """A resource's latest planned change, from the plan that contained it."""

    plan_id: int
    revision: str
    created_at: datetime
    change: PlanChange


class ResourceDetail(Frozen):
    status: ResourceStatus
    summary: ResourceSummary
    suspended: SuspendedRecord | None = None
    last_change: PlannedChange | None = None
    events: list[EventRecord] = Field(description="This resource's latest events.")


class HistoryList(Frozen):
    items: list[HistoryEntry] = Field(description="Newest first.")


class EventPage(Frozen):
    items: list[EventRecord]
    next: int | None = Field(default=None,
                             description="Pass as ?before= for the next (older) page.")


class RunPage(Frozen):
    items: list[RunRecord]
    next: int | None = None


class RevisionList(Frozen):
    items: list[RevisionRecord]


class ScheduleRunPage(Frozen):
    items: list[ScheduleRunRecord]
    next: int | None = None


class Accepted(Frozen):
    queued: bool = Field(description="False when merged into a reconcile already waiting.")
    work: str


# -- plans: the shape of render.plan_json -------------------------------------


class _Lenient(BaseModel):
    """Plan bodies are stored JSON: fields a newer bosun added are left out, not refused."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class PlanDiff(_Lenient):
    path: str
    before: Any = None
    after: Any = None
    sensitive: bool = False


class PlanChange(_Lenient):
    action: str
    resource: str
    kind: str
    name: str
    provider: str
    reason: str
    details: list[str] = Field(default_factory=list)
    diffs: list[PlanDiff] = Field(default_factory=list)


class PlanSummary(_Lenient):
    text: str
    create: int = 0
    update: int = 0
    replace: int = 0
    delete: int = 0


class PlanProblem(_Lenient):
    resource: str | None = None
    provider: str = ""
    message: str


class PlanPolicy(_Lenient):
    rule: str
    policy: str
    resource: str
    message: str
    enforced: bool
    position: str | None = None


class PlanView(_Lenient):
    id: int
    run_id: int | None = None
    format_version: int = 1
    digest: str
    revision: str
    desired_digest: str = ""
    observed_digest: str = ""
    created_at: datetime | None = None
    summary: PlanSummary
    changes: list[PlanChange] = Field(default_factory=list)
    errors: list[PlanProblem] = Field(default_factory=list)
    warnings: list[PlanProblem] = Field(default_factory=list)
    policy: list[PlanPolicy] = Field(default_factory=list)


class PlanListItem(Frozen):
    id: int
    run_id: int | None = None
    revision: str
    created_at: datetime
    digest: str
    summary: str
    changes: int


class PlanList(Frozen):
    items: list[PlanListItem]
    next: int | None = None


PlannedChange.model_rebuild()
ResourceDetail.model_rebuild()
