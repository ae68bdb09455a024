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


class ServiceInfo(Frozen):
    """One service of a stack, as its provider saw it (no environment, no secrets)."""

    name: str
    image: str = ""
    replicas: int | None = Field(default=None, description="Containers or tasks wanted.")
    running: int | None = Field(default=None, description="Containers or tasks running.")
    ports: tuple[str, ...] = ()


class ContainerInfo(Frozen):
    """One container (or swarm task) of a stack."""

    name: str
    service: str = ""
    state: str = Field(description="created, running, restarting, exited, paused, dead")
    health: str | None = Field(default=None, description="healthy, unhealthy, starting")
    image: str = ""


class UpstreamInfo(Frozen):
    """Where a route sends its traffic."""

    address: str = Field(description="host:port, a URL, or stack/service:port")
    healthy: bool | None = None


class ResourceDetails(Frozen):
    """What a provider recorded about a resource beyond its health, for people.

    Stacks fill ``services`` and ``containers``, routes ``hosts`` and
    ``upstreams``; ``facts`` holds short labelled values any provider may add
    (a zone's serial, a gateway's listen address). Never secret values.
    """

    services: tuple[ServiceInfo, ...] = ()
    containers: tuple[ContainerInfo, ...] = ()
    hosts: tuple[str, ...] = ()
    upstreams: tuple[UpstreamInfo, ...] = ()
    facts: dict[str, str] = Field(default_factory=dict)


class ResourceStatus(Frozen):
    ref: ResourceRef
    sync: Sync = Sync.UNKNOWN
    health: Health = Field(default_factory=lambda: Health(state=HealthState.UNKNOWN))
    conditions: tuple[Condition, ...] = ()
    last_applied_revision: str | None = None
    last_attempted_revision: str | None = None
    history: tuple[HistoryEntry, ...] = ()
    digest: str | None = Field(
        default=None, description="Digest of the desired resource this status was computed for."
    )
    details: ResourceDetails | None = None

    def condition(self, kind: ConditionType) -> Condition | None:
        return next((c for c in self.conditions if c.type is kind), None)
