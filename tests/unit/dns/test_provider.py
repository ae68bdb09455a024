"""The DNS provider through its Protocol, with an in-memory zone server as backend.

``MemoryZone`` is an honest stand-in for a server at the backend boundary: it
holds record sets, applies edits, counts writes, and, like BIND and Knot,
accepts a CNAME that conflicts with other data and silently drops it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dns.name
import pytest

from providers.dns import DNSProvider
from providers.dns.backend import ZoneBackend
from providers.dns.observation import DNSObservation, ZoneRecords
from providers.dns.records import RecordSet, SetEdit
from reconciler.errors import ObserveError, UnsafePlanError
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.kinds import DNSZone
from reconciler.model.plan import ChangeAction, ChangeOutcome
from reconciler.model.status import HealthState
from reconciler.pipeline import load_desired
from reconciler.provider import ApplyOptions, ProviderContext, SecretResolver
from reconciler.secrets import Secrets

SOA = "ns1.example.com. hostmaster.example.com. 1 3600 600 86400 300"


class MemoryZone:
    def __init__(self, sets: list[RecordSet]) -> None:
        self.origin = dns.name.from_text("example.com.")
        self.sets = {s.key: s for s in sets}
        self.serial = 1
        self.writes = 0
        self.down = False

    def read(self) -> ZoneRecords:
        if self.down:
            raise ObserveError("cannot transfer zone example.com. from 127.0.0.1:53: "
                               "connection refused (is the server running?)")
        soa = SOA.replace(" 1 ", f" {self.serial} ")
        sets = {**self.sets, ("@", "SOA"): RecordSet(name="@", type="SOA", ttl=3600,
                                                     values=(soa,))}
        return ZoneRecords(resource="example", origin="example.com.", serial=self.serial,
                           soa=soa, sets=tuple(sets[k] for k in sorted(sets)))

    def write(self, groups: Sequence[Sequence[SetEdit]], soa: str) -> int:
        self.writes += 1
        for edit in [e for g in groups for e in g]:
            self.sets.pop(edit.key, None)
            if edit.after is None:
                continue
            others = [k for k in self.sets if k[0] == edit.name]
            if edit.type == "CNAME" and others:
                continue  # what BIND and Knot do: NOERROR, CNAME dropped
            self.sets[edit.key] = edit.after
        self.serial += 1
        return 1


def a_set(name: str, value: str, ttl: int = 300) -> RecordSet:
    return RecordSet(name=name, type="A", ttl=ttl, values=(value,))


def repo(tmp_path: Path, records: dict[str, dict[str, Any]], ownership: str = "authoritative"
         ) -> DesiredState:
    docs: list[dict[str, Any]] = [{
        "apiVersion": "bosun/v1", "kind": "DNSZone", "metadata": {"name": "example"},
        "spec": {"zone": "example.com", "server": "127.0.0.1:53", "ownership": ownership}}]
    docs += [{"apiVersion": "bosun/v1", "kind": "DNSRecord", "metadata": {"name": name},
              "spec": {"zone": "example", **spec}} for name, spec in records.items()]
    (tmp_path / "dns.yaml").write_text("\n---\n".join(json.dumps(d) for d in docs))
    return load_desired(tmp_path)


def context(tmp_path: Path, desired: DesiredState, force: bool = False) -> ProviderContext:
    return ProviderContext(state_dir=tmp_path / "state", owner=desired.owner,
                           secrets=Secrets(desired, {}), options=ApplyOptions(force=force))


def provider_for(server: MemoryZone) -> DNSProvider:
    def factory(zone: DNSZone, secrets: SecretResolver) -> ZoneBackend:
        return server

    return DNSProvider(factory)


HOSTS = {f"h{i}": {"name": f"h{i}", "type": "A", "values": [f"192.0.2.{i}"]} for i in range(10)}


def test_four_steps_in_memory(tmp_path: Path) -> None:
    server = MemoryZone([])
    desired = repo(tmp_path, HOSTS)
    ctx = context(tmp_path, desired)
    provider = provider_for(server)
    changes = provider.plan(desired, provider.observe(desired, ctx), ctx)
    assert [c.action for c in changes] == [ChangeAction.CREATE] * 10
    assert {provider.batch_key(c) for c in changes} == {"DNSZone/example"}
    results = provider.apply(changes, desired, ctx)
    assert [r.outcome for r in results] == [ChangeOutcome.APPLIED] * 10
    assert sum(r.writes for r in results) == 1 and server.writes == 1
    observed = provider.observe(desired, ctx)
    assert provider.plan(desired, observed, ctx) == []
    health = provider.health(desired, observed, ctx)
    assert health[ResourceRef(kind=Kind.DNS_RECORD, name="h3")].state is HealthState.HEALTHY


def test_a_zone_that_cannot_be_read_plans_nothing(tmp_path: Path) -> None:
    server = MemoryZone([a_set(f"h{i}", f"192.0.2.{i}") for i in range(10)])
    server.down = True
    desired = repo(tmp_path, {"h1": HOSTS["h1"]})
    ctx = context(tmp_path, desired)
    provider = provider_for(server)
    observed = provider.observe(desired, ctx)
    assert isinstance(observed, DNSObservation)
    assert provider.plan(desired, observed, ctx) == []
    assert observed.failures() == [
        (ResourceRef(kind=Kind.DNS_ZONE, name="example"),
         "cannot transfer zone example.com. from 127.0.0.1:53: connection refused "
         "(is the server running?)"),
        (ResourceRef(kind=Kind.DNS_RECORD, name="h1"),
         "not planned: DNSZone/example could not be read"),
    ]
    health = provider.health(desired, observed, ctx)
    assert health[ResourceRef(kind=Kind.DNS_ZONE, name="example")].state is HealthState.UNKNOWN


@pytest.mark.parametrize(("changed", "refused"), [(3, False), (4, True)])
def test_the_30_percent_threshold(tmp_path: Path, changed: int, refused: bool) -> None:
    # 11 sets: 10 hosts and a stray one, which the authoritative zone deletes.
    server = MemoryZone([a_set(f"h{i}", f"192.0.2.{i}") for i in range(10)]
                        + [a_set("stray", "192.0.2.200")])
    records = {**HOSTS, **{f"h{i}": {**HOSTS[f"h{i}"], "values": ["198.51.100.1"]}
                           for i in range(changed - 1)}}
    desired = repo(tmp_path, records)
    provider = provider_for(server)
    ctx = context(tmp_path, desired)
    observed = provider.observe(desired, ctx)
    if refused:
        with pytest.raises(UnsafePlanError) as caught:
            provider.plan(desired, observed, ctx)
        assert caught.value.hint == "--force"
        assert "4 of 11 record sets would be updated or deleted (36%)" in str(caught.value)
        forced = context(tmp_path, desired, force=True)
        assert len(provider.plan(desired, observed, forced)) == changed
    else:
        assert len(provider.plan(desired, observed, ctx)) == changed


def test_a_dropped_cname_is_reported_not_applied(tmp_path: Path) -> None:
    server = MemoryZone([])
    desired = repo(tmp_path, {"www": {"name": "www", "type": "CNAME",
                                      "values": ["blog.example.com"]}})
    provider = provider_for(server)
    ctx = context(tmp_path, desired)
    changes = provider.plan(desired, provider.observe(desired, ctx), ctx)
    server.sets[("www", "TXT")] = RecordSet(name="www", type="TXT", ttl=60, values=('"x"',))
    [result] = provider.apply(changes, desired, ctx)
    assert result.outcome is ChangeOutcome.FAILED
    assert result.message == ("the server accepted the write but www.example.com. CNAME is "
                              "absent, not TTL 300 [blog.example.com.] (servers drop a CNAME "
                              "that shares its name with other data)")
    assert result.writes == 1


def test_shared_zone_deletes_only_its_own(tmp_path: Path) -> None:
    server = MemoryZone([a_set("hand", "192.0.2.99")])
    desired = repo(tmp_path, {"h1": HOSTS["h1"]}, ownership="shared")
    provider = provider_for(server)
    ctx = context(tmp_path, desired)
    provider.apply(provider.plan(desired, provider.observe(desired, ctx), ctx), desired, ctx)
    assert ("bosun-a-h1", "TXT") in server.sets
    emptied = repo(tmp_path, {}, ownership="shared")
    ctx = context(tmp_path, emptied)
    changes = provider.plan(emptied, provider.observe(emptied, ctx), ctx)
    assert [(c.action, str(c.ref)) for c in changes] == [(ChangeAction.DELETE, "DNSRecord/h1")]
    provider.apply(changes, emptied, ctx)
    assert set(server.sets) == {("hand", "A")}


def test_renaming_the_resource_only_rewrites_the_marker(tmp_path: Path) -> None:
    server = MemoryZone([])
    provider = provider_for(server)
    first = repo(tmp_path, {"blog": HOSTS["h1"]}, ownership="shared")
    ctx = context(tmp_path, first)
    provider.apply(provider.plan(first, provider.observe(first, ctx), ctx), first, ctx)
    renamed = repo(tmp_path, {"weblog": HOSTS["h1"]}, ownership="shared")
    ctx = context(tmp_path, renamed)
    [change] = provider.plan(renamed, provider.observe(renamed, ctx), ctx)
    assert (change.action, str(change.ref), change.reason) == (
        ChangeAction.UPDATE, "DNSRecord/weblog", "ownership marker out of date")
    [diff] = change.diffs
    assert diff.path == "marker" and diff.after.endswith('bosun/resource=DNSRecord/weblog"')
    edits = [SetEdit.model_validate(e) for e in change.payload["edits"]]
    assert [(e.name, e.type) for e in edits] == [("bosun-a-h1", "TXT")]
    [result] = provider.apply([change], renamed, ctx)
    assert result.outcome is ChangeOutcome.APPLIED
    assert provider.plan(renamed, provider.observe(renamed, ctx), ctx) == []


def test_a_zone_removed_from_the_repository_is_warned_about_until_emptied_or_forgotten(
        tmp_path: Path) -> None:
    server = MemoryZone([a_set("hand", "192.0.2.99")])
    (tmp_path / "a").mkdir()
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "bosun.yaml").write_text(json.dumps({
        "apiVersion": "bosun/v1", "kind": "Repository", "metadata": {"name": "r"},
        "spec": {}}))
    declared = repo(tmp_path / "a", {"h1": HOSTS["h1"], "h2": HOSTS["h2"]}, "shared")
    without = load_desired(tmp_path / "none")
    ctx = context(tmp_path, declared)
    provider = provider_for(server)
    changes = provider.plan(declared, provider.observe(declared, ctx), ctx)
    provider.apply(changes, declared, ctx)
    provider.observe(declared, ctx)  # after apply: two sets with bosun's markers

    zone = ResourceRef(kind=Kind.DNS_ZONE, name="example")
    gone = provider.plan_detailed(without, provider.observe(without, ctx), ctx)
    assert gone.changes == []
    assert [(w.ref, w.message) for w in gone.warnings] == [(zone, (
        "no longer in the repository, so bosun cannot reach zone example.com. on server "
        "127.0.0.1:53 any more: 2 record set(s) it wrote there are left as they are; declare "
        "the zone again without records to remove them, or 'bosun forget DNSZone/example' "
        "to leave them"))]
    writes = server.writes

    # Declared again without records: bosun deletes its sets, then has nothing to say.
    emptied = repo(tmp_path / "a", {}, "shared")
    changes = provider.plan(emptied, provider.observe(emptied, ctx), ctx)
    assert {c.action for c in changes} == {ChangeAction.DELETE}
    provider.apply(changes, emptied, ctx)
    provider.observe(emptied, ctx)
    assert provider.plan_detailed(without, provider.observe(without, ctx), ctx).warnings == []
    assert ("hand", "A") in server.sets and server.writes == writes + 1

    # Or forgotten: the records stay, the warning goes.
    changes = provider.plan(declared, provider.observe(declared, ctx), ctx)
    provider.apply(changes, declared, ctx)
    provider.observe(declared, ctx)
    assert provider.plan_detailed(without, provider.observe(without, ctx), ctx).warnings
    assert provider.forget(zone, ctx.state_dir, None) == [
        "zone example.com. on server 127.0.0.1:53: 2 record set(s) left as they are"]
    assert provider.forget(zone, ctx.state_dir, None) == []
    assert provider.plan_detailed(without, provider.observe(without, ctx), ctx).warnings == []
    assert ("h1", "A") in server.sets
