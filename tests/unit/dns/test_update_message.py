"""The RFC 2136 UPDATE bosun builds: one guarded message, split only past 64 KiB."""

from __future__ import annotations

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA
import dns.update

from providers.dns.records import RecordSet, SetEdit
from providers.dns.rfc2136 import RFC2136Zone
from reconciler.model.dnsvalues import parse_value

ORIGIN = dns.name.from_text("example.com.")
SOA = parse_value("SOA", "ns1.example.com. hostmaster.example.com. 7 3600 600 86400 300")


def zone() -> RFC2136Zone:
    return RFC2136Zone("example", ORIGIN, "127.0.0.1", 53, key=None)


def a_set(name: str, *values: str, ttl: int = 300) -> RecordSet:
    return RecordSet(name=name, type="A", ttl=ttl, values=tuple(values))


def test_one_message_guarded_by_the_soa() -> None:
    groups = [
        [SetEdit(name="new", type="A", after=a_set("new", "192.0.2.1", "192.0.2.2"))],
        [SetEdit(name="old", type="A", before=a_set("old", "192.0.2.9"))],
        [SetEdit(name="www", type="CNAME",
                 before=RecordSet(name="www", type="CNAME", ttl=300, values=("a.example.",)),
                 after=RecordSet(name="www", type="CNAME", ttl=60, values=("b.example.",)))],
    ]
    [(message, wire)] = zone().messages(groups, SOA)
    assert isinstance(message, dns.update.UpdateMessage)
    [guard] = message.prerequisite
    assert guard.name == ORIGIN and guard.rdtype == dns.rdatatype.SOA
    assert guard.ttl == 0 and guard.rdclass == dns.rdataclass.IN and list(guard) == [SOA]
    kinds = [(r.name.to_text(), dns.rdatatype.to_text(r.rdtype),
              dns.rdataclass.to_text(r.deleting or r.rdclass), len(r)) for r in message.update]
    # Deletes first (a CNAME may replace other data), then each record on its own.
    assert kinds == [
        ("old.example.com.", "A", "ANY", 0),
        ("www.example.com.", "CNAME", "ANY", 0),
        ("new.example.com.", "A", "IN", 1),
        ("new.example.com.", "A", "IN", 1),
        ("www.example.com.", "CNAME", "IN", 1),
    ]
    assert len(wire) < 400


def test_a_plan_too_big_for_one_message_is_split() -> None:
    big = "x" * 250
    groups = [
        [SetEdit(name=f"h{i}", type="TXT",
                 before=RecordSet(name=f"h{i}", type="TXT", ttl=300, values=(f'"{i}"',)),
                 after=RecordSet(name=f"h{i}", type="TXT", ttl=300, values=(f'"{big}{i}"',)))]
        for i in range(600)
    ]
    rendered = zone().messages(groups, SOA)
    messages = [m for m, _ in rendered]
    assert len(messages) > 1
    sizes = [len(w) for _, w in rendered]
    assert max(sizes) <= 65535
    first, *rest = messages
    assert [r.rdtype for r in first.prerequisite] == [dns.rdatatype.SOA]
    # Once the first message is in, the serial has moved: later ones guard their own sets.
    for message in rest:
        guards = list(message.prerequisite)
        assert guards and all(g.rdtype == dns.rdatatype.TXT and g.ttl == 0 for g in guards)
    updated = sum(len([r for r in m.update if r.deleting is None]) for m in messages)
    assert updated == 600


def test_new_sets_in_later_messages_must_be_absent() -> None:
    groups = [[SetEdit(name=f"n{i}", type="TXT",
                       after=RecordSet(name=f"n{i}", type="TXT", ttl=300,
                                       values=('"' + "y" * 250 + '"',)))]
              for i in range(400)]
    _first, (second, _wire), *_ = zone().messages(groups, SOA)
    assert second.prerequisite
    assert all(g.rdclass == dns.rdataclass.NONE and len(g) == 0
               for g in second.prerequisite)
