"""RFC 2136 backend: read a zone with AXFR, write it with one DNS UPDATE (Knot, BIND).

Everything goes over TCP: a transfer needs it, and an UPDATE of a large plan
does not fit a UDP datagram. Both messages are read and written on the wire
by bosun (``axfr``, ``update``); dnspython parses the UPDATE's answer and
signs and verifies TSIG.

The write is one UPDATE message guarded by the zone's SOA (``update`` builds
it, and splits a plan too large for one message). Servers may answer NOERROR
and drop part of an update (a CNAME that conflicts with other data), so the
provider reads the zone again after writing.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Sequence
from typing import NoReturn

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsig

from providers.dns.axfr import MissingSOA, TransferRefused, transfer
from providers.dns.backend import READ_TIMEOUT, WRITE_TIMEOUT, PartialWrite, ZoneServer
from providers.dns.observation import ZoneRecords
from providers.dns.records import SetEdit
from providers.dns.update import TooLarge, Update, update_messages
from providers.dns.wire import BadResponse, receive
from reconciler.errors import ObserveError, PermanentError, ProviderError, TemporaryError

_PREREQ_FAILED = {
    dns.rcode.NXRRSET: "a record set the plan expected is gone or different",
    dns.rcode.YXRRSET: "a record set the plan expected to be absent exists",
    dns.rcode.NXDOMAIN: "a name the plan expected is gone",
    dns.rcode.YXDOMAIN: "a name the plan expected to be free is in use",
}


class RFC2136Zone(ZoneServer):
    def __init__(self, resource: str, origin: dns.name.Name, host: str, port: int,
                 key: dns.tsig.Key | None, read_timeout: float = READ_TIMEOUT,
                 write_timeout: float = WRITE_TIMEOUT) -> None:
        super().__init__(resource, origin, read_timeout, write_timeout)
        self.host = host
        self.port = port
        self.key = key

    @property
    def where(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    # -- read -----------------------------------------------------------------------

    def read(self) -> ZoneRecords:
        zone = self.origin.to_text()
        try:
            return transfer(self.resource, self.host, self.port, self.origin, self.key,
                            self.read_timeout)
        except TransferRefused as exc:
            raise ObserveError(self._transfer_refused(exc.rcode), self.ref) from None
        except MissingSOA:
            raise ObserveError(f"the transfer of zone {zone} holds no SOA record",
                               self.ref) from None
        except Exception as exc:  # translated at the boundary, never "zone empty"
            raise ObserveError(f"cannot transfer zone {zone} from {self.where}: "
                               f"{_describe(exc, self.key)}", self.ref) from None

    def _transfer_refused(self, rcode: dns.rcode.Rcode) -> str:
        zone = self.origin.to_text()
        text = dns.rcode.to_text(rcode)
        hint = {
            dns.rcode.NOTAUTH: "the server does not serve this zone, or the TSIG key is "
                               "not allowed to transfer it",
            dns.rcode.REFUSED: "transfers of this zone are not allowed to this client or key",
        }.get(rcode, "the server refused the transfer")
        return f"cannot transfer zone {zone} from {self.where}: {text} ({hint})"

    # -- write ----------------------------------------------------------------------

    def write(self, groups: Sequence[Sequence[SetEdit]], soa: str) -> int:
        soa_rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.SOA, soa,
                                        origin=dns.name.root, relativize=False)
        messages = self.messages(groups, soa_rdata)
        for sent, message in enumerate(messages):
            try:
                response = self._exchange(message)
            except Exception as exc:
                self._fail(f"UPDATE to {self.where} failed: {_describe(exc, self.key)}",
                           sent, len(messages), temporary=_is_temporary(exc))
            rcode = response.rcode()
            if rcode != dns.rcode.NOERROR:
                self._refused(rcode, sent, len(messages))
        return len(messages)

    def _exchange(self, message: Update) -> dns.message.Message:
        """Send a rendered (and signed) message over TCP; the answer, verified."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.write_timeout)
            sock.connect((self.host, self.port))
            sock.sendall(struct.pack("!H", len(message.wire)) + message.wire)
            deadline = time.monotonic() + self.write_timeout
            (length,) = struct.unpack("!H", receive(sock, 2, deadline))
            wire = receive(sock, length, deadline)
        response = dns.message.from_wire(wire, keyring=message.keyring,
                                         request_mac=message.mac or b"")
        if (response.id != message.id or not response.flags & dns.flags.QR
                or response.opcode() != dns.opcode.UPDATE):
            raise BadResponse
        return response

    def _fail(self, message: str, sent: int, total: int, temporary: bool) -> NoReturn:
        if sent:
            raise PartialWrite(f"{message} (after {sent} of {total} UPDATE messages were "
                               "applied)", self.ref, accepted=sent)
        error = TemporaryError if temporary else PermanentError
        raise error(f"{message}; nothing was applied", self.ref)

    def _refused(self, rcode: dns.rcode.Rcode, sent: int, total: int) -> NoReturn:
        text = dns.rcode.to_text(rcode)
        zone = self.origin.to_text()
        if rcode in _PREREQ_FAILED:
            self._fail(f"zone {zone} changed since it was read ({text}: "
                       f"{_PREREQ_FAILED[rcode]}); it will be planned again", sent, total,
                       temporary=True)
        hint = {
            dns.rcode.REFUSED: "the key or client may not update the zone, or the data "
                               "failed the server's checks (BIND refuses MX and SRV targets "
                               "inside the zone that have no address); see the server's log",
            dns.rcode.NOTAUTH: "the server is not authoritative for the zone or rejected the "
                               "TSIG key",
            dns.rcode.SERVFAIL: "the server failed to apply it",
            dns.rcode.FORMERR: "the server could not parse the message",
            dns.rcode.NOTZONE: "a record lies outside the zone",
        }.get(rcode, "the server refused it")
        self._fail(f"UPDATE of zone {zone} refused by {self.where}: {text} ({hint})", sent,
                   total, temporary=rcode == dns.rcode.SERVFAIL)

    def messages(self, groups: Sequence[Sequence[SetEdit]], soa: dns.rdata.Rdata
                 ) -> list[Update]:
        """As few UPDATE messages as hold the edits; the first is guarded by ``soa``."""
        try:
            return update_messages(self.origin, self.key, groups, soa)
        except TooLarge as exc:
            raise PermanentError(f"the record set {exc} does not fit in one DNS message",
                                 self.ref) from None


def _is_temporary(exc: Exception) -> bool:
    return isinstance(exc, (dns.exception.Timeout, OSError, EOFError))


def _describe(exc: Exception, key: dns.tsig.Key | None) -> str:
    """One line about a failed exchange; names the key, never its secret."""
    key_name = key.name.to_text() if key is not None else ""
    if isinstance(exc, dns.tsig.PeerBadKey):
        return f"the server does not know the TSIG key {key_name} (BADKEY)"
    if isinstance(exc, dns.tsig.PeerBadSignature):
        return f"the server rejected the signature of TSIG key {key_name} (BADSIG: wrong secret?)"
    if isinstance(exc, dns.tsig.PeerBadTime):
        return "the server rejected the TSIG time (BADTIME: clocks differ?)"
    if isinstance(exc, (dns.tsig.BadSignature, dns.message.UnknownTSIGKey)):
        return "the answer failed TSIG verification (wrong key or secret?)"
    if isinstance(exc, dns.exception.Timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running?)"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the server's name ({exc.strerror})"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    if isinstance(exc, EOFError):
        return "the server closed the connection"
    if isinstance(exc, ProviderError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"
