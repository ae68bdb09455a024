"""DNS checks across documents: record values, record sets, CNAME exclusivity, zones.

Part of stage *resolve* (see ``reconciler.resolve``).
"""

from __future__ import annotations

import functools
import ipaddress
from collections import defaultdict

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from reconciler.documents import Validated
from reconciler.model.kinds import DNSRecord, DNSZone, Route
from reconciler.model.source import PathKey, Position
from reconciler.resolve.context import Context


def _origins(ctx: Context) -> dict[str, dns.name.Name]:
    """The origin of every valid DNSZone resource, by resource name."""
    return {item.document.name: dns.name.from_text(item.document.spec.zone)
            for item in ctx.items if isinstance(item.document, DNSZone)}


def _check_rdata(ctx: Context, item: Validated, path: PathKey, rtype: str, values: list[str],
                 origin: dns.name.Name | None) -> None:
    for i, value in enumerate(values):
        if rtype in ("A", "AAAA"):
            try:
                parsed = ipaddress.ip_address(value)
            except ValueError:
                parsed = None
            want = 4 if rtype == "A" else 6
            if parsed is None or parsed.version != want:
                ctx.add(item, (*path, i), f"{value!r} is not an IPv{want} address")
            continue
        reason = _rdata_problem(rtype, value, origin or dns.name.root)
        if reason is not None:
            ctx.add(item, (*path, i), f"{value!r} is not a valid {rtype} value: {reason}")


@functools.lru_cache(maxsize=4096)
def _rdata_problem(rtype: str, value: str, origin: dns.name.Name) -> str | None:
    """Why dnspython cannot read ``value`` as ``rtype`` data (values repeat: cached)."""
    try:
        dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), value,
                            origin=origin)
    except Exception as exc:  # dnspython raises more than DNSException on bad text
        reason = (str(exc) or type(exc).__name__).rstrip(".")
        return reason[:1].lower() + reason[1:]
    return None


def _record_position(item: Validated) -> Position:
    path = ("spec", "dns") if isinstance(item.document, Route) else ("spec", "type")
    return item.raw.position_of(path)


def check_dns(ctx: Context) -> None:
    # Record sets are (zone, name, type); a CNAME owns its name alone.
    sets: dict[tuple[str, str], dict[str, Validated]] = defaultdict(dict)
    zones: dict[str, Validated] = {}
    origins = _origins(ctx)
    for item in ctx.items:
        doc = item.document
        if isinstance(doc, DNSZone):
            if doc.spec.zone in zones:
                other = zones[doc.spec.zone]
                ctx.add(item, ("spec", "zone"), f"zone {doc.spec.zone!r} is also managed by "
                        f"{other.ref} at {other.raw.position_of(('spec', 'zone'))}")
            else:
                zones[doc.spec.zone] = item
            continue
        if isinstance(doc, DNSRecord):
            origin = origins.get(doc.spec.zone)
            _check_rdata(ctx, item, ("spec", "values"), doc.spec.type, doc.spec.values, origin)
            key = (doc.spec.zone, doc.spec.name)
            if doc.spec.type in sets[key]:
                other = sets[key][doc.spec.type]
                ctx.add(item, ("spec", "type"),
                        f"record set {doc.spec.name} {doc.spec.type} is also defined by "
                        f"{other.ref} at {_record_position(other)}")
                continue
            sets[key][doc.spec.type] = item
        elif isinstance(doc, Route) and doc.spec.dns is not None:
            origin = origins.get(doc.spec.dns.zone)
            _check_rdata(ctx, item, ("spec", "dns", "values"), doc.spec.dns.type,
                         doc.spec.dns.values, origin)
            if origin is None:
                continue
            for i, host in enumerate(doc.spec.hosts):
                name = dns.name.from_text(host)
                if not name.is_subdomain(origin):
                    ctx.add(item, ("spec", "hosts", i),
                            f"host {host!r} is not inside zone {origin.to_text()!r}")
                    continue
                rel = name.relativize(origin).to_text()
                key = (doc.spec.dns.zone, rel)
                if doc.spec.dns.type in sets[key]:
                    other = sets[key][doc.spec.dns.type]
                    ctx.add(item, ("spec", "dns"),
                            f"record set {rel} {doc.spec.dns.type} is also defined by "
                            f"{other.ref} at {_record_position(other)}")
                    continue
                sets[key][doc.spec.dns.type] = item
    for (_zone, record_name), by_type in sets.items():
        if "CNAME" in by_type and len(by_type) > 1:
            cname = by_type["CNAME"]
            others = ", ".join(f"{t} ({v.ref} at {_record_position(v)})"
                               for t, v in sorted(by_type.items()) if t != "CNAME")
            ctx.add(cname, ("spec", "type"),
                    f"a CNAME at {record_name!r} cannot share its name with other records: "
                    f"{others}")


