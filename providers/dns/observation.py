"""What the DNS provider read: each zone's record sets, or why it could not.

A ``DNSObservation`` is a ``PartialObservation``: a zone that could not be
read (server down, transfer refused, bad key) is an error for the zone and
for every DNSRecord in it, and the plan holds no change for them, never a
delete. Conflicts found while reading (a record set that exists but is not
bosun's, a CNAME that would collide) are reported the same way.
"""

from __future__ import annotations

from pydantic import Field

from providers.dns.records import RecordSet, SetKey
from reconciler.model.common import Frozen, Kind, ResourceRef


class ZoneRecords(Frozen):
    """One zone as the server holds it."""

    resource: str = Field(description="Name of the DNSZone resource.")
    origin: str
    serial: int
    soa: str = Field(description="Canonical SOA value: the guard of the next write.")
    sets: tuple[RecordSet, ...] = ()

    def index(self) -> dict[SetKey, RecordSet]:
        return {s.key: s for s in self.sets}


class Conflict(Frozen):
    ref: ResourceRef
    message: str


class ZoneFailure(Frozen):
    message: str
    records: tuple[ResourceRef, ...] = Field(
        default=(), description="DNSRecord resources of the zone, left unplanned."
    )


class DNSObservation(Frozen):
    zones: dict[str, ZoneRecords] = Field(default_factory=dict)
    failed: dict[str, ZoneFailure] = Field(default_factory=dict)
    conflicts: tuple[Conflict, ...] = ()

    def failures(self) -> list[tuple[ResourceRef | None, str]]:
        out: list[tuple[ResourceRef | None, str]] = []
        for zone, failure in sorted(self.failed.items()):
            zone_ref = ResourceRef(kind=Kind.DNS_ZONE, name=zone)
            out.append((zone_ref, failure.message))
            for ref in failure.records:
                out.append((ref, f"not planned: {zone_ref} could not be read"))
        out.extend((c.ref, c.message) for c in self.conflicts)
        return out
