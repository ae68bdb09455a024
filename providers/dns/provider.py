"""The DNS provider: DNSZone and DNSRecord resources (and Routes' ``dns:``) on real servers.

observe -> plan -> apply, zone by zone:
- observe reads every zone in bulk through its backend (AXFR for ``rfc2136``,
  one GET for ``powerdns``), concurrently; a zone that cannot be read is a
  failure for the zone and its records, never an empty zone;
- plan diffs each zone (``planner``) and refuses, without ``--force``, a plan
  that updates or deletes more than 30% of a zone of 10 or more record sets;
- apply writes all changes of one zone in one request (``batch_key`` is the
  zone), then reads the zone again and reports a change as applied only when
  the server really holds what it asked for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from providers.dns.backend import PartialWrite, ZoneBackend, backend_for
from providers.dns.observation import Conflict, DNSObservation, ZoneFailure, ZoneRecords
from providers.dns.planner import UNSAFE_MIN_SETS, UNSAFE_SHARE, ZonePlan, owned_sets, plan_zone
from providers.dns.records import RecordSet, SetEdit, describe, fqdn
from providers.dns.remembered import RememberedZones, ZoneNote, where
from providers.dns.wanted import ZoneTarget, zone_targets
from reconciler.errors import BosunError, PermanentError, ProviderError, UnsafePlanError
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.kinds import DNSZone
from reconciler.model.plan import Change, ChangeOutcome, ChangeResult, PlanWarning
from reconciler.model.status import Health, HealthState
from reconciler.provider import KeyValueStore, PlanOutcome, ProviderContext, SecretResolver

BackendFactory = Callable[[DNSZone, SecretResolver], ZoneBackend]


class DNSProvider:
    name = "dns"
    kinds = frozenset({Kind.DNS_ZONE, Kind.DNS_RECORD})

    def __init__(self, backends: BackendFactory = backend_for) -> None:
        self._backends = backends
        # observe and plan of one reconcile see the same desired state and zone
        # reads: remember the last targets and zone plans instead of redoing them.
        self._targets: tuple[str, dict[str, ZoneTarget]] | None = None
        self._plans: dict[tuple[str, str], tuple[ZoneRecords, str, ZonePlan]] = {}

    def _zone_targets(self, desired: DesiredState) -> dict[str, ZoneTarget]:
        cached = self._targets
        if cached is not None and cached[0] == desired.digest:
            return cached[1]
        targets = zone_targets(desired)
        self._targets = (desired.digest, targets)
        return targets

    def _plan_zone(self, desired: DesiredState, target: ZoneTarget, records: ZoneRecords,
                   owner: str) -> ZonePlan:
        key = (desired.digest, target.resource)
        cached = self._plans.get(key)
        if cached is not None and cached[0] is records and cached[1] == owner:
            return cached[2]
        zone_plan = plan_zone(target, records, owner, self.name)
        self._plans = {k: v for k, v in self._plans.items() if k[0] == desired.digest}
        self._plans[key] = (records, owner, zone_plan)
        return zone_plan

    # -- observe --------------------------------------------------------------------

    def _read(self, target: ZoneTarget, ctx: ProviderContext) -> ZoneRecords:
        return self._backends(target.spec_zone, ctx.secrets).read()

    def observe(self, desired: DesiredState, ctx: ProviderContext) -> DNSObservation:
        targets = self._zone_targets(desired)
        zones: dict[str, ZoneRecords] = {}
        failed: dict[str, ZoneFailure] = {}
        if targets:
            with ThreadPoolExecutor(max_workers=min(8, len(targets))) as pool:
                futures = {name: pool.submit(self._read, t, ctx) for name, t in targets.items()}
            for name, future in sorted(futures.items()):
                try:
                    zones[name] = future.result()
                except Exception as exc:
                    if isinstance(exc, ProviderError):
                        message = exc.message
                    elif isinstance(exc, BosunError):
                        message = str(exc)
                    else:  # a bug must still not read as "the zone is empty"
                        ctx.log.exception("dns: reading zone %s failed", name)
                        message = f"{type(exc).__name__}: {exc}"
                    failed[name] = ZoneFailure(message=message,
                                               records=tuple(targets[name].record_refs()))
        conflicts: list[Conflict] = []
        memory = RememberedZones(ctx.state_dir, ctx.kv)
        for name, records in sorted(zones.items()):
            zone_plan = self._plan_zone(desired, targets[name], records, ctx.owner)
            conflicts.extend(zone_plan.conflicts)
            self._remember(memory, targets[name], zone_plan.owned)
        return DNSObservation(zones=zones, failed=failed, conflicts=tuple(conflicts))

    @staticmethod
    def _remember(memory: RememberedZones, target: ZoneTarget, owned: int) -> None:
        """Note whether bosun owns record sets in the zone (see ``remembered``)."""
        note = ZoneNote(origin=target.origin.to_text(), server=where(target.spec_zone),
                        owned=owned) if owned else None
        memory.note(target.resource, note)

    # -- plan -----------------------------------------------------------------------

    def plan(self, desired: DesiredState, observed: DNSObservation,
             ctx: ProviderContext) -> list[Change]:
        changes: list[Change] = []
        unsafe: list[tuple[str, ZonePlan]] = []
        for name, target in sorted(self._zone_targets(desired).items()):
            records = observed.zones.get(name)
            if records is None:
                continue  # could not be read: reported by observed.failures()
            zone_plan = self._plan_zone(desired, target, records, ctx.owner)
            if zone_plan.unsafe:
                unsafe.append((records.origin, zone_plan))
            changes.extend(zone_plan.changes)
        if unsafe and not ctx.options.force:
            parts = [
                f"zone {origin}: {zp.risky} of {zp.size} record sets would be updated or "
                f"deleted ({100 * zp.risky // zp.size}%)"
                for origin, zp in unsafe
            ]
            raise UnsafePlanError(
                "; ".join(parts) + f" -- more than {int(UNSAFE_SHARE * 100)}% of a zone of "
                f"{UNSAFE_MIN_SETS} or more record sets", hint="--force")
        return changes

    def plan_detailed(self, desired: DesiredState, observed: DNSObservation,
                      ctx: ProviderContext) -> PlanOutcome:
        changes = self.plan(desired, observed, ctx)
        targets = self._zone_targets(desired)
        remembered = RememberedZones(ctx.state_dir, ctx.kv).all()
        warnings = [
            PlanWarning(ref=ResourceRef(kind=Kind.DNS_ZONE, name=name), message=(
                f"no longer in the repository, so bosun cannot reach zone {note.origin} on "
                f"{note.server} any more: {note.owned} record set(s) it wrote there are left "
                "as they are; declare the zone again without records to remove them, or "
                f"'bosun forget DNSZone/{name}' to leave them"))
            for name, note in sorted(remembered.items()) if name not in targets
        ]
        return PlanOutcome(changes=changes, warnings=warnings)

    def forget(self, ref: ResourceRef, state_dir: Path, kv: KeyValueStore | None) -> list[str]:
        """Drop the note of a zone removed from the repository (its records stay)."""
        if ref.kind is not Kind.DNS_ZONE:
            return []
        note = RememberedZones(state_dir, kv).forget(ref.name)
        if note is None:
            return []
        return [f"zone {note.origin} on {note.server}: {note.owned} record set(s) left as "
                "they are"]

    def batch_key(self, change: Change) -> str:
        return f"DNSZone/{change.payload.get('zone', '')}"

    # -- apply ----------------------------------------------------------------------

    def apply(self, changes: Sequence[Change], desired: DesiredState,
              ctx: ProviderContext) -> list[ChangeResult]:
        by_zone: dict[str, list[int]] = defaultdict(list)
        for i, change in enumerate(changes):
            by_zone[str(change.payload.get("zone", ""))].append(i)
        results: dict[int, ChangeResult] = {}
        for zone, indexes in by_zone.items():
            batch = [changes[i] for i in indexes]
            for i, result in zip(indexes, self._apply_zone(zone, batch, desired, ctx),
                                 strict=True):
                results[i] = result
        return [results[i] for i in range(len(changes))]

    def _apply_zone(self, zone: str, changes: list[Change], desired: DesiredState,
                    ctx: ProviderContext) -> list[ChangeResult]:
        started = datetime.now(UTC)
        ref = ResourceRef(kind=Kind.DNS_ZONE, name=zone)
        res = desired.get(ref)
        if res is None or not isinstance(res.document, DNSZone):
            raise PermanentError("the zone is not in the desired state any more", ref)
        soas = {str(c.payload.get("soa", "")) for c in changes}
        if len(soas) != 1:
            raise PermanentError("changes of one zone were planned against different reads",
                                 ref)
        backend = self._backends(res.document, ctx.secrets)
        groups = [[SetEdit.model_validate(e) for e in c.payload.get("edits", [])]
                  for c in changes]
        failure = ""
        try:
            sent = backend.write(groups, soas.pop())
        except PartialWrite as exc:
            sent, failure = exc.accepted, exc.message
        try:
            read_back = backend.read()
        except ProviderError as exc:
            message = f"written ({sent} request(s)) but could not be read back: {exc.message}"
            return [self._result(c, ChangeOutcome.FAILED, message, started, sent if i == 0 else 0)
                    for i, c in enumerate(changes)]
        after = read_back.index()
        target = self._zone_targets(desired).get(zone)
        if target is not None:
            self._remember(RememberedZones(ctx.state_dir, ctx.kv), target,
                           owned_sets(target, read_back, ctx.owner))
        results = []
        for i, (change, edits) in enumerate(zip(changes, groups, strict=True)):
            wrong = [e for e in edits if after.get(e.key) != e.after]
            writes = sent if i == 0 else 0
            if not wrong:
                results.append(self._result(change, ChangeOutcome.APPLIED, "", started, writes))
                continue
            lines = [self._mismatch(e, after.get(e.key), backend) for e in wrong]
            if failure:
                lines.insert(0, failure)
            results.append(self._result(change, ChangeOutcome.FAILED, "; ".join(lines),
                                        started, writes))
        return results

    @staticmethod
    def _mismatch(edit: SetEdit, seen: RecordSet | None, backend: ZoneBackend) -> str:
        name = fqdn(edit.name, backend.origin)
        text = (f"the server accepted the write but {name} {edit.type} is {describe(seen)}, "
                f"not {describe(edit.after)}")
        if edit.after is not None and seen is None:
            if edit.type == "CNAME":
                return text + " (servers drop a CNAME that shares its name with other data)"
            return text + " (servers drop data added beside a CNAME)"
        return text

    @staticmethod
    def _result(change: Change, outcome: ChangeOutcome, message: str, started: datetime,
                writes: int) -> ChangeResult:
        return ChangeResult(ref=change.ref, action=change.action, outcome=outcome,
                            message=message, started_at=started,
                            finished_at=datetime.now(UTC), writes=writes)

    # -- health ---------------------------------------------------------------------

    def health(self, desired: DesiredState, observed: DNSObservation,
               ctx: ProviderContext) -> dict[ResourceRef, Health]:
        out: dict[ResourceRef, Health] = {}
        conflicts = {c.ref: c.message for c in observed.conflicts}
        for name, target in self._zone_targets(desired).items():
            failure = observed.failed.get(name)
            records = observed.zones.get(name)
            if failure is not None or records is None:
                message = failure.message if failure else "not read"
                out[target.ref] = Health(state=HealthState.UNKNOWN, reason="ReadFailed",
                                         message=message)
                for ref in target.record_refs():
                    out[ref] = Health(state=HealthState.UNKNOWN, reason="ZoneNotRead")
                continue
            out[target.ref] = Health(state=HealthState.HEALTHY)
            index = records.index()
            for key, wanted in target.sets.items():
                if wanted.declared_by.kind is not Kind.DNS_RECORD:
                    continue
                seen = index.get(key)
                if wanted.declared_by in conflicts:
                    out[wanted.declared_by] = Health(state=HealthState.DEGRADED,
                                                     reason="Conflict",
                                                     message=conflicts[wanted.declared_by])
                elif seen is None:
                    out[wanted.declared_by] = Health(state=HealthState.MISSING,
                                                     reason="NotApplied")
                elif seen != wanted.records:
                    out[wanted.declared_by] = Health(state=HealthState.PROGRESSING,
                                                     reason="OutOfDate",
                                                     message=f"server has {describe(seen)}")
                else:
                    out[wanted.declared_by] = Health(state=HealthState.HEALTHY)
        return out
