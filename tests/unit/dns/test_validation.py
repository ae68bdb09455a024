"""DNS checks of the resolve stage: CNAME exclusivity, protected names, values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import ConfigError
from reconciler.pipeline import load_desired

ZONE = {"apiVersion": "bosun/v1", "kind": "DNSZone", "metadata": {"name": "example"},
        "spec": {"zone": "example.com", "server": "127.0.0.1:53"}}
GATEWAY = {"apiVersion": "bosun/v1", "kind": "Gateway", "metadata": {"name": "edge"},
           "spec": {"admin": "http://127.0.0.1:9"}}


def record(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "bosun/v1", "kind": "DNSRecord", "metadata": {"name": name},
            "spec": {"zone": "example", **spec}}


def route(name: str, hosts: list[str], dns: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "bosun/v1", "kind": "Route", "metadata": {"name": name},
            "spec": {"gateway": "edge", "hosts": hosts, "to": {"url": "http://127.0.0.1:1"},
                     "dns": {"zone": "example", **dns}}}


def problems(tmp_path: Path, *docs: dict[str, Any]) -> list[str]:
    (tmp_path / "all.yaml").write_text("\n---\n".join(json.dumps(d) for d in docs) + "\n")
    try:
        load_desired(tmp_path)
    except ConfigError as exc:
        return exc.lines()
    return []


def test_valid_records_pass(tmp_path: Path) -> None:
    assert problems(
        tmp_path, ZONE, GATEWAY,
        record("a", {"name": "blog", "type": "A", "values": ["1.2.3.4"]}),
        record("dkim", {"name": "sel._domainkey", "type": "TXT", "values": ["p=" + "A" * 600]}),
        record("www", {"name": "www", "type": "CNAME", "values": ["blog.example.com"]}),
        route("app", ["app.example.com"], {"values": ["192.0.2.1"]}),
    ) == []


def test_cname_shares_its_name_with_nothing(tmp_path: Path) -> None:
    found = problems(
        tmp_path, ZONE, GATEWAY,
        record("a", {"name": "blog", "type": "A", "values": ["192.0.2.1"]}),
        record("c", {"name": "blog", "type": "CNAME", "values": ["x.example.net"]}),
        route("app", ["app.example.com"], {"type": "CNAME", "values": ["x.example.net"]}),
        record("t", {"name": "app", "type": "TXT", "values": ["hello"]}),
    )
    assert any("DNSRecord/c: spec.type: a CNAME at 'blog' cannot share its name with other "
               "records: A (DNSRecord/a at " in p for p in found), found
    assert any("Route/app: spec.dns.type: a CNAME at 'app' cannot share its name with other "
               "records: TXT (DNSRecord/t at " in p for p in found), found


def test_a_record_set_is_declared_once(tmp_path: Path) -> None:
    found = problems(
        tmp_path, ZONE, GATEWAY,
        record("one", {"name": "blog", "type": "A", "values": ["192.0.2.1"]}),
        record("two", {"name": "Blog", "type": "A", "values": ["192.0.2.2"]}),
        route("app", ["blog.example.com"], {"values": ["192.0.2.3"]}),
    )
    assert sum("record set blog A is also defined by" in p for p in found) == 2, found


@pytest.mark.parametrize(("spec", "message"), [
    ({"name": "@", "type": "CNAME", "values": ["x.example.net"]},
     "a CNAME cannot sit at the zone apex"),
    ({"name": "@", "type": "NS", "values": ["ns9.example.net"]},
     "the zone's own NS records at the apex are never managed by bosun"),
    ({"name": "_acme-challenge.blog", "type": "TXT", "values": ["x"]},
     "_acme-challenge names belong to ACME clients"),
    ({"name": "www", "type": "CNAME", "values": ["blog"]},
     "spec.values[0]: 'blog' is not a valid CNAME value: 'blog' is not a fully qualified name"),
    ({"name": "www", "type": "AAAA", "values": ["2001:db8::1", "2001:DB8:0::1"]},
     "spec.values[1]: '2001:DB8:0::1' is the same value as item 0"),
    ({"name": "www", "type": "A", "values": ["001.002.003.004"]},
     "spec.values[0]: '001.002.003.004' is not an IPv4 address"),
])
def test_records_bosun_refuses(tmp_path: Path, spec: dict[str, Any], message: str) -> None:
    found = problems(tmp_path, ZONE, record("r", spec))
    assert any(message in p for p in found), found


def test_route_cname_has_one_value_and_hosts_in_the_zone(tmp_path: Path) -> None:
    found = problems(
        tmp_path, ZONE, GATEWAY,
        route("app", ["app.example.com"], {"type": "CNAME",
                                           "values": ["a.example.net", "b.example.net"]}),
        route("other", ["app.example.org"], {"values": ["192.0.2.1"]}),
    )
    assert any("Route/app: spec.dns.values: a CNAME record set has exactly one value" in p
               for p in found), found
    assert any("host 'app.example.org' is not inside zone 'example.com.'" in p
               for p in found), found


def test_one_zone_declared_twice(tmp_path: Path) -> None:
    twice = {**ZONE, "metadata": {"name": "again"}}
    found = problems(tmp_path, ZONE, twice)
    assert any("zone 'example.com.' is also managed by DNSZone/" in p for p in found), found
