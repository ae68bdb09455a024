"""The record sets the repository wants, zone by zone.

Read from the desired state: every DNSRecord, and every Route with a ``dns:``
block (one record set per host of the route, in the route's zone). The
resolve stage has already checked values, duplicates and CNAME exclusivity;
here they are only brought into the canonical form of ``records``.

Refs: a DNSRecord's set carries the DNSRecord's own ref. A set that a Route
declares carries ``DNSRecord/<fqdn>/<TYPE>`` (``DNSRecord/www.example.com/A``):
the Route itself belongs to the gateway provider, whose change for the same
ref would be confused with this one; the name cannot clash with a DNSRecord
resource, whose names are single DNS labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dns.name

from providers.dns.records import RecordSet, SetKey, fqdn, relative_name
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.dnsvalues import canonical_values
from reconciler.model.kinds import DNSRecord, DNSZone, Ownership, Route


@dataclass(frozen=True)
class WantedSet:
    records: RecordSet
    declared_by: ResourceRef
    ref: ResourceRef


@dataclass
class ZoneTarget:
    """One DNSZone resource and the record sets the repository puts in it."""

    resource: str
    spec_zone: DNSZone
    origin: dns.name.Name
    sets: dict[SetKey, WantedSet] = field(default_factory=dict)

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(kind=Kind.DNS_ZONE, name=self.resource)

    @property
    def shared(self) -> bool:
        return self.spec_zone.spec.ownership is Ownership.SHARED

    @property
    def adopt(self) -> bool:
        return self.spec_zone.spec.adopt

    def record_refs(self) -> list[ResourceRef]:
        """DNSRecord resources in the zone (what a failed read leaves unplanned)."""
        return sorted({w.declared_by for w in self.sets.values()
                       if w.declared_by.kind is Kind.DNS_RECORD}, key=ResourceRef.sort_key)


def set_ref(name: str, rtype: str, origin: dns.name.Name) -> ResourceRef:
    """The ref of a set that no DNSRecord resource declares."""
    return ResourceRef(kind=Kind.DNS_RECORD, name=f"{fqdn(name, origin).rstrip('.')}/{rtype}")


def zone_targets(desired: DesiredState) -> dict[str, ZoneTarget]:
    """Every DNSZone of the desired state with its wanted record sets."""
    zones: dict[str, ZoneTarget] = {}
    for res in desired.of_kind(Kind.DNS_ZONE):
        doc = res.document
        if isinstance(doc, DNSZone):
            zones[doc.name] = ZoneTarget(
                resource=doc.name, spec_zone=doc, origin=dns.name.from_text(doc.spec.zone)
            )
    for res in desired.resources:
        doc = res.document
        if isinstance(doc, DNSRecord):
            target = zones.get(doc.spec.zone)
            if target is None:
                continue
            records = RecordSet(
                name=doc.spec.name, type=doc.spec.type, ttl=doc.spec.ttl,
                values=canonical_values(doc.spec.type, doc.spec.values),
            )
            target.sets[records.key] = WantedSet(records, res.ref, res.ref)
        elif isinstance(doc, Route) and doc.spec.dns is not None:
            target = zones.get(doc.spec.dns.zone)
            if target is None:
                continue
            values = canonical_values(doc.spec.dns.type, doc.spec.dns.values)
            for host in doc.spec.hosts:
                name = relative_name(dns.name.from_text(host), target.origin)
                records = RecordSet(name=name, type=doc.spec.dns.type, ttl=doc.spec.dns.ttl,
                                    values=values)
                ref = set_ref(name, records.type, target.origin)
                target.sets[records.key] = WantedSet(records, res.ref, ref)
    return zones
