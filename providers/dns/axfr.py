"""Reading a zone with AXFR, straight from the wire, into ``ZoneRecords``.

Used by the RFC 2136 backend for observe and for the read-back after a write.
dnspython builds a ``Name``, an ``Rdata`` and an ``RRset`` for every record of
a transfer, about 16 µs a record, most of the time of a plan of a large
zone; here the answer section is walked directly: owner names become text
from their labels (dnspython's escaping only where a label needs it), A and
AAAA values come from their bytes, and only other types go through
``dns.rdata.from_wire`` and ``canonical``. The result is the one dnspython's
messages gave (``tests/unit/dns/test_axfr.py`` holds both readings against
each other), quirks included: records are grouped into RRsets as dnspython
groups them (by name, class, type and covered type until a message's first
SOA, every record alone after it); a set's TTL is that of its first RRset,
the smallest of its records; a grouped CNAME keeps its last record.

The transfer itself follows RFC 5936 as ``dns.query.xfr`` does: one query
over TCP, messages until the origin SOA comes again; the rcode, the question
and the message id are checked, and with a TSIG key every signed message is
verified by ``dns.tsig`` (unsigned messages in the middle feed the running
digest; the first and the last must be signed).
"""

from __future__ import annotations

import re
import socket
import struct
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import dns.exception
import dns.flags
import dns.ipv4
import dns.ipv6
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsig

from providers.dns.observation import ZoneRecords
from providers.dns.records import RecordSet, SetKey
from providers.dns.wire import BadResponse, name_at, receive
from reconciler.model.dnsvalues import canonical

_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_IN = dns.rdataclass.IN
_A = dns.rdatatype.A
_AAAA = dns.rdatatype.AAAA
_SOA = dns.rdatatype.SOA
_OPT = dns.rdatatype.OPT
_TSIG = dns.rdatatype.TSIG
_AXFR = dns.rdatatype.AXFR
# Labels that dnspython's Name.to_text prints as they are (it escapes "().;\@$,
# spaces and bytes outside printable ASCII); any other label goes through it.
_PLAIN_LABEL = re.compile(rb"[A-Za-z0-9_*/+=-]+")
_TYPE_TEXT: dict[int, str] = {}
_SIGNATURES = frozenset({dns.rdatatype.RRSIG, dns.rdatatype.SIG})
_SINGLETONS = frozenset(t for t in dns.rdatatype.RdataType if dns.rdatatype.is_singleton(t))
_REFUSALS = frozenset({dns.rcode.FORMERR, dns.rcode.SERVFAIL, dns.rcode.NOTIMP,
                       dns.rcode.REFUSED})


class TransferRefused(dns.exception.DNSException):
    """The server answered the transfer with an error rcode."""

    def __init__(self, rcode: dns.rcode.Rcode) -> None:
        super().__init__(dns.rcode.to_text(rcode))  # type: ignore[no-untyped-call]
        self.rcode = rcode


class MissingSOA(Exception):
    """The transfer held no SOA record of class IN at the origin."""


def _form_error(message: str) -> dns.exception.FormError:
    return dns.exception.FormError(message)  # type: ignore[no-untyped-call]


def _rdata(rdclass: int, rdtype: int, wire: bytes, pos: int, rdlen: int) -> dns.rdata.Rdata:
    return dns.rdata.from_wire(cast(dns.rdataclass.RdataClass, rdclass),
                               cast(dns.rdatatype.RdataType, rdtype), wire, pos, rdlen)


def _type_text(rdtype: int) -> str:
    text = _TYPE_TEXT.get(rdtype)
    if text is None:
        text = _TYPE_TEXT[rdtype] = dns.rdatatype.to_text(cast(dns.rdatatype.RdataType, rdtype))
    return text


@dataclass
class _Reader:
    """The state of one transfer while its messages are read."""

    resource: str
    origin: dns.name.Name
    query_id: int
    keyring: dict[dns.name.Name, dns.tsig.Key] | None
    request_mac: bytes
    origin_labels: tuple[bytes, ...] = ()
    tsig_ctx: Any = None
    first_soa: str | None = None
    soa: str | None = None
    done: bool = False
    messages: int = 0
    ttls: dict[SetKey, int] = field(default_factory=dict)
    values: dict[SetKey, set[str]] = field(default_factory=dict)
    names: dict[tuple[bytes, ...], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.origin_labels = tuple(label.lower() for label in self.origin.labels[:-1])

    # -- names and values ---------------------------------------------------------

    def relative(self, labels: tuple[bytes, ...]) -> str:
        """The owner name as ``relative_name`` spells it: relative, lower case, '@'."""
        found = self.names.get(labels)
        if found is not None:
            return found
        n = len(self.origin_labels)
        lowered = tuple(label.lower() for label in labels)
        text: str | None = None
        if len(lowered) >= n and lowered[len(lowered) - n:] == self.origin_labels:
            inside = lowered[:len(lowered) - n]
            if not inside:
                text = "@"
            elif all(_PLAIN_LABEL.fullmatch(label) for label in inside):
                text = b".".join(inside).decode("ascii")
        if text is None:
            name = dns.name.Name((*labels, b""))
            text = name.relativize(self.origin).to_text().lower()
        self.names[labels] = text
        return text

    @staticmethod
    def value(wire: bytes, pos: int, rdclass: int, rdtype: int, rdlen: int) -> str:
        if rdtype == _A and rdlen == 4:
            return dns.ipv4.inet_ntoa(wire[pos:pos + 4])
        if rdtype == _AAAA and rdlen == 16:
            return dns.ipv6.inet_ntoa(wire[pos:pos + 16])
        return canonical(_rdata(rdclass, rdtype, wire, pos, rdlen))

    # -- one message ----------------------------------------------------------------

    def read(self, wire: bytes) -> None:
        """One message of the transfer, checked in dnspython's order: TSIG, that it
        answers the query, rcode, question; then its records."""
        if len(wire) < 12:
            raise dns.message.ShortHeader
        ident, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(wire, 0)
        first = self.messages == 0
        self.messages += 1
        cache: dict[int, tuple[bytes, ...]] = {}
        pos = 12
        questions = set()
        for _ in range(qdcount):
            labels, pos = name_at(wire, pos, cache)
            qtype, qclass = struct.unpack_from("!HH", wire, pos)
            pos += 4
            questions.add((tuple(label.lower() for label in labels), qtype, qclass))
        answers: list[tuple[tuple[bytes, ...], int, int, int, int, int]] = []
        for i in range(ancount + nscount):  # read once the message is checked
            labels, pos = name_at(wire, pos, cache)
            rdtype, rdclass, ttl, rdlen = _RR.unpack_from(wire, pos)
            pos += 10
            if pos + rdlen > len(wire):
                raise _form_error("record data runs past the message")
            if i < ancount:
                answers.append((labels, rdtype, rdclass, ttl, pos, rdlen))
            pos += rdlen
        ednsflags = 0
        tsig: tuple[dns.name.Name, dns.rdata.Rdata, int] | None = None
        for i in range(arcount):
            rr_start = pos
            labels, pos = name_at(wire, pos, cache)
            rdtype, rdclass, ttl, rdlen = _RR.unpack_from(wire, pos)
            pos += 10
            if rdtype == _TSIG:
                if i != arcount - 1 or rdclass != dns.rdataclass.ANY:
                    raise dns.message.BadTSIG
                rdata = _rdata(rdclass, rdtype, wire, pos, rdlen)
                tsig = (dns.name.Name((*labels, b"")), rdata, rr_start)
            elif rdtype == _OPT:
                ednsflags = ttl
            pos += rdlen
        if pos != len(wire):
            raise dns.message.TrailingJunk
        self._verify(wire, tsig)
        if (not flags & dns.flags.QR or ident != self.query_id
                or dns.opcode.from_flags(flags) != dns.opcode.QUERY):
            raise BadResponse
        rcode = dns.rcode.from_flags(flags, ednsflags)
        # A refusal may come without the question; later messages may leave it out.
        answers_query = questions == {(self.origin_labels, _AXFR, _IN)}
        if not answers_query and (questions or (first and rcode not in _REFUSALS)):
            raise BadResponse
        if rcode != dns.rcode.NOERROR:
            raise TransferRefused(rcode)
        if first and self.keyring is not None and tsig is None:
            raise _form_error("missing TSIG")
        if first and not ancount:
            raise _form_error("No answer or RRset not for zone origin")
        self._answers(wire, answers)
        if self.done and self.keyring is not None and tsig is None:
            raise _form_error("missing TSIG")

    def _verify(self, wire: bytes,
                tsig: tuple[dns.name.Name, dns.rdata.Rdata, int] | None) -> None:
        if tsig is None:
            if self.tsig_ctx is not None:  # covered by the next signed message
                self.tsig_ctx.update(wire)
            return
        owner, rdata, start = tsig
        if self.keyring is None:
            raise dns.message.UnknownTSIGKey(  # type: ignore[no-untyped-call]
                "got signed message without keyring")
        key = self.keyring.get(owner)
        if key is None:
            raise dns.message.UnknownTSIGKey(  # type: ignore[no-untyped-call]
                f"key '{owner}' unknown")
        self.tsig_ctx = dns.tsig.validate(  # type: ignore[no-untyped-call]
            wire, key, owner, rdata, int(time.time()), self.request_mac, start, self.tsig_ctx,
            True)

    def _answers(self, wire: bytes,
                 answers: list[tuple[tuple[bytes, ...], int, int, int, int, int]]) -> None:
        # As dnspython reads a transfer: a message groups its records into RRsets
        # by (name, class, type, covers) until it meets an SOA record; from there
        # on every record is an RRset of its own. An RRset's TTL is the smallest
        # of its records and a key takes the TTL of its first RRset; a grouped
        # singleton type (CNAME) keeps the last record of its RRset. Class IN only.
        ttls, values = self.ttls, self.values
        grouped: dict[SetKey, int] = {}  # keys whose TTL a grouped RRset here sets: covers
        singles: dict[tuple[SetKey, int], str] = {}
        unique = False
        for labels, rdtype, rdclass, wire_ttl, pos, rdlen in answers:
            if self.done:
                raise _form_error("answers after final SOA")
            ttl = wire_ttl if wire_ttl <= 0x7FFFFFFF else 0
            text = self.value(wire, pos, rdclass, rdtype, rdlen)
            covers = 0
            if rdtype in _SIGNATURES and rdlen >= 2:
                covers = (wire[pos] << 8) | wire[pos + 1]
            origin_soa = False
            if rdtype == _SOA:
                unique = True
                origin_soa = tuple(label.lower() for label in labels) == self.origin_labels
            if self.first_soa is None:
                if not origin_soa:
                    raise _form_error("first RRset is not an SOA of the origin")
                self.first_soa = text
            elif origin_soa:
                if text != self.first_soa:
                    raise _form_error("unexpected origin SOA in AXFR")
                self.done = True
            if rdclass != _IN:
                continue
            key = (self.relative(labels), _type_text(rdtype))
            if origin_soa and self.soa is None:
                self.soa = text
            if unique:
                if key not in ttls:
                    ttls[key] = ttl
            elif key not in ttls:
                ttls[key] = ttl
                grouped[key] = covers
            elif grouped.get(key, -1) == covers and ttl < ttls[key]:
                ttls[key] = ttl
            if rdtype in _SINGLETONS and not unique:
                singles[(key, covers)] = text
                continue
            found = values.get(key)
            if found is None:
                values[key] = {text}
            else:
                found.add(text)
        for (key, _covers), text in singles.items():
            values.setdefault(key, set()).add(text)

    # -- the result -----------------------------------------------------------------

    def zone(self) -> ZoneRecords:
        if self.soa is None:
            raise MissingSOA
        sets = tuple(
            RecordSet(name=key[0], type=key[1], ttl=self.ttls[key],
                      values=tuple(sorted(self.values[key])))
            for key in sorted(self.values)
        )
        return ZoneRecords(resource=self.resource, origin=self.origin.to_text(),
                           serial=int(self.soa.split()[2]), soa=self.soa, sets=sets)


def read_messages(resource: str, origin: dns.name.Name, wires: Iterable[bytes],
                  query_id: int, keyring: dict[dns.name.Name, dns.tsig.Key] | None = None,
                  request_mac: bytes = b"") -> ZoneRecords:
    """The zone in the messages ``wires`` of one transfer (the answer to query ``query_id``)."""
    reader = _Reader(resource, origin, query_id, keyring, request_mac)
    for wire in wires:
        reader.read(wire)
        if reader.done:
            return reader.zone()
    raise EOFError("the transfer ended before the zone's closing SOA")


def transfer(resource: str, host: str, port: int, origin: dns.name.Name,
             key: dns.tsig.Key | None, timeout: float) -> ZoneRecords:
    """The zone ``origin`` as ``host``:``port`` holds it, by one AXFR over TCP.

    ``timeout`` bounds each message and the whole transfer. Raises what
    dnspython raises for the same failures (``TransferRefused`` for a
    refusal), ``dns.exception.Timeout``, ``EOFError``, TSIG errors, ``FormError``;
    ``MissingSOA`` when the zone holds no SOA of class IN.
    """
    query = dns.message.make_query(origin, _AXFR, _IN)
    keyring = {key.name: key} if key is not None else None
    if key is not None:
        query.use_tsig(keyring, keyname=key.name)
    wire = query.to_wire()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
        except TimeoutError:
            raise dns.exception.Timeout from None
        sock.sendall(struct.pack("!H", len(wire)) + wire)
        return read_messages(resource, origin, _messages(sock, time.monotonic() + timeout),
                             query.id, keyring, query.mac or b"")


def _messages(sock: socket.socket, expiration: float) -> Iterator[bytes]:
    while True:
        (length,) = struct.unpack("!H", receive(sock, 2, expiration))
        yield receive(sock, length, expiration)
