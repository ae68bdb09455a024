"""Which records bosun may touch, and the TXT markers that say which are its own.

In a ``shared`` zone every record set bosun owns has one TXT ownership marker
**beside** it: same parent, the first label prefixed with ``bosun-<type>-``,
in the way of external-dns's TXT registry (octoDNS's ``_owner.<type>.<name>``
would sit *under* the name instead)::

    blog.example.com.            A    203.0.113.10
    bosun-a-blog.example.com.    TXT  "heritage=bosun,bosun/owner=ops,bosun/resource=DNSRecord/blog"
    www.blog.example.com.        CNAME blog.example.com.
    bosun-cname-www.blog.example.com. TXT "heritage=bosun,..."

Beside rather than under, because a name below a record set can fall under a
zone cut (an NS delegation at the name) or behind a wildcard, and would add an
empty non-terminal where none was. The apex has no sibling inside the zone:
its markers are ``bosun-<type>.<zone>``. A wildcard label ``*`` becomes
``-wildcard`` (``bosun-a--wildcard``): PowerDNS refuses ``*`` inside a label,
and a host-name label cannot start with ``-``. A first label too long for the
prefix is shortened and given a hash suffix.

An ``authoritative`` zone has no markers: bosun owns every record in it.
Either way SOA, the apex NS, DNSSEC records and ``_acme-challenge`` names are
never touched.
"""

from __future__ import annotations

import hashlib

import dns.name
from pydantic import Field

from providers.dns.records import RecordSet
from reconciler.model.common import Frozen

MARKER_PREFIX = "bosun-"
HERITAGE = "heritage=bosun"
WILDCARD_LABEL = "-wildcard"
DNSSEC_TYPES = frozenset({"DNSKEY", "RRSIG", "NSEC", "NSEC3", "NSEC3PARAM", "CDS", "CDNSKEY"})
ACME_LABEL = "_acme-challenge"
MAX_LABEL = 63


class Marker(Frozen):
    owner: str
    resource: str = Field(description="Kind/name of the resource that declares the set.")

    def text(self) -> str:
        return f"{HERITAGE},bosun/owner={self.owner},bosun/resource={self.resource}"

    def record(self, name: str, ttl: int) -> RecordSet:
        return RecordSet(name=name, type="TXT", ttl=ttl, values=(f'"{self.text()}"',))


def protected(name: str, rtype: str) -> str | None:
    """Why bosun never touches the set (name relative to the zone), or None."""
    if rtype == "SOA":
        return "the SOA record belongs to the server"
    if rtype in DNSSEC_TYPES:
        return f"{rtype} records belong to DNSSEC signing"
    if rtype == "NS" and name == "@":
        return "the zone's own NS records are never managed"
    if name.split(".", maxsplit=1)[0] == ACME_LABEL:
        return "_acme-challenge names belong to ACME clients"
    return None


def marker_name(name: str, rtype: str) -> str:
    """Relative name of the ownership marker of the set ``(name, rtype)``."""
    prefix = f"{MARKER_PREFIX}{rtype.lower()}"
    if name == "@":
        return prefix
    labels = dns.name.from_text(name, origin=None).labels
    first = WILDCARD_LABEL.encode() if labels[0] == b"*" else labels[0].lower()
    label = f"{prefix}-".encode() + first
    if len(label) > MAX_LABEL:
        digest = hashlib.sha256(labels[0]).hexdigest()[:8].encode()
        label = f"{prefix}-".encode() + first[: MAX_LABEL - len(prefix) - 10] + b"-" + digest
    return dns.name.Name((label, *labels[1:])).to_text().lower()


def looks_like_marker(name: str) -> bool:
    return name.startswith(MARKER_PREFIX)


def parse_marker(records: RecordSet) -> Marker | None:
    """The marker a TXT set holds, or None when it is not one of bosun's."""
    if records.type != "TXT" or not looks_like_marker(records.name) or len(records.values) != 1:
        return None
    text = records.values[0]
    if not text.startswith(f'"{HERITAGE},'):
        return None
    fields: dict[str, str] = {}
    for part in text.strip('"').split(","):
        key, sep, value = part.partition("=")
        if sep:
            fields[key] = value
    owner = fields.get("bosun/owner")
    if not owner:
        return None
    return Marker(owner=owner, resource=fields.get("bosun/resource", ""))
