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
from reconciler.model.dnsvalues import canonical_text
from reconciler.model.kinds import DNSRecord, DNSZone, Route
from reconciler.model.source import PathKey, Position
from reconciler.resolve.context import Context


def _origins(ctx: Context) -> dict[str, dns.name.Name]:
    """The origin of every valid DNSZone resource, by resource name."""
    return {item.document.name: dns.name.from_text(item.document.spec.zone)
            for item in ctx.items if isinstance(item.document, DNSZone)}


def _check_rdata(ctx: Context, item: Validated, path: PathKey, rtype: str, values: list[str],
                 origin: dns.name.Name | None) -> None:
    seen: dict[str, int] = {}
    for i, value in enumerate(values):
        if _check_one(ctx, item, (*path, i), rtype, value, origin):
            # The provider compares canonical forms (model.dnsvalues): two
            # spellings of one value, or a relative name, are mistakes to say now.
            try:
                text = canonical_text(rtype, value)
            except ValueError as exc:
                ctx.add(item, (*path, i), f"{value!r} is not a valid {rtype} value: {exc}")
                continue
            if text in seen:
                ctx.add(item, (*path, i), f"{value!r} is the same value as item {seen[text]}")
            seen.setdefault(text, i)


def _check_one(ctx: Context, item: Validated, path: PathKey, rtype: str, value: str,
               origin: dns.name.Name | None) -> bool:
    if rtype in ("A", "AAAA"):
        try:
            parsed = ipaddress.ip_address(value)
        except ValueError:
            parsed = None
        want = 4 if rtype == "A" else 6
        if parsed is None or parsed.version != want:
            ctx.add(item, path, f"{value!r} is not an IPv{want} address")
            return False
        return True
    # TXT text longer than 255 bytes is split into strings by canonical_text.
    reason = None if rtype == "TXT" else _rdata_problem(rtype, value, origin or dns.name.root)
    if reason is not None:
        ctx.add(item, path, f"{value!r} is not a valid {rtype} value: {reason}")
        return False
    return True


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


def _check_record_name(ctx: Context, item: Validated, path: PathKey, name: str,
                       rtype: str) -> None:
    # The provider never touches these; declaring them is a mistake worth saying early.
    if name.split(".", maxsplit=1)[0] == "_acme-challenge":
        ctx.add(item, path, f"{name!r}: _acme-challenge names belong to ACME clients; "
                "bosun never manages them")
    elif name == "@" and rtype == "NS":
        ctx.add(item, path, "the zone's own NS records at the apex are never managed by bosun")
    elif name == "@" and rtype == "CNAME":
        ctx.add(item, path, "a CNAME cannot sit at the zone apex (it would share the name "
                "with SOA and NS)")


def _zone_key(origins: dict[str, dns.name.Name], zone: str) -> str:
    """Record sets are keyed by the zone's origin: two resources may name one zone."""
    origin = origins.get(zone)
    return origin.to_text() if origin is not None else zone


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
            _check_record_name(ctx, item, ("spec", "name"), doc.spec.name, doc.spec.type)
            key = (_zone_key(origins, doc.spec.zone), doc.spec.name)
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
            if doc.spec.dns.type == "CNAME" and len(doc.spec.dns.values) != 1:
                ctx.add(item, ("spec", "dns", "values"),
                        "a CNAME record set has exactly one value")
            if origin is None:
                continue
            for i, host in enumerate(doc.spec.hosts):
                name = dns.name.from_text(host)
                if not name.is_subdomain(origin):
                    ctx.add(item, ("spec", "hosts", i),
                            f"host {host!r} is not inside zone {origin.to_text()!r}")
                    continue
                rel = name.relativize(origin).to_text().lower()
                _check_record_name(ctx, item, ("spec", "hosts", i), rel, doc.spec.dns.type)
                key = (origin.to_text(), rel)
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
            path: PathKey = ("spec", "dns", "type") if isinstance(cname.document, Route) \
                else ("spec", "type")
            ctx.add(cname, path,
                    f"a CNAME at {record_name!r} cannot share its name with other records: "
                    f"{others}")


