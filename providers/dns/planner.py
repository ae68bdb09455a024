"""Diff one zone: wanted record sets against the ones read, into ``Change``s.

Pure functions over ``ZoneTarget`` and ``ZoneRecords``; no server is asked
anything here. One change per record set, carrying in its payload every
record set it writes (the set and, in shared zones, its ownership marker) as
``SetEdit``s with the state that was read, so that apply can guard the write
and verify it afterwards without planning again.

Rules, in the order they are checked:
- SOA, the apex NS, DNSSEC records and ``_acme-challenge`` names are never
  touched, whatever the zone's ownership;
- shared zone: a set is bosun's when its marker names this owner; an existing
  set without a marker is adopted only with ``adopt: true``; a set another
  owner's marker claims is never taken; only bosun's own sets are deleted;
- authoritative zone: every set that the repository does not declare is deleted;
- a CNAME never joins other data at its name, nor other data a CNAME
  (the server would silently drop one of them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from providers.dns.observation import Conflict, ZoneRecords
from providers.dns.ownership import Marker, marker_name, parse_marker, protected
from providers.dns.records import RecordSet, SetEdit, SetKey
from providers.dns.wanted import WantedSet, ZoneTarget, set_ref
from reconciler.model.common import ResourceRef
from reconciler.model.plan import Change, ChangeAction, FieldDiff

MARKER_TTL = 300
UNSAFE_SHARE = 0.3
UNSAFE_MIN_SETS = 10


@dataclass
class ZonePlan:
    changes: list[Change] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    size: int = 0
    risky: int = 0
    owned: int = 0
    """Record sets bosun owns in the zone as read (markers of this owner, or every
    set of an authoritative zone)."""

    @property
    def unsafe(self) -> bool:
        """More than 30% of a zone of 10 or more record sets updated or deleted."""
        return self.size >= UNSAFE_MIN_SETS and self.risky > UNSAFE_SHARE * self.size


@dataclass
class _Zone:
    target: ZoneTarget
    observed: ZoneRecords
    owner: str
    provider: str
    raw: dict[SetKey, RecordSet] = field(default_factory=dict)
    records: dict[SetKey, RecordSet] = field(default_factory=dict)
    markers: dict[str, Marker] = field(default_factory=dict)
    types_at: dict[str, list[str]] = field(default_factory=dict)
    deleted: set[SetKey] = field(default_factory=set)
    out: ZonePlan = field(default_factory=ZonePlan)
    origin_text: str = ""

    def fqdn(self, name: str) -> str:
        return self.origin_text if name == "@" else f"{name}.{self.origin_text}"

    def change(self, action: ChangeAction, ref: ResourceRef, reason: str,
               edits: list[SetEdit], diffs: list[FieldDiff], details: list[str]) -> None:
        self.out.changes.append(Change(
            action=action, ref=ref, provider=self.provider, reason=reason,
            diffs=tuple(diffs), details=tuple(details),
            payload={
                "zone": self.target.resource,
                "origin": self.observed.origin,
                "soa": self.observed.soa,
                "edits": [e.model_dump(mode="json") for e in edits],
            },
        ))

    def conflict(self, ref: ResourceRef, message: str) -> None:
        self.out.conflicts.append(Conflict(ref=ref, message=message))


def _set_diffs(before: RecordSet | None, after: RecordSet | None) -> list[FieldDiff]:
    diffs = []
    if before is None or after is None or before.values != after.values:
        diffs.append(FieldDiff(path="values",
                               before=list(before.values) if before else None,
                               after=list(after.values) if after else None))
    if before is None or after is None or before.ttl != after.ttl:
        diffs.append(FieldDiff(path="ttl", before=before.ttl if before else None,
                               after=after.ttl if after else None))
    return diffs


def _value_lines(z: _Zone, records: RecordSet, limit: int = 3) -> list[str]:
    name = z.fqdn(records.name)
    lines = [f"{name} {records.ttl} {records.type} {v}" for v in records.values[:limit]]
    if len(records.values) > limit:
        lines.append(f"... and {len(records.values) - limit} more values")
    return lines


def _read(z: _Zone) -> None:
    for records in z.observed.sets:
        z.raw[records.key] = records
        if protected(records.name, records.type):
            continue
        if z.target.shared:
            marker = parse_marker(records)
            if marker is not None:
                z.markers[records.name] = marker
                continue
        z.records[records.key] = records
        z.types_at.setdefault(records.name, []).append(records.type)
    z.out.size = len(z.records)


def _owned(z: _Zone, key: SetKey) -> Marker | None:
    marker = z.markers.get(marker_name(*key))
    return marker if marker is not None and marker.owner == z.owner else None


def _plan_deletes(z: _Zone) -> None:
    for key, records in sorted(z.records.items()):
        if key in z.target.sets:
            continue
        edits = [SetEdit(name=key[0], type=key[1], before=records)]
        details: list[str] = []
        if z.target.shared:
            marker = _owned(z, key)
            if marker is None:
                continue  # not bosun's: left alone
            mname = marker_name(*key)
            edits.append(SetEdit(name=mname, type="TXT", before=z.raw.get((mname, "TXT"))))
            details.append(f"and its ownership marker {z.fqdn(mname)} TXT")
            ref = (ResourceRef.parse(marker.resource) if marker.resource.startswith("DNSRecord/")
                   else set_ref(*key, z.target.origin))
            reason = "no longer in the repository"
        else:
            ref = set_ref(*key, z.target.origin)
            reason = f"not in the repository and zone {z.observed.origin} is authoritative"
        z.deleted.add(key)
        z.out.risky += 1
        z.change(ChangeAction.DELETE, ref, reason, edits, _set_diffs(records, None), details)


def _cname_conflict(z: _Zone, wanted: WantedSet) -> str | None:
    name, rtype = wanted.records.key
    staying = sorted(t for t in z.types_at.get(name, ()) if (name, t) not in z.deleted
                     and t != rtype)
    if rtype == "CNAME" and staying:
        return (f"a CNAME at {z.fqdn(name)} would share the name with existing "
                f"{', '.join(staying)} records that bosun does not manage")
    if rtype != "CNAME" and "CNAME" in staying:
        return (f"{z.fqdn(name)} holds a CNAME that bosun does not manage; "
                f"{rtype} records cannot join it")
    return None


def _plan_wanted(z: _Zone, wanted: WantedSet) -> None:
    after = wanted.records
    key = after.key
    name = z.fqdn(after.name)
    reason_protected = protected(*key)
    if reason_protected:
        z.conflict(wanted.declared_by, f"{name} {after.type}: {reason_protected}")
        return
    current = z.records.get(key)
    adopting = False
    marker_edit: SetEdit | None = None
    if z.target.shared:
        mname = marker_name(*key)
        marker = z.markers.get(mname)
        if marker is not None and marker.owner != z.owner:
            z.conflict(wanted.declared_by,
                       f"{name} {after.type} belongs to owner {marker.owner!r} "
                       f"(marker {z.fqdn(mname)}); bosun leaves it alone")
            return
        if current is not None and marker is None:
            if not z.target.adopt:
                z.conflict(wanted.declared_by,
                           f"{name} {after.type} already exists and is not bosun's (no "
                           f"ownership marker); set adopt: true on {z.target.ref} to take "
                           "it over")
                return
            adopting = True
        want_marker = Marker(owner=z.owner, resource=str(wanted.declared_by)).record(
            mname, MARKER_TTL)
        seen_marker = z.raw.get((mname, "TXT"))
        if seen_marker is not None and parse_marker(seen_marker) is None:
            z.conflict(wanted.declared_by,
                       f"{name} {after.type}: its marker name {z.fqdn(mname)} holds TXT "
                       "records that are not a bosun marker")
            return
        if seen_marker != want_marker:
            marker_edit = SetEdit(name=mname, type="TXT", before=seen_marker, after=want_marker)
    problem = _cname_conflict(z, wanted)
    if problem:
        z.conflict(wanted.declared_by, problem)
        return
    edits: list[SetEdit] = []
    if current != after:
        edits.append(SetEdit(name=after.name, type=after.type, before=current, after=after))
    if marker_edit is not None:
        edits.append(marker_edit)
    if not edits:
        return
    details = [] if wanted.declared_by == wanted.ref else [f"declared by {wanted.declared_by}"]
    diffs = _set_diffs(current, after) if current != after else []
    if marker_edit is not None and current is not None:
        before_text = marker_edit.before.values[0] if marker_edit.before else None
        diffs.append(FieldDiff(path="marker", before=before_text,
                               after=marker_edit.after.values[0] if marker_edit.after else None))
    if current is None:
        details = _value_lines(z, after) + details
        if marker_edit is not None:
            details.append(f"with ownership marker {z.fqdn(marker_edit.name)} TXT")
        z.change(ChangeAction.CREATE, wanted.ref, f"{name} {after.type} does not exist yet",
                 edits, diffs, details)
        return
    parts = []
    if adopting:
        parts.append("adopting the existing record set (adopt: true)")
    if current.values != after.values:
        parts.append("values differ")
    if current.ttl != after.ttl:
        parts.append(f"TTL differs ({current.ttl} -> {after.ttl})")
    if not parts:
        parts.append("ownership marker out of date")
    if current != after:
        z.out.risky += 1
    z.change(ChangeAction.UPDATE, wanted.ref, "; ".join(parts), edits, diffs, details)


def _plan_orphan_markers(z: _Zone) -> None:
    known = {marker_name(*key) for key in z.records} | {marker_name(*k) for k in z.target.sets}
    for mname, marker in sorted(z.markers.items()):
        if marker.owner != z.owner or mname in known:
            continue
        before = z.raw[(mname, "TXT")]
        z.change(ChangeAction.DELETE, set_ref(mname, "TXT", z.target.origin),
                 "ownership marker of a record set that no longer exists",
                 [SetEdit(name=mname, type="TXT", before=before)],
                 _set_diffs(before, None), [])


def _owned_count(z: _Zone) -> int:
    if z.target.shared:
        return sum(1 for m in z.markers.values() if m.owner == z.owner)
    return len(z.records)


def owned_sets(target: ZoneTarget, observed: ZoneRecords, owner: str) -> int:
    """How many record sets of the zone as read are bosun's (see ``ZonePlan.owned``)."""
    z = _Zone(target=target, observed=observed, owner=owner, provider="dns")
    _read(z)
    return _owned_count(z)


def plan_zone(target: ZoneTarget, observed: ZoneRecords, owner: str,
              provider: str = "dns") -> ZonePlan:
    """Changes that make the zone hold what ``target`` wants, and what stands in the way."""
    z = _Zone(target=target, observed=observed, owner=owner, provider=provider,
              origin_text=target.origin.to_text())
    _read(z)
    z.out.owned = _owned_count(z)
    _plan_deletes(z)
    for _key, wanted in sorted(target.sets.items()):
        _plan_wanted(z, wanted)
    if target.shared:
        _plan_orphan_markers(z)
    return z.out
