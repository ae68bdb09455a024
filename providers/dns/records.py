"""Record sets as the DNS provider compares them: (name, type) with a TTL and values.

Both sides of a DNS plan are made of ``RecordSet``s: the desired ones come
from DNSRecord resources and Routes' ``dns:`` blocks, the observed ones from
an AXFR or the PowerDNS API. Names are relative to the zone, in lower case
(``@`` is the apex); values are canonical text (``reconciler.model.dnsvalues``),
sorted, so that two sets compare equal exactly when the server would serve
the same data.
"""

from __future__ import annotations

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
from pydantic import Field

from reconciler.model.common import Frozen
from reconciler.model.dnsvalues import canonical

SetKey = tuple[str, str]
"""(relative name, type) of a record set."""


class RecordSet(Frozen):
    name: str = Field(description="Relative to the zone, lower case; '@' is the apex.")
    type: str
    ttl: int
    values: tuple[str, ...] = Field(description="Canonical presentation forms, sorted.")

    @property
    def key(self) -> SetKey:
        return (self.name, self.type)

    def content(self) -> dict[str, object]:
        """What a plan shows of the set: TTL and values."""
        return {"ttl": self.ttl, "values": list(self.values)}

    def rdatas(self) -> list[dns.rdata.Rdata]:
        rdtype = dns.rdatatype.from_text(self.type)
        return [
            dns.rdata.from_text(dns.rdataclass.IN, rdtype, value, origin=dns.name.root,
                                relativize=False)
            for value in self.values
        ]


class SetEdit(Frozen):
    """One record set as it was read (``before``) and as it must become (``after``)."""

    name: str
    type: str
    before: RecordSet | None = None
    after: RecordSet | None = None

    @property
    def key(self) -> SetKey:
        return (self.name, self.type)


def relative_name(name: dns.name.Name, origin: dns.name.Name) -> str:
    return name.relativize(origin).to_text().lower()


def absolute_name(name: str, origin: dns.name.Name) -> dns.name.Name:
    if name == "@":
        return origin
    return dns.name.from_text(name, origin=origin)


def fqdn(name: str, origin: dns.name.Name) -> str:
    """Absolute presentation form of a relative name (both already escaped)."""
    zone = origin.to_text()
    return zone if name == "@" else f"{name}.{zone}"


def from_rdataset(name: str, rdataset: dns.rdataset.Rdataset) -> RecordSet:
    return RecordSet(
        name=name,
        type=dns.rdatatype.to_text(rdataset.rdtype),
        ttl=rdataset.ttl,
        values=tuple(sorted({canonical(rd) for rd in rdataset})),
    )


def describe(records: RecordSet | None) -> str:
    if records is None:
        return "absent"
    shown = ", ".join(records.values[:3]) + (", ..." if len(records.values) > 3 else "")
    return f"TTL {records.ttl} [{shown}]"
