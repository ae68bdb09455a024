"""The RFC 2136 UPDATE bosun builds: one guarded message, split only past 64 KiB."""

from __future__ import annotations

import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA
import dns.tsig
import dns.update
import pytest

from providers.dns.records import RecordSet, SetEdit
from providers.dns.rfc2136 import RFC2136Zone
from providers.dns.update import Update
from reconciler.model.dnsvalues import parse_value

ORIGIN = dns.name.from_text("example.com.")
SOA = parse_value("SOA", "ns1.example.com. hostmaster.example.com. 7 3600 600 86400 300")


def zone() -> RFC2136Zone:
    return RFC2136Zone("example", ORIGIN, "127.0.0.1", 53, key=None)


def parsed(update: Update) -> dns.update.UpdateMessage:
    """The message as the server reads it."""
    message = dns.message.from_wire(update.wire)
    assert isinstance(message, dns.update.UpdateMessage)
    assert message.id == update.id
    return message


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
    [update] = zone().messages(groups, SOA)
    message = parsed(update)
    wire = update.wire
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
    messages = [parsed(u) for u in rendered]
    assert len(messages) > 1
    sizes = [len(u.wire) for u in rendered]
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
    _first, second_update, *_ = zone().messages(groups, SOA)
    second = parsed(second_update)
    assert second.prerequisite
    assert all((g.deleting or g.rdclass) == dns.rdataclass.NONE and len(g) == 0
               for g in second.prerequisite)


def test_a_signed_message_verifies_and_names_compress() -> None:
    key = dns.tsig.Key("bosun-key.", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "hmac-sha256")
    signed = RFC2136Zone("example", ORIGIN, "127.0.0.1", 53, key=key)
    groups = [[SetEdit(name=name, type="A", after=a_set(name, "192.0.2.1"))]
              for name in ("@", "www", "*.dev", r"a\.b", "deep.er.name")]
    [update] = signed.messages(groups, SOA)
    assert update.keyring == {key.name: key} and update.mac
    message = dns.message.from_wire(update.wire, keyring={key.name: key})  # verifies the MAC
    assert isinstance(message, dns.update.UpdateMessage)
    assert message.had_tsig and message.id == update.id
    assert [r.name.to_text() for r in message.update] == [
        "example.com.", "www.example.com.", "*.dev.example.com.", r"a\.b.example.com.",
        "deep.er.name.example.com."]
    # The zone section and the two names inside the SOA guard; owners point at the zone.
    assert update.wire.count(b"\x07example\x03com\x00") == 3
    tampered = bytearray(update.wire)
    tampered[-200] ^= 1
    with pytest.raises(dns.tsig.BadSignature):
        dns.message.from_wire(bytes(tampered), keyring={key.name: key})
