"""Plan, apply, plan again (no changes), apply again (no write) on Knot, BIND and PowerDNS."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.dns.conftest import Zone

pytestmark = pytest.mark.dns

DKIM = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 9

# Spelled the way people write them: upper case, no trailing
# dots, unquoted TXT. None of it may show up as a change on the second plan.
RECORDS: dict[str, dict[str, Any]] = {
    "blog": {"name": "blog", "type": "A", "ttl": 300,
             "values": ["203.0.113.10", "203.0.113.11"]},
    "v6": {"name": "v6", "type": "AAAA", "values": ["2001:DB8:0::1"]},
    "spf": {"name": "@", "type": "TXT", "values": ["v=spf1 include:_spf.example.net ~all"]},
    "dkim": {"name": "sel._domainkey", "type": "TXT", "values": [DKIM]},
    "pieces": {"name": "pieces", "type": "TXT", "values": ['"two" "strings"', "it's one"]},
    "mail": {"name": "@", "type": "MX", "ttl": 3600,
             "values": ["10 Mail.Example.com", "20 backup.example.net."]},
    "sip": {"name": "_sip._tcp", "type": "SRV", "values": ["10 5 5060 sip.example.com"]},
    # BIND refuses an UPDATE whose in-zone MX/SRV targets have no address.
    "mailhost": {"name": "mail", "type": "A", "values": ["192.0.2.25"]},
    "siphost": {"name": "sip", "type": "AAAA", "values": ["2001:db8::5060"]},
    "caa": {"name": "@", "type": "CAA", "values": ["0 issue letsencrypt.org"]},
    "www": {"name": "www", "type": "CNAME", "values": ["Blog.Example.com"]},
    "wild": {"name": "*.dev", "type": "A", "values": ["192.0.2.5"]},
}

ROUTE_DOCS: list[dict[str, Any]] = [
    {"apiVersion": "bosun/v1", "kind": "Gateway", "metadata": {"name": "edge"},
     "spec": {"admin": "http://127.0.0.1:9"}},
    {"apiVersion": "bosun/v1", "kind": "Route", "metadata": {"name": "app"},
     "spec": {"gateway": "edge", "hosts": ["app.example.com", "api.example.com"],
              "to": {"url": "http://127.0.0.1:8080"},
              "dns": {"zone": "example", "type": "A", "values": ["198.51.100.7"]}}},
]


def test_four_steps(zone: Zone) -> None:
    zone.declare(RECORDS, ROUTE_DOCS)

    first = zone.bosun("plan", "--detailed-exitcode")
    assert first.exit_code == 2, first.output
    assert "Plan: 14 to add, 0 to change, 0 to destroy." in first.output
    assert "+ DNSRecord/blog" in first.output
    assert "+ DNSRecord/app.example.com/A" in first.output
    assert "declared by Route/app" in first.output
    assert zone.writes() == 0

    applied = zone.bosun("apply")
    assert applied.exit_code == 0, applied.output
    assert "14 applied, 0 not applied" in applied.output
    assert zone.writes() == 1

    served = zone.records()
    assert served[("blog", "A")] == (300, ["203.0.113.10", "203.0.113.11"])
    assert served[("www", "CNAME")][1] == ["blog.example.com."]
    assert served[("app", "A")][1] == ["198.51.100.7"]
    assert served[("api", "A")][1] == ["198.51.100.7"]
    assert served[("@", "MX")] == (3600, ["10 mail.example.com.", "20 backup.example.net."])
    dkim = served[("sel._domainkey", "TXT")][1][0]
    assert dkim.startswith('"v=DKIM1; k=rsa; p=') and '" "' in dkim  # split at 255 bytes
    assert sorted(served[("pieces", "TXT")][1]) == ['"it\'s one"', '"two" "strings"']
    assert served[("hand", "A")][1] == ["192.0.2.99"]

    second = zone.bosun("plan", "--detailed-exitcode")
    assert second.exit_code == 0, second.output
    assert "No changes." in second.output

    again = zone.bosun("apply")
    assert again.exit_code == 0, again.output
    assert "No changes." in again.output
    assert zone.writes() == 1


def test_changes_go_in_one_write(zone: Zone) -> None:
    zone.declare(RECORDS)
    assert zone.bosun("apply").exit_code == 0
    assert zone.writes() == 1

    changed = dict(RECORDS)
    changed["blog"] = {**RECORDS["blog"], "values": ["203.0.113.20"]}
    changed["mail"] = {**RECORDS["mail"], "ttl": 600}
    del changed["caa"]
    changed["new"] = {"name": "new", "type": "A", "values": ["192.0.2.77"]}
    zone.declare(changed)

    plan = zone.bosun("plan")
    assert "Plan: 1 to add, 2 to change, 1 to destroy." in plan.output, plan.output
    assert "~ DNSRecord/blog  (update: values differ)" in plan.output
    assert '~ values: ["203.0.113.10", "203.0.113.11"] -> ["203.0.113.20"]' in plan.output
    assert "~ DNSRecord/mail  (update: TTL differs (3600 -> 600))" in plan.output
    assert "- DNSRecord/caa  (delete: no longer in the repository)" in plan.output

    applied = zone.bosun("apply")
    assert applied.exit_code == 0, applied.output
    assert zone.writes() == 2
    served = zone.records()
    assert served[("blog", "A")][1] == ["203.0.113.20"]
    assert served[("@", "MX")][0] == 600
    assert ("@", "CAA") not in served
    assert ("bosun-caa", "TXT") not in served
    assert served[("new", "A")][1] == ["192.0.2.77"]

    assert "No changes." in zone.bosun("plan").output
