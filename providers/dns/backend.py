"""What the DNS provider needs from a server, and how a zone's backend is chosen.

A backend reads one zone in bulk (AXFR, or one GET of the PowerDNS API) and
writes a batch of ``SetEdit`` groups in as few requests as the server allows:
one RFC 2136 UPDATE or one PowerDNS PATCH. A group is the edits of one change
(a record set and its marker); a group is never split between two requests.

Backends raise ``ObserveError`` when a read fails, ``TemporaryError`` or
``PermanentError`` when a write is refused as a whole, and ``PartialWrite``
when some requests of a write were accepted before one was refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import dns.exception
import dns.name
import dns.tsig

from providers.dns.observation import ZoneRecords
from providers.dns.records import SetEdit
from reconciler.errors import PermanentError, TemporaryError
from reconciler.model.common import Kind, ResourceRef, SecretRef, split_host_port
from reconciler.model.kinds import DNSProvider as DNSProviderKind
from reconciler.model.kinds import DNSZone
from reconciler.provider import SecretResolver

DEFAULT_PORT = 53
READ_TIMEOUT = 10.0
WRITE_TIMEOUT = 30.0


class PartialWrite(TemporaryError):
    """Some requests of a write were accepted (``accepted`` of them), then one failed."""

    def __init__(self, message: str, ref: ResourceRef | None = None, accepted: int = 0) -> None:
        super().__init__(message, ref)
        self.accepted = accepted


class ZoneServer:
    """What both backends know of their zone: its resource, origin and time limits."""

    def __init__(self, resource: str, origin: dns.name.Name, read_timeout: float = READ_TIMEOUT,
                 write_timeout: float = WRITE_TIMEOUT) -> None:
        self.resource = resource
        self.origin = origin
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self.ref = ResourceRef(kind=Kind.DNS_ZONE, name=resource)


class ZoneBackend(Protocol):
    origin: dns.name.Name

    def read(self) -> ZoneRecords:
        """The whole zone as the server holds it."""
        ...

    def write(self, groups: Sequence[Sequence[SetEdit]], soa: str) -> int:
        """Apply the edits; ``soa`` is the SOA read with them. Returns requests sent."""
        ...


def tsig_key(zone: DNSZone, secrets: SecretResolver) -> dns.tsig.Key | None:
    """The TSIG key that the zone's Secret holds (keys ``name``, ``secret``, ``algorithm``)."""
    if zone.spec.tsig is None:
        return None
    secret_name = zone.spec.tsig.secret
    ref = ResourceRef(kind=Kind.DNS_ZONE, name=zone.name)
    values = secrets.values(secret_name)
    missing = [k for k in ("name", "secret") if k not in values]
    if missing:
        raise PermanentError(
            f"Secret/{secret_name} must have the keys name and secret (missing: "
            f"{', '.join(missing)})", ref)
    algorithm = values["algorithm"].reveal() if "algorithm" in values else "hmac-sha256"
    try:
        return dns.tsig.Key(values["name"].reveal(), values["secret"].reveal(), algorithm)
    except (dns.exception.DNSException, ValueError, TypeError) as exc:
        # The message of a base64 error never holds the secret itself.
        raise PermanentError(
            f"Secret/{secret_name} does not hold a usable TSIG key: {type(exc).__name__}", ref
        ) from None


def backend_for(zone: DNSZone, secrets: SecretResolver) -> ZoneBackend:
    """The backend that reads and writes the zone that ``zone`` declares."""
    # Each backend imports its own client (httpx takes 40 ms): only the one a zone uses.
    origin = dns.name.from_text(zone.spec.zone)
    if zone.spec.provider is DNSProviderKind.POWERDNS:
        from providers.dns.powerdns import PowerDNSZone

        assert zone.spec.api is not None  # the model requires it for powerdns
        api_key = None
        if zone.spec.api_key is not None:
            api_key = secrets.resolve(SecretRef(secret=zone.spec.api_key.secret,
                                                key=zone.spec.api_key.key))
        return PowerDNSZone(zone.name, origin, zone.spec.api, zone.spec.server_id, api_key)
    from providers.dns.rfc2136 import RFC2136Zone

    assert zone.spec.server is not None  # the model requires it for rfc2136
    host, port = split_host_port(zone.spec.server)
    return RFC2136Zone(zone.name, origin, host, port or DEFAULT_PORT, tsig_key(zone, secrets))
