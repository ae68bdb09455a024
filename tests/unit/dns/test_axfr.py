"""The AXFR reader gives what dnspython's messages gave, and checks what dns.query.xfr checks.

``reference`` is the reading bosun had before ``providers.dns.axfr``: every
message parsed by ``dns.message.from_wire`` as ``dns.query.xfr`` parses it,
then its RRsets turned into record sets. Both read the same wire messages,
built here with dnspython (signed with TSIG where a test says so) or taken
from a saved transfer of a signed Knot zone.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator, Sequence

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import pytest

from providers.dns.axfr import MissingSOA, TransferRefused, read_messages
from providers.dns.observation import ZoneRecords
from providers.dns.records import RecordSet, SetKey, relative_name
from providers.dns.rfc2136 import RFC2136Zone
from providers.dns.wire import BadResponse
from reconciler.errors import ObserveError
from reconciler.model.dnsvalues import canonical
from tests.unit.dns.saved import saved_transfer

ORIGIN = dns.name.from_text("example.com.")
KEY = dns.tsig.Key("bosun-key.", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "hmac-sha256")
SOA = dns.rrset.from_text(ORIGIN, 3600, "IN", "SOA",
                          "ns1.example.com. hostmaster.example.com. 7 3600 600 86400 300")


def reference(messages: Sequence[dns.message.Message]) -> ZoneRecords:
    """The record sets of dnspython's messages of one transfer, as bosun read them."""
    ttls: dict[SetKey, int] = {}
    values: dict[SetKey, set[str]] = {}
    soa: dns.rdata.Rdata | None = None
    for message in messages:
        for rrset in message.answer:
            if rrset.rdclass != dns.rdataclass.IN:
                continue
            if rrset.rdtype == dns.rdatatype.SOA and rrset.name == ORIGIN and soa is None:
                soa = rrset[0]
            key = (relative_name(rrset.name, ORIGIN), dns.rdatatype.to_text(rrset.rdtype))
            ttls.setdefault(key, rrset.ttl)
            values.setdefault(key, set()).update(canonical(rd) for rd in rrset)
    assert soa is not None
    sets = tuple(
        RecordSet(name=key[0], type=key[1], ttl=ttls[key], values=tuple(sorted(values[key])))
        for key in sorted(values)
    )
    soa_text = canonical(soa)
    return ZoneRecords(resource="example", origin=ORIGIN.to_text(),
                       serial=int(soa_text.split()[2]), soa=soa_text, sets=sets)


def dnspython_reads(wires: Sequence[bytes], query: dns.message.Message) -> ZoneRecords:
    messages = []
    ctx = None
    for wire in wires:
        message = dns.message.from_wire(wire, keyring=query.keyring, request_mac=query.mac,
                                        xfr=True, origin=None, tsig_ctx=ctx, multi=True)
        ctx = message.tsig_ctx
        messages.append(message)
    return reference(messages)


def bosun_reads(wires: Sequence[bytes], query: dns.message.Message) -> ZoneRecords:
    keyring = {KEY.name: KEY} if query.had_tsig else None
    return read_messages("example", ORIGIN, wires, query.id, keyring, query.mac or b"")


def make_query(signed: bool) -> dns.message.Message:
    query = dns.message.make_query(ORIGIN, dns.rdatatype.AXFR)
    if signed:
        query.use_tsig({KEY.name: KEY}, keyname=KEY.name)
    query.to_wire()  # sets query.mac
    return query


def render(query: dns.message.Message, parts: Sequence[Sequence[dns.rrset.RRset]],
           signed: Sequence[bool] | None = None) -> list[bytes]:
    """The messages of a transfer answering ``query``, one per part; the first holds
    the question. With TSIG, unsigned messages feed the next signature (RFC 8945)."""
    server = dns.message.from_wire(query.to_wire(),
                                   keyring={KEY.name: KEY} if query.had_tsig else None)
    wires: list[bytes] = []
    ctx = None
    for i, answer in enumerate(parts):
        response = dns.message.make_response(server)
        if i:
            response.question = []
        response.answer = list(answer)
        if server.had_tsig and signed is not None and not signed[i]:
            response.keyring = None
            response.tsig = None
            wire = response.to_wire()
            if ctx is not None:
                ctx.update(wire)
        else:
            wire = response.to_wire(multi=True, tsig_ctx=ctx)
            ctx = response.tsig_ctx
        wires.append(wire)
    return wires


def rr(name: str, ttl: int, rtype: str, value: str, rdclass: str = "IN") -> dns.rrset.RRset:
    return dns.rrset.from_text(name, ttl, rdclass, rtype, value)


def test_a_saved_signed_knot_zone_reads_the_same() -> None:
    wires, query = saved_transfer()
    ours = bosun_reads(wires, query)
    assert ours == dnspython_reads(wires, query)
    assert {s.type for s in ours.sets} >= {"SOA", "NS", "MX", "RRSIG", "NSEC", "DNSKEY", "TXT",
                                           "CDS", "CNAME", "A"}


ODD_NAMES = [
    rr("MiXeD.Example.COM.", 300, "A", "192.0.2.1"),
    rr(r"a\.b.example.com.", 300, "A", "192.0.2.2"),
    rr(r"sp\032ace.example.com.", 300, "TXT", '"with space" "two"'),
    rr(r"at\@.example.com.", 300, "AAAA", "2001:DB8:0::1"),
    rr("*.wild.example.com.", 300, "A", "192.0.2.3"),
    rr("_sip._tcp.example.com.", 300, "SRV", "10 5 5060 Sip.Example.COM."),
    rr("example.com.", 300, "MX", "10 MX.example.com."),
    rr("sub.example.com.", 300, "NS", "ns.sub.example.com."),
    rr("glue.other.net.", 300, "A", "192.0.2.4"),
    rr("ch.example.com.", 300, "TXT", '"chaos"', rdclass="CH"),
    rr("example.com.", 300, "CAA", '0 issue "letsencrypt.org"'),
    rr("\\195\\169t\\195\\169.example.com.", 300, "A", "192.0.2.5"),
]


@pytest.mark.parametrize("signed", [False, True])
def test_odd_names_types_and_classes_read_the_same(signed: bool) -> None:
    query = make_query(signed)
    parts = [[SOA, *ODD_NAMES[:5]], ODD_NAMES[5:9], [*ODD_NAMES[9:], SOA]]
    wires = render(query, parts)
    assert bosun_reads(wires, query) == dnspython_reads(wires, query)


def test_ttls_and_singletons_follow_dnspython_grouping() -> None:
    # The first message starts with the SOA: from there every record is an RRset
    # of its own; later messages group records until they meet an SOA.
    query = make_query(signed=False)
    parts = [
        [SOA, rr("x.example.com.", 300, "A", "192.0.2.1"), rr("x.example.com.", 100, "A",
                                                             "192.0.2.2"),
         rr("c.example.com.", 300, "CNAME", "one.example.net."),
         rr("c.example.com.", 300, "CNAME", "two.example.net.")],
        [rr("y.example.com.", 300, "A", "192.0.2.3"), rr("y.example.com.", 60, "A", "192.0.2.4"),
         rr("d.example.com.", 300, "CNAME", "one.example.net."),
         rr("d.example.com.", 300, "CNAME", "two.example.net."),
         rr("s.example.com.", 300, "RRSIG",
            "A 13 3 300 20261205213538 20261121200538 11821 example.com. AAAA"),
         rr("s.example.com.", 3600, "RRSIG",
            "NS 13 3 3600 20261205213538 20261121200538 11821 example.com. AAAA"),
         rr("s.example.com.", 30, "RRSIG",
            "A 13 3 30 20261205213538 20261121200538 11821 example.com. BBBB"),
         rr("x.example.com.", 10, "A", "192.0.2.9")],
        [rr("z.example.com.", 300, "A", "192.0.2.5"),
         rr("sub.example.com.", 300, "SOA", "ns.sub.example.com. h.example.com. 1 2 3 4 5"),
         rr("z.example.com.", 20, "A", "192.0.2.6"),
         rr("e.example.com.", 300, "CNAME", "one.example.net."),
         rr("e.example.com.", 300, "CNAME", "two.example.net."), SOA],
    ]
    wires = render(query, parts)
    ours = bosun_reads(wires, query)
    assert ours == dnspython_reads(wires, query)
    index = ours.index()
    assert index[("x", "A")].ttl == 300 and index[("y", "A")].ttl == 60
    assert index[("z", "A")].ttl == 300 and index[("s", "RRSIG")].ttl == 30
    assert len(index[("c", "CNAME")].values) == 2 and len(index[("d", "CNAME")].values) == 1
    assert len(index[("e", "CNAME")].values) == 2


def test_signed_transfers_verify_every_signature() -> None:
    query = make_query(signed=True)
    parts = [[SOA, rr("a.example.com.", 300, "A", "192.0.2.1")],
             [rr("b.example.com.", 300, "A", "192.0.2.2")],
             [rr("c.example.com.", 300, "A", "192.0.2.3"), SOA]]
    # Unsigned messages in the middle are covered by the next signature.
    wires = render(query, parts, signed=[True, False, True])
    assert bosun_reads(wires, query) == dnspython_reads(wires, query)
    with pytest.raises(dns.exception.FormError, match="missing TSIG"):
        bosun_reads(render(query, parts, signed=[True, True, False]), query)
    with pytest.raises(dns.exception.FormError, match="missing TSIG"):
        bosun_reads(render(query, parts, signed=[False, True, True]), query)
    tampered = bytearray(wires[1])
    tampered[-1] ^= 1  # the unsigned middle message: its A record's last byte
    with pytest.raises(dns.tsig.BadSignature):
        bosun_reads([wires[0], bytes(tampered), wires[2]], query)
    other = dns.tsig.Key("bosun-key.", "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==", "hmac-sha256")
    with pytest.raises(dns.tsig.BadSignature):
        read_messages("example", ORIGIN, wires, query.id, {other.name: other}, query.mac or b"")
    with pytest.raises(dns.message.UnknownTSIGKey):
        read_messages("example", ORIGIN, wires, query.id, None)


def test_transfers_that_are_not_answers_or_not_whole_fail() -> None:
    query = make_query(signed=False)
    whole = [[SOA, rr("a.example.com.", 300, "A", "192.0.2.1")], [SOA]]
    wires = render(query, whole)
    with pytest.raises(BadResponse):
        read_messages("example", ORIGIN, wires, query.id + 1)
    with pytest.raises(EOFError):
        bosun_reads(wires[:1], query)
    with pytest.raises(dns.exception.FormError, match="answers after final SOA"):
        bosun_reads(render(query, [[SOA, SOA, rr("a.example.com.", 300, "A", "192.0.2.1")]]),
                    query)
    with pytest.raises(dns.exception.FormError, match="first RRset"):
        bosun_reads(render(query, [[rr("a.example.com.", 300, "A", "192.0.2.1"), SOA]]), query)
    other_soa = rr("example.com.", 3600, "SOA", "ns1.example.com. h.example.com. 8 1 1 1 1")
    with pytest.raises(dns.exception.FormError, match="unexpected origin SOA"):
        bosun_reads(render(query, [[SOA, other_soa, SOA]]), query)
    with pytest.raises(dns.message.TrailingJunk):
        bosun_reads([wires[0] + b"\0", wires[1]], query)
    refused = dns.message.make_response(query)
    refused.set_rcode(dns.rcode.NOTAUTH)
    with pytest.raises(TransferRefused) as caught:
        bosun_reads([refused.to_wire()], query)
    assert caught.value.rcode == dns.rcode.NOTAUTH
    chaos_soa = rr("example.com.", 3600, "SOA", SOA[0].to_text(), rdclass="CH")
    with pytest.raises(MissingSOA):
        bosun_reads(render(query, [[chaos_soa, rr("a.example.com.", 1, "A", "192.0.2.1"),
                                    chaos_soa]]), query)


def test_a_pointer_that_does_not_point_back_is_refused_as_dnspython_refuses_it() -> None:
    query = make_query(signed=False)
    wire = bytearray(render(query, [[SOA, rr("a.example.com.", 300, "A", "192.0.2.1"),
                                     SOA]])[0])
    # The A record's owner is "a" then a pointer to example.com. in the question;
    # aim the pointer at the record's own label instead.
    at = wire.index(b"\x01a\xc0") + 2
    wire[at:at + 2] = struct.pack("!H", 0xC000 | (at - 2))
    with pytest.raises(dns.name.BadPointer):
        bosun_reads([bytes(wire)], query)
    with pytest.raises(dns.name.BadPointer):
        dnspython_reads([bytes(wire)], query)


# -- over TCP, through the backend ---------------------------------------------------


class _Server:
    """Answers one AXFR query on a loopback port with messages made from its query."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = int(self.sock.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            (length,) = struct.unpack("!H", conn.recv(2))
            query = dns.message.from_wire(conn.recv(length), keyring={KEY.name: KEY})
            parts = [[SOA, rr("www.example.com.", 300, "A", "192.0.2.7")],
                     [rr("mail.example.com.", 300, "AAAA", "2001:db8::7"), SOA]]
            if self.answer == "refuse":
                response = dns.message.make_response(query)
                response.set_rcode(dns.rcode.REFUSED)
                wires = [response.to_wire()]
            else:
                wires = render(query, parts)
                if self.answer == "cut":
                    wires = wires[:1]
            for wire in wires:
                conn.sendall(struct.pack("!H", len(wire)) + wire)

    def close(self) -> None:
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[_Server]:
    running = _Server(request.param)
    yield running
    running.close()


@pytest.mark.parametrize("server", ["whole"], indirect=True)
def test_the_backend_reads_a_signed_zone_over_tcp(server: _Server) -> None:
    zone = RFC2136Zone("example", ORIGIN, "127.0.0.1", server.port, KEY).read()
    assert [(s.name, s.type, s.values) for s in zone.sets] == [
        ("@", "SOA", (SOA[0].to_text(),)), ("mail", "AAAA", ("2001:db8::7",)),
        ("www", "A", ("192.0.2.7",))]
    assert zone.serial == 7


@pytest.mark.parametrize(("server", "message"), [
    ("refuse", "REFUSED (transfers of this zone are not allowed to this client or key)"),
    ("cut", "the server closed the connection"),
], indirect=["server"])
def test_a_failed_transfer_is_an_observe_error(server: _Server, message: str) -> None:
    with pytest.raises(ObserveError) as caught:
        RFC2136Zone("example", ORIGIN, "127.0.0.1", server.port, KEY).read()
    assert message in caught.value.message
