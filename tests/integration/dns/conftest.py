"""Fixtures: a real DNS server per test, and a repository that points bosun at it.

``zone`` starts Knot, BIND or PowerDNS (parametrised by the tests) from Debian's
binaries on random loopback ports, in the test's temporary folder, and stops
it afterwards. Knot and BIND are reached through a ``CountingProxy`` so that
tests can count the UPDATE messages bosun sends; PowerDNS's PATCH requests are
counted from its web server log. Hand-made changes go to the server directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.update
import httpx
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from tests.integration.dns.proxy import CountingProxy
from tests.integration.dns.servers import DNSServer, start_server

KINDS = ("knot", "bind", "powerdns")
RFC2136_KINDS = ("knot", "bind")


@dataclass
class Zone:
    """One running server, its zone, and a bosun repository that manages it."""

    server: DNSServer
    proxy: CountingProxy | None
    root: Path
    state_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    ownership: str = "shared"
    adopt: bool = False
    owner: str = "bosun"
    hand_patches: int = 0
    direct: bool = False  # point bosun at the server itself rather than the proxy

    @property
    def kind(self) -> str:
        return self.server.kind

    # -- the repository ----------------------------------------------------------

    def zone_documents(self) -> list[dict[str, Any]]:
        spec: dict[str, Any] = {"zone": self.server.zone, "ownership": self.ownership,
                                "adopt": self.adopt}
        if self.kind == "powerdns":
            spec.update(provider="powerdns", api=self.server.api_url,
                        apiKey={"secret": "pdns-api", "key": "key"})
            secret = {"name": "pdns-api", "keys": {"key": "T_PDNS_API_KEY"}}
            self.env["T_PDNS_API_KEY"] = self.server.api_key
        else:
            assert self.proxy is not None
            address = self.server.address if self.direct else self.proxy.address
            spec.update(provider="rfc2136", server=address,
                        tsig={"secret": "dns-tsig"})
            secret = {"name": "dns-tsig", "keys": {"name": "T_TSIG_NAME",
                                                   "secret": "T_TSIG_SECRET",
                                                   "algorithm": "T_TSIG_ALGORITHM"}}
            self.env.update(T_TSIG_NAME=self.server.tsig_name,
                            T_TSIG_SECRET=self.server.tsig_secret,
                            T_TSIG_ALGORITHM=self.server.tsig_algorithm)
        return [
            {"apiVersion": "bosun/v1", "kind": "Repository", "metadata": {"name": "repo"},
             "spec": {"owner": self.owner}},
            {"apiVersion": "bosun/v1", "kind": "DNSZone", "metadata": {"name": "example"},
             "spec": spec},
            {"apiVersion": "bosun/v1", "kind": "Secret",
             "metadata": {"name": secret["name"]}, "spec": {"from": "env",
                                                            "keys": secret["keys"]}},
        ]

    def declare(self, records: dict[str, dict[str, Any]],
                extra: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
        """Write the repository: the zone plus one DNSRecord per ``records`` entry."""
        docs = self.zone_documents()
        for name, spec in records.items():
            docs.append({"apiVersion": "bosun/v1", "kind": "DNSRecord",
                         "metadata": {"name": name}, "spec": {"zone": "example", **spec}})
        docs.extend(extra)
        repository = docs[0]
        (self.root / "bosun.yaml").write_text(json.dumps(repository) + "\n")
        (self.root / "dns.yaml").write_text(
            "\n---\n".join(json.dumps(d) for d in docs[1:]) + "\n")

    # -- bosun -------------------------------------------------------------------

    def bosun(self, *args: str) -> Result:
        command = [args[0], str(self.root), "--provider", "dns", "--state-dir",
                   str(self.state_dir), *args[1:]]
        return CliRunner().invoke(cli, command, env=self.env, catch_exceptions=False)

    def writes(self) -> int:
        """UPDATE messages (Knot, BIND) or PATCH requests (PowerDNS) bosun sent so far."""
        if self.proxy is not None:
            return self.proxy.updates()
        return self.server.api_requests("PATCH") - self.hand_patches

    # -- the server, directly ----------------------------------------------------

    def key(self) -> dns.tsig.Key:
        return dns.tsig.Key(self.server.tsig_name, self.server.tsig_secret,
                            self.server.tsig_algorithm)

    def records(self) -> dict[tuple[str, str], tuple[int, list[str]]]:
        """Every record set of the zone as the server serves it: (name, type) -> ttl, values."""
        origin = dns.name.from_text(self.server.origin)
        out: dict[tuple[str, str], tuple[int, list[str]]] = {}
        if self.kind == "powerdns":
            body = httpx.get(f"{self.server.api_url}/api/v1/servers/localhost/zones/"
                             f"{self.server.origin}",
                             headers={"X-API-Key": self.server.api_key}).json()
            for rrset in body["rrsets"]:
                name = dns.name.from_text(rrset["name"]).relativize(origin).to_text()
                out[(name, rrset["type"])] = (rrset["ttl"], sorted(
                    r["content"] for r in rrset["records"]))
            return out
        key = self.key()
        for message in dns.query.xfr(self.server.host, origin, port=self.server.port,
                                     keyring={key.name: key}, keyname=key.name,
                                     relativize=False):
            for rrset in message.answer:
                k = (rrset.name.relativize(origin).to_text(),
                     dns.rdatatype.to_text(rrset.rdtype))
                values = set(out.get(k, (0, []))[1]) | {rd.to_text() for rd in rrset}
                out[k] = (rrset.ttl, sorted(values))
        return out

    def hand_set(self, name: str, rtype: str, ttl: int, *values: str) -> None:
        """Replace a record set by hand, as an operator would, straight to the server."""
        origin = dns.name.from_text(self.server.origin)
        fqdn = dns.name.from_text(name, origin=origin)
        if self.kind == "powerdns":
            contents = [dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype),
                                            v, origin=origin, relativize=False).to_text()
                        for v in values]
            rrset: dict[str, Any] = {"name": fqdn.to_text(), "type": rtype}
            if contents:
                rrset.update(ttl=ttl, changetype="REPLACE",
                             records=[{"content": c, "disabled": False} for c in contents])
            else:
                rrset["changetype"] = "DELETE"
            self.hand_patches += 1
            response = httpx.patch(
                f"{self.server.api_url}/api/v1/servers/localhost/zones/{self.server.origin}",
                headers={"X-API-Key": self.server.api_key}, json={"rrsets": [rrset]})
            assert response.status_code == 204, response.text
            return
        key = self.key()
        update = dns.update.UpdateMessage(origin, keyring={key.name: key}, keyname=key.name)
        if values:
            update.replace(fqdn, ttl, rtype, *values)
        else:
            update.delete(fqdn, rtype)
        answer = dns.query.tcp(update, self.server.host, port=self.server.port, timeout=5)
        assert answer.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(answer.rcode())


def make_zone(kind: str, tmp_path: Path, records: list[str] = ()  # type: ignore[assignment]
              ) -> Iterator[Zone]:
    server = start_server(kind, tmp_path / "server", records=list(records))
    proxy = None if kind == "powerdns" else CountingProxy(server.host, server.port)
    root = tmp_path / "repo"
    root.mkdir()
    try:
        yield Zone(server=server, proxy=proxy, root=root, state_dir=tmp_path / "state")
    finally:
        if proxy is not None:
            proxy.close()
        server.stop()


@pytest.fixture(params=KINDS)
def zone(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Zone]:
    yield from make_zone(request.param, tmp_path, ["hand IN A 192.0.2.99"])


@pytest.fixture(params=RFC2136_KINDS)
def rfc2136_zone(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Zone]:
    yield from make_zone(request.param, tmp_path, ["hand IN A 192.0.2.99"])


@pytest.fixture
def knot_zone(tmp_path: Path) -> Iterator[Zone]:
    yield from make_zone("knot", tmp_path, ["hand IN A 192.0.2.99"])
