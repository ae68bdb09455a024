"""PowerDNS backend: read and write a zone through the PowerDNS HTTP API (httpx).

Read: one ``GET /api/v1/servers/<id>/zones/<zone>``. Write: one ``PATCH`` of
every record set of the plan; PowerDNS applies such a PATCH atomically (it
answers 422 and changes nothing when one set is refused, a CNAME conflict
for instance).

The API has no prerequisites, so the write first reads the zone again and
refuses to go on when a record set it would touch no longer holds what the
plan was made against; that leaves a window of one request, which is the
best this API allows. Disabled records are not served and are read as absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import httpx

from providers.dns.backend import READ_TIMEOUT, WRITE_TIMEOUT, ZoneServer
from providers.dns.observation import ZoneRecords
from providers.dns.records import RecordSet, SetEdit, SetKey, absolute_name, describe, fqdn
from reconciler.errors import ObserveError, PermanentError, TemporaryError
from reconciler.model.dnsvalues import canonical
from reconciler.model.sensitive import Sensitive

API_PREFIX = "/api/v1/servers"


class PowerDNSZone(ZoneServer):
    def __init__(self, resource: str, origin: dns.name.Name, api: str, server_id: str,
                 api_key: Sensitive | None, read_timeout: float = READ_TIMEOUT,
                 write_timeout: float = WRITE_TIMEOUT) -> None:
        super().__init__(resource, origin, read_timeout, write_timeout)
        self.api = api.rstrip("/")
        self.server_id = server_id
        self.api_key = api_key

    @property
    def path(self) -> str:
        return f"{API_PREFIX}/{self.server_id}/zones/{self.origin.to_text()}"

    def _client(self, timeout: float) -> httpx.Client:
        headers = {"Accept": "application/json"}
        if self.api_key is not None:
            headers["X-API-Key"] = self.api_key.reveal()
        return httpx.Client(base_url=self.api, headers=headers, timeout=timeout)

    # -- read -----------------------------------------------------------------------

    def read(self) -> ZoneRecords:
        try:
            with self._client(self.read_timeout) as client:
                response = client.get(self.path)
        except httpx.HTTPError as exc:
            raise ObserveError(f"cannot read zone {self.origin.to_text()} from {self.api}: "
                               f"{_describe(exc)}", self.ref) from None
        if response.status_code != 200:
            raise ObserveError(self._status_message("read", response), self.ref)
        try:
            return parse_zone(self.resource, self.origin, response.json())
        except (ValueError, KeyError, TypeError, dns.exception.DNSException) as exc:
            raise ObserveError(f"unexpected answer from {self.api} for zone "
                               f"{self.origin.to_text()}: {exc}", self.ref) from None

    def _status_message(self, verb: str, response: httpx.Response) -> str:
        zone = self.origin.to_text()
        code = response.status_code
        detail = _error_text(response)
        if code in (401, 403):
            hint = "the API key was rejected"
        elif code == 404:
            hint = f"zone {zone} (server id {self.server_id!r}) does not exist"
        elif code == 422:
            hint = "PowerDNS refused the change"
        else:
            hint = "unexpected status"
        tail = f": {detail}" if detail else ""
        return f"cannot {verb} zone {zone} at {self.api}: HTTP {code} ({hint}){tail}"

    # -- write ----------------------------------------------------------------------

    def write(self, groups: Sequence[Sequence[SetEdit]], soa: str) -> int:
        edits = [e for g in groups for e in g]
        current = self.read().index()
        for edit in edits:
            seen = current.get(edit.key)
            if seen != edit.before:
                raise TemporaryError(
                    f"zone {self.origin.to_text()} changed since it was read: "
                    f"{fqdn(edit.name, self.origin)} {edit.type} is now {describe(seen)}, "
                    f"the plan expected {describe(edit.before)}; nothing was applied, it "
                    "will be planned again", self.ref)
        body = {"rrsets": [self._rrset(e) for e in edits]}
        try:
            with self._client(self.write_timeout) as client:
                response = client.patch(self.path, json=body)
        except httpx.HTTPError as exc:
            error = TemporaryError if isinstance(exc, httpx.TransportError) else PermanentError
            raise error(f"PATCH of zone {self.origin.to_text()} to {self.api} failed: "
                        f"{_describe(exc)}", self.ref) from None
        if response.status_code not in (200, 204):
            message = self._status_message("write", response) + "; nothing was applied"
            if response.status_code >= 500:
                raise TemporaryError(message, self.ref)
            raise PermanentError(message, self.ref)
        return 1

    def _rrset(self, edit: SetEdit) -> dict[str, Any]:
        name = absolute_name(edit.name, self.origin).to_text()
        if edit.after is None:
            return {"name": name, "type": edit.type, "changetype": "DELETE"}
        return {
            "name": name, "type": edit.type, "ttl": edit.after.ttl, "changetype": "REPLACE",
            "records": [{"content": value, "disabled": False} for value in edit.after.values],
        }


def _content(rtype: str, content: str) -> str:
    try:
        rdtype = dns.rdatatype.from_text(rtype)
    except dns.exception.DNSException:
        return content  # a PowerDNS-only type (ALIAS, LUA): kept as PowerDNS spells it
    rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype, content, origin=dns.name.root,
                                relativize=False)
    return canonical(rdata)


def parse_zone(resource: str, origin: dns.name.Name, body: dict[str, Any]) -> ZoneRecords:
    """The record sets of a PowerDNS zone document (``GET .../zones/<zone>``)."""
    sets: dict[SetKey, RecordSet] = {}
    soa = ""
    for rrset in body["rrsets"]:
        name = dns.name.from_text(rrset["name"])
        rtype = str(rrset["type"]).upper()
        contents = [r["content"] for r in rrset.get("records", []) if not r.get("disabled")]
        if not contents:
            continue
        values = tuple(sorted({_content(rtype, c) for c in contents}))
        relative = name.relativize(origin).to_text().lower()
        sets[(relative, rtype)] = RecordSet(name=relative, type=rtype, ttl=int(rrset["ttl"]),
                                            values=values)
        if rtype == "SOA" and name == origin:
            soa = values[0]
    if not soa:
        raise ValueError("the zone has no SOA record")
    serial = int(soa.split()[2])
    return ZoneRecords(resource=resource, origin=origin.to_text(), serial=serial, soa=soa,
                       sets=tuple(sets[k] for k in sorted(sets)))


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])[:300]
    return ""


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc}; is the server running?)"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


__all__ = ["PowerDNSZone", "parse_zone"]
