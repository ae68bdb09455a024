"""Marker names sit beside the set they mark; protected sets are recognised."""

from __future__ import annotations

import dns.name
import pytest

from providers.dns.ownership import Marker, marker_name, parse_marker, protected
from providers.dns.records import RecordSet

ORIGIN = dns.name.from_text("example.com.")


@pytest.mark.parametrize(("name", "rtype", "marker"), [
    ("blog", "A", "bosun-a-blog"),
    ("Blog", "A", "bosun-a-blog"),
    ("www.blog", "CNAME", "bosun-cname-www.blog"),
    ("_dmarc", "TXT", "bosun-txt-_dmarc"),
    ("_sip._tcp", "SRV", "bosun-srv-_sip._tcp"),
    ("*", "A", "bosun-a--wildcard"),
    ("*.dev", "AAAA", "bosun-aaaa--wildcard.dev"),
    ("@", "MX", "bosun-mx"),
])
def test_marker_names(name: str, rtype: str, marker: str) -> None:
    assert marker_name(name, rtype) == marker


@pytest.mark.parametrize("name", ["blog", "www.blog", "a.b.c", "*.dev", "_dmarc"])
def test_markers_are_beside_not_under(name: str) -> None:
    owner = dns.name.from_text(name, origin=ORIGIN)
    marker = dns.name.from_text(marker_name(name, "A"), origin=ORIGIN)
    assert marker.parent() == owner.parent()
    assert not marker.is_subdomain(owner)


def test_long_labels_are_shortened_with_a_hash() -> None:
    first = marker_name("x" * 63 + ".sub", "CNAME")
    second = marker_name("x" * 62 + "y.sub", "CNAME")
    assert len(first.split(".")[0]) == 63 and first.endswith(".sub")
    assert first != second


def test_marker_round_trip() -> None:
    marker = Marker(owner="ops", resource="DNSRecord/blog")
    records = marker.record("bosun-a-blog", 300)
    assert records.values == ('"heritage=bosun,bosun/owner=ops,bosun/resource=DNSRecord/blog"',)
    assert parse_marker(records) == marker


@pytest.mark.parametrize("records", [
    RecordSet(name="bosun-a-blog", type="TXT", ttl=300, values=('"something else"',)),
    RecordSet(name="blog", type="TXT", ttl=300, values=('"heritage=bosun,bosun/owner=x"',)),
    RecordSet(name="bosun-a-blog", type="A", ttl=300, values=("192.0.2.1",)),
    RecordSet(name="bosun-a-blog", type="TXT", ttl=300, values=('"heritage=bosun,x=y"',)),
])
def test_things_that_are_not_markers(records: RecordSet) -> None:
    assert parse_marker(records) is None


@pytest.mark.parametrize(("name", "rtype", "is_protected"), [
    ("@", "SOA", True),
    ("@", "NS", True),
    ("sub", "NS", False),  # a delegation is an ordinary record set
    ("@", "DNSKEY", True),
    ("www", "RRSIG", True),
    ("www", "NSEC", True),
    ("www", "NSEC3", True),
    ("@", "NSEC3PARAM", True),
    ("@", "CDS", True),
    ("@", "CDNSKEY", True),
    ("_acme-challenge", "TXT", True),
    ("_acme-challenge.blog", "TXT", True),
    ("_acme-challenge.blog", "CNAME", True),
    ("blog._acme-challenge", "TXT", False),
    ("@", "MX", False),
    ("www", "A", False),
])
def test_protected(name: str, rtype: str, is_protected: bool) -> None:
    assert (protected(name, rtype) is not None) is is_protected
