"""DNS record values as bosun reads them, and their canonical form.

Part of the model layer (it imports nothing of bosun; dnspython does the
parsing). The resolve stage validates values with ``parse_value``; the DNS
provider compares desired and observed record sets through ``canonical``,
so that spelling never shows up as a change:

- addresses: ``2001:DB8:0::1`` equals ``2001:db8::1``; IPv4 octets with
  leading zeros compare as decimal here (``001.2.3.4`` is ``1.2.3.4``), but the
  resolve stage refuses them in manifests: some software reads them as octal;
- names inside values are fully qualified, with or without the trailing dot
  (``target.example.net`` equals ``Target.Example.NET.``); a single label
  without a dot (``www``) is refused, because it is almost always meant
  relative to the zone, which would silently point somewhere else;
- TXT: a value that does not start with ``"`` is one piece of text (split
  into 255-byte strings on the wire); a value that starts with ``"`` is in
  zone-file form (``"a" "b"`` is two strings). ``hello`` equals ``"hello"``.
"""

from __future__ import annotations

import re
from functools import lru_cache

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT

_IPV4_LOOSE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
# Any relative name lands under this origin; finding one tells a relative name
# from a fully qualified one without a dot.
_PROBE_ORIGIN = dns.name.from_text("bosun-relative-probe.invalid.")
TXT_CHUNK = 255
# Types whose data holds no domain name: their presentation form is already
# canonical, and there is no relative name to look for.
_NAMELESS = frozenset(dns.rdatatype.from_text(t) for t in (
    "A", "AAAA", "TXT", "SPF", "CAA", "SSHFP", "TLSA", "SMIMEA", "DS", "CDS", "DNSKEY",
    "CDNSKEY", "NSEC3", "NSEC3PARAM", "HINFO", "LOC", "OPENPGPKEY", "URI", "CERT", "DHCID",
))


def _txt(text: str) -> dns.rdata.Rdata:
    data = text.encode("utf-8")
    chunks = [data[i : i + TXT_CHUNK] for i in range(0, len(data), TXT_CHUNK)] or [b""]
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks)


def _names(rdata: dns.rdata.Rdata) -> list[dns.name.Name]:
    out = []
    for cls in type(rdata).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            value = getattr(rdata, slot, None)
            if isinstance(value, dns.name.Name):
                out.append(value)
    return out


def parse_value(rtype: str, text: str) -> dns.rdata.Rdata:
    """One value of a record set of type ``rtype``; raises ``ValueError`` with a reason."""
    try:
        rdtype = dns.rdatatype.from_text(rtype)
    except dns.exception.DNSException:
        raise ValueError(f"unknown record type {rtype!r}") from None
    if rdtype == dns.rdatatype.TXT and not text.startswith('"'):
        return _txt(text)
    if rdtype == dns.rdatatype.A and _IPV4_LOOSE.match(text.strip()):
        text = ".".join(str(int(part)) for part in text.strip().split("."))
    try:
        probe = dns.rdata.from_text(dns.rdataclass.IN, rdtype, text, origin=_PROBE_ORIGIN,
                                    relativize=False)
    except (dns.exception.DNSException, ValueError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None
    if rdtype in _NAMELESS:
        return probe
    for name in _names(probe):
        if name.is_subdomain(_PROBE_ORIGIN):
            relative = name.relativize(_PROBE_ORIGIN)
            if len(relative) <= 1 or relative == dns.name.empty:
                shown = relative.to_text() if relative != dns.name.empty else "@"
                raise ValueError(
                    f"{shown!r} is not a fully qualified name; names in values are "
                    "absolute (write e.g. www.example.com)"
                )
    return dns.rdata.from_text(dns.rdataclass.IN, rdtype, text, origin=dns.name.root,
                               relativize=False)


def canonical(rdata: dns.rdata.Rdata) -> str:
    """The value in one spelling: lower-case names with a trailing dot, short addresses."""
    if rdata.rdtype in _NAMELESS:
        return rdata.to_text()
    # The DNSSEC canonical wire form lower-cases embedded names (RFC 4034 6.2).
    wire = rdata.to_digestable(dns.name.root)
    again = dns.rdata.from_wire(rdata.rdclass, rdata.rdtype, wire, 0, len(wire))
    return again.to_text(origin=None, relativize=False)


@lru_cache(maxsize=1 << 16)
def canonical_text(rtype: str, text: str) -> str:
    """``canonical(parse_value(rtype, text))``, remembered: validation and every
    plan of a reconcile read the same values."""
    if rtype == "A" and _IPV4_LOOSE.match(text.strip()):
        octets = [int(part) for part in text.strip().split(".")]
        if all(o <= 255 for o in octets):  # the common case, without building an rdata
            return ".".join(str(o) for o in octets)
    return canonical(parse_value(rtype, text))


def canonical_values(rtype: str, values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Sorted canonical forms of ``values``, duplicates dropped."""
    return tuple(sorted({canonical_text(rtype, v) for v in values}))


__all__ = ["canonical", "canonical_text", "canonical_values", "parse_value"]
