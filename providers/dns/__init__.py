"""DNS provider: record sets of DNSZone/DNSRecord resources on RFC 2136 servers
(Knot, BIND) and PowerDNS. See ``provider`` for the flow and ``ownership`` for
the TXT markers of shared zones."""

from providers.dns.provider import DNSProvider

__all__ = ["DNSProvider"]
