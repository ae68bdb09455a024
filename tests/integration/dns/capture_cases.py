"""Regenerate the saved server output under tests/cases/dns/ from real servers.

    .venv/bin/python -m tests.integration.dns.capture_cases

Starts a signed Knot zone and a PowerDNS zone holding the same records (hand-made
ones, bosun-owned ones with their markers, another owner's, an orphan marker,
``_acme-challenge``), and saves the AXFR messages (as text, TSIG removed) and
the PowerDNS zone document. The unit tests plan against these files.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import dns.message
import dns.name
import dns.query
import dns.tsig

from tests.integration.dns.servers import DNSServer, start_server

CASES = Path(__file__).resolve().parents[2] / "cases" / "dns"
DKIM = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 8
SEPARATOR = "; ---- next AXFR message ----"


def owned(name: str, rtype: str, resource: str, owner: str = "bosun") -> str:
    return (f'{name} 300 IN TXT "heritage=bosun,bosun/owner={owner},'
            f'bosun/resource={resource}"')


RECORDS = [
    "hand 300 IN A 192.0.2.99",
    "@ 3600 IN MX 10 mx.example.net.",
    "legacy 300 IN A 192.0.2.1",
    f'sel._domainkey 300 IN TXT "{DKIM[:255]}" "{DKIM[255:]}"',
    '_acme-challenge 60 IN TXT "token-1"',
    '_acme-challenge.blog 60 IN TXT "token-2"',
    "blog 300 IN A 203.0.113.10",
    owned("bosun-a-blog", "A", "DNSRecord/blog"),
    "www 300 IN CNAME blog.example.com.",
    owned("bosun-cname-www", "CNAME", "DNSRecord/www"),
    "old 300 IN A 203.0.113.50",
    owned("bosun-a-old", "A", "DNSRecord/old"),
    "app 300 IN A 198.51.100.7",
    owned("bosun-a-app", "A", "Route/app"),
    "team 300 IN A 192.0.2.200",
    owned("bosun-a-team", "A", "DNSRecord/team", owner="team-b"),
    owned("bosun-aaaa-gone", "AAAA", "DNSRecord/gone"),
    "*.dev 300 IN A 192.0.2.5",
    owned("bosun-a--wildcard.dev", "A", "DNSRecord/wild"),
]


def capture_knot(workdir: Path) -> str:
    server = DNSServer(kind="knot", zone="example.com", workdir=workdir, signed=True)
    server.prepare(RECORDS)
    server.start()
    try:
        key = dns.tsig.Key(server.tsig_name, server.tsig_secret, server.tsig_algorithm)
        messages = list(dns.query.xfr(server.host, server.origin, port=server.port,
                                      keyring={key.name: key}, keyname=key.name,
                                      relativize=False))
    finally:
        server.stop()
    blocks = []
    for message in messages:
        plain = dns.message.Message(id=message.id)
        plain.flags = message.flags
        plain.question = message.question
        plain.answer = message.answer
        blocks.append(plain.to_text())
    return f"\n{SEPARATOR}\n".join(blocks) + "\n"


def capture_powerdns(workdir: Path) -> str:
    import httpx

    server = start_server("powerdns", workdir, records=RECORDS)
    try:
        body = httpx.get(f"{server.api_url}/api/v1/servers/localhost/zones/{server.origin}",
                         headers={"X-API-Key": server.api_key}).json()
    finally:
        server.stop()
    return json.dumps(body, indent=1, sort_keys=True) + "\n"


def main() -> None:
    CASES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        (CASES / "knot-signed.axfr").write_text(capture_knot(Path(tmp) / "knot"))
        (CASES / "powerdns-zone.json").write_text(capture_powerdns(Path(tmp) / "pdns"))
    print(f"saved under {CASES}")


if __name__ == "__main__":
    main()
