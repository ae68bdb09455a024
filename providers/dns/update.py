"""Building the RFC 2136 UPDATE messages of one write, in wire form.

One message when it fits (65,535 bytes on TCP), guarded by the zone's SOA as
read with the plan: any change to the zone since then moves the serial, the
server answers NXRRSET and applies nothing. A plan too large for one message
is packed greedily into as few as fit, a change (a record set and its marker)
never split between two; the first keeps the SOA guard, the later ones (the
serial has moved by then) guard every set they touch: absent for a new set,
present with exactly the values read for a changed one.

The message is written here byte by byte (RFC 2136 section 2), as dnspython's
``UpdateMessage`` would write it: owner names compressed against the zone
name, every record on its own (``present``/``add`` one rdata at a time; an
rdataset passed whole would carry its TTL into the prerequisite section,
and servers answer FORMERR), signed with ``dns.tsig``. Building the message
through dnspython made an rdata object per value and an RRset per record and
took most of the time of a 2,000-record apply; A and AAAA values go to the
wire straight from their text, other types through ``dns.rdata``.
"""

from __future__ import annotations

import re
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass

import dns.entropy
import dns.name
import dns.opcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.tsig

from providers.dns.records import RecordSet, SetEdit

MAX_MESSAGE = 65535
# Header, question, TSIG record and the SOA guard stay well under this.
RESERVED = 600
RR_FIXED = 10  # type, class, TTL, RDLENGTH
TSIG_FUDGE = 300
_ORIGIN_OFFSET = 12  # the zone section's name follows the header
_FLAGS = dns.opcode.to_flags(dns.opcode.UPDATE)
_IN = int(dns.rdataclass.IN)
_ANY = int(dns.rdataclass.ANY)
_NONE = int(dns.rdataclass.NONE)
_SOA = int(dns.rdatatype.SOA)
_TSIG = int(dns.rdatatype.TSIG)
_RR = struct.Struct("!HHIH")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_*-]+(\.[A-Za-z0-9_*-]+)*")


class TooLarge(Exception):
    """A single change does not fit in one DNS message."""


@dataclass(frozen=True)
class Update:
    """One UPDATE message as it is sent, and what checks its answer."""

    id: int
    wire: bytes
    keyring: dict[dns.name.Name, dns.tsig.Key] | None = None
    mac: bytes | None = None
    """The MAC of the message's TSIG: the answer's signature covers it."""


@dataclass
class _Edit:
    labels: tuple[bytes, ...]
    """Labels in front of the zone name; the whole name when ``inside`` is False."""
    inside: bool
    edit: SetEdit
    rdtype: int
    before: list[bytes]
    after: list[bytes]


@dataclass
class _Group:
    edits: list[_Edit]

    def sizes(self) -> tuple[int, int]:
        """Upper bounds on the wire of its updates, and of its per-set prerequisites."""
        size = guards = 0
        for e in self.edits:
            # Owner names compress to their own labels plus a pointer to the origin.
            owner = sum(len(label) + 1 for label in e.labels) + 2 + RR_FIXED
            before = sum(owner + len(rd) for rd in e.before)
            size += (owner if e.before else 0) + sum(owner + len(rd) for rd in e.after)
            guards += before or owner
        return size, guards


def _rdata_wires(records: RecordSet | None, rdtype: int) -> list[bytes]:
    """The rdata of each value, as it goes on the wire (names uncompressed)."""
    if records is None:
        return []
    if rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        family = socket.AF_INET if rdtype == dns.rdatatype.A else socket.AF_INET6
        try:
            return [socket.inet_pton(family, value) for value in records.values]
        except OSError:
            pass  # not the canonical form: dnspython reads it, or says why not
    return [rd.to_wire() or b"" for rd in records.rdatas()]


def _owner(name: str, origin: dns.name.Name) -> tuple[tuple[bytes, ...], bool]:
    """The labels of a relative name in front of the origin (``@`` has none)."""
    if name == "@":
        return (), True
    if _PLAIN_NAME.fullmatch(name) and len(name) < 200 and \
            all(len(label) <= 63 for label in name.split(".")):
        return tuple(label.encode() for label in name.split(".")), True
    absolute = dns.name.from_text(name, origin=origin)
    if absolute.is_subdomain(origin):
        return tuple(absolute.relativize(origin).labels), True
    return tuple(absolute.labels[:-1]), False


def _prepare(groups: Sequence[Sequence[SetEdit]], origin: dns.name.Name) -> list[_Group]:
    out = []
    for group in groups:
        edits = []
        for edit in group:
            labels, inside = _owner(edit.name, origin)
            rdtype = int(dns.rdatatype.from_text(edit.type))
            edits.append(_Edit(labels, inside, edit, rdtype,
                               _rdata_wires(edit.before, rdtype),
                               _rdata_wires(edit.after, rdtype)))
        out.append(_Group(edits))
    return out


class _Writer:
    """One message: sections appended in order, owner names compressed."""

    def __init__(self, origin: dns.name.Name) -> None:
        self.out = bytearray(12)  # the header is written last
        self.names: dict[tuple[tuple[bytes, ...], bool], int] = {}
        self.out += origin.to_wire() or b""
        self.out += struct.pack("!HH", _SOA, _IN)

    def name(self, labels: tuple[bytes, ...], inside: bool) -> None:
        key = (labels, inside)
        found = self.names.get(key)
        if found is not None:
            self.out += struct.pack("!H", 0xC000 | found)
            return
        if len(self.out) < 0x3FFF:
            self.names[key] = len(self.out)
        for label in labels:
            self.out.append(len(label))
            self.out += label
        self.out += struct.pack("!H", 0xC000 | _ORIGIN_OFFSET) if inside else b"\0"

    def record(self, labels: tuple[bytes, ...], inside: bool, rdtype: int, rdclass: int,
               ttl: int, rdata: bytes = b"") -> None:
        self.name(labels, inside)
        self.out += _RR.pack(rdtype, rdclass, ttl, len(rdata))
        self.out += rdata

    def finish(self, counts: tuple[int, int], key: dns.tsig.Key | None) -> Update:
        ident = dns.entropy.random_16()
        self.out[:12] = struct.pack("!HHHHHH", ident, _FLAGS, 1, *counts, 0)
        if key is None:
            return Update(ident, bytes(self.out))
        template = dns.rdtypes.ANY.TSIG.TSIG(  # type: ignore[no-untyped-call]
            dns.rdataclass.ANY, dns.rdatatype.TSIG, key.algorithm, 0, TSIG_FUDGE, b"",
            ident, 0, b"")
        tsig, _ctx = dns.tsig.sign(  # type: ignore[no-untyped-call]
            bytes(self.out), key, template, int(time.time()), None)
        rdata = tsig.to_wire() or b""
        self.out += key.name.to_wire() or b""
        self.out += _RR.pack(_TSIG, _ANY, 0, len(rdata))
        self.out += rdata
        self.out[10:12] = struct.pack("!H", 1)
        return Update(ident, bytes(self.out), {key.name: key}, tsig.mac)


def _message(origin: dns.name.Name, key: dns.tsig.Key | None, groups: Sequence[_Group],
             soa: bytes | None) -> Update:
    writer = _Writer(origin)
    edits = [e for g in groups for e in g.edits]
    guards = 0
    if soa is not None:
        writer.record((), True, _SOA, _IN, 0, soa)
        guards = 1
    else:
        for e in edits:
            if e.before:
                for rdata in e.before:
                    writer.record(e.labels, e.inside, e.rdtype, _IN, 0, rdata)
                guards += len(e.before)
            else:
                writer.record(e.labels, e.inside, e.rdtype, _NONE, 0)
                guards += 1
    updates = 0
    # Deletes first: a CNAME may replace other data at the same name.
    for e in edits:
        if e.before:
            writer.record(e.labels, e.inside, e.rdtype, _ANY, 0)
            updates += 1
    for e in edits:
        if e.after:
            assert e.edit.after is not None
            for rdata in e.after:
                writer.record(e.labels, e.inside, e.rdtype, _IN, e.edit.after.ttl, rdata)
            updates += len(e.after)
    return writer.finish((guards, updates), key)


def _checked(origin: dns.name.Name, key: dns.tsig.Key | None, groups: list[_Group],
             soa: bytes | None) -> list[Update]:
    """Messages for ``groups``, halved again should the estimate have been short."""
    message = _message(origin, key, groups, soa)
    if len(message.wire) <= MAX_MESSAGE:
        return [message]
    if len(groups) == 1:
        raise TooLarge(groups[0].edits[0].edit.name)
    half = len(groups) // 2
    return _checked(origin, key, groups[:half], soa) + _checked(origin, key, groups[half:], None)


def update_messages(origin: dns.name.Name, key: dns.tsig.Key | None,
                    groups: Sequence[Sequence[SetEdit]], soa: dns.rdata.Rdata
                    ) -> list[Update]:
    """As few UPDATE messages as hold ``groups``; the first is guarded by ``soa``."""
    prepared = _prepare(groups, origin)
    guard = soa.to_wire() or b""
    whole = _message(origin, key, prepared, guard)
    if len(whole.wire) <= MAX_MESSAGE:
        return [whole]
    budget = MAX_MESSAGE - RESERVED
    chunks: list[list[_Group]] = [[]]
    used = 0
    for group in prepared:
        size, guards = group.sizes()
        cost = size + (0 if len(chunks) == 1 else guards)
        if chunks[-1] and used + cost > budget:
            chunks.append([])
            cost = size + guards
            used = 0
        chunks[-1].append(group)
        used += cost
    messages: list[Update] = []
    for i, chunk in enumerate(chunks):
        messages.extend(_checked(origin, key, chunk, guard if i == 0 else None))
    return messages
