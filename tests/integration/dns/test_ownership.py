"""Ownership: markers beside owned sets, hand-made records left alone, adopt, authoritative."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from tests.integration.dns.conftest import Zone

pytestmark = pytest.mark.dns

BASE: dict[str, dict[str, Any]] = {
    "blog": {"name": "blog", "type": "A", "values": ["203.0.113.10"]},
    "www": {"name": "www.blog", "type": "CNAME", "values": ["blog.example.com."]},
    "apex": {"name": "@", "type": "TXT", "values": ["google-site-verification=abc"]},
}


def marker(resource: str, owner: str = "bosun") -> str:
    return f'"heritage=bosun,bosun/owner={owner},bosun/resource={resource}"'


def test_markers_sit_beside_each_owned_set(zone: Zone) -> None:
    zone.declare(BASE)
    assert zone.bosun("apply").exit_code == 0
    served = zone.records()
    assert served[("bosun-a-blog", "TXT")] == (300, [marker("DNSRecord/blog")])
    # Beside www.blog (same parent), not under it.
    assert served[("bosun-cname-www.blog", "TXT")][1] == [marker("DNSRecord/www")]
    assert served[("bosun-txt", "TXT")][1] == [marker("DNSRecord/apex")]
    markers = [k for k in served if k[0].startswith("bosun-")]
    assert len(markers) == 3, markers


def test_hand_made_records_survive_every_apply(zone: Zone) -> None:
    zone.declare(BASE)
    assert zone.bosun("apply").exit_code == 0
    # By hand: a new name, another type at a name bosun manages, and one at the apex.
    zone.hand_set("shop", "A", 600, "192.0.2.50")
    zone.hand_set("blog", "TXT", 600, '"hand made"')
    zone.hand_set("@", "MX", 600, "10 mx.example.net.")
    before = zone.records()

    assert "No changes." in zone.bosun("plan").output
    changed = {**BASE, "blog": {**BASE["blog"], "values": ["203.0.113.11"]}}
    del changed["apex"]
    zone.declare(changed)
    applied = zone.bosun("apply")
    assert applied.exit_code == 0, applied.output
    zone.declare({})
    emptied = zone.bosun("apply")
    assert emptied.exit_code == 0, emptied.output
    assert "3 applied" not in emptied.output  # two sets were left: blog and www
    after = zone.records()
    for key in (("shop", "A"), ("blog", "TXT"), ("@", "MX"), ("hand", "A"), ("@", "NS"),
                ("ns1", "A")):
        assert after[key] == before[key], key
    assert not [k for k in after if k[0].startswith("bosun-")]
    assert ("blog", "A") not in after and ("www.blog", "CNAME") not in after
    assert "No changes." in zone.bosun("plan").output


def test_existing_records_are_adopted_only_when_told(zone: Zone) -> None:
    zone.hand_set("blog", "A", 300, "203.0.113.10")
    zone.hand_set("legacy", "A", 300, "192.0.2.1")
    zone.declare({"blog": BASE["blog"],
                  "legacy": {"name": "legacy", "type": "A", "values": ["192.0.2.2"]}})
    refused = zone.bosun("plan")
    assert refused.exit_code == 1, refused.output
    assert ("DNSRecord/legacy: dns: legacy.example.com. A already exists and is not bosun's "
            "(no ownership marker); set adopt: true on DNSZone/example") in refused.output
    assert "DNSRecord/blog: dns: blog.example.com. A already exists" in refused.output
    assert zone.bosun("apply").exit_code == 1
    assert zone.writes() == 0

    zone.adopt = True
    zone.declare({"blog": BASE["blog"],
                  "legacy": {"name": "legacy", "type": "A", "values": ["192.0.2.2"]}})
    plan = zone.bosun("plan")
    assert plan.exit_code == 0, plan.output
    assert "~ DNSRecord/blog  (update: adopting the existing record set (adopt: true))" \
        in plan.output
    assert ("~ DNSRecord/legacy  (update: adopting the existing record set (adopt: true); "
            "values differ)") in plan.output
    assert zone.bosun("apply").exit_code == 0
    served = zone.records()
    assert served[("legacy", "A")][1] == ["192.0.2.2"]
    assert served[("bosun-a-blog", "TXT")][1] == [marker("DNSRecord/blog")]
    assert "No changes." in zone.bosun("plan").output


def test_another_owners_records_are_never_taken(rfc2136_zone: Zone) -> None:
    zone = rfc2136_zone
    zone.hand_set("blog", "A", 300, "203.0.113.99")
    zone.hand_set("bosun-a-blog", "TXT", 300, marker("DNSRecord/blog", owner="team-b"))
    zone.adopt = True
    zone.declare({"blog": BASE["blog"]})
    plan = zone.bosun("plan")
    assert plan.exit_code == 1
    assert "blog.example.com. A belongs to owner 'team-b'" in plan.output
    # Removing everything from this repository leaves team-b's set alone too.
    zone.declare({})
    assert "No changes." in zone.bosun("plan").output
    assert zone.records()[("blog", "A")][1] == ["203.0.113.99"]


def test_authoritative_zone_owns_everything_but_the_protected(zone: Zone) -> None:
    zone.hand_set("_acme-challenge.blog", "TXT", 60, '"token"')
    zone.hand_set("stray", "TXT", 60, '"left over"')
    zone.ownership = "authoritative"
    zone.declare({"blog": BASE["blog"], "ns": {"name": "ns1", "type": "A", "ttl": 3600,
                                               "values": ["127.0.0.1"]}})
    plan = zone.bosun("plan")
    assert plan.exit_code == 0, plan.output
    assert ("- DNSRecord/hand.example.com/A  (delete: not in the repository and zone "
            "example.com. is authoritative)") in plan.output
    assert "- DNSRecord/stray.example.com/TXT" in plan.output
    assert "Plan: 1 to add, 0 to change, 2 to destroy." in plan.output
    assert "acme" not in plan.output
    assert zone.bosun("apply").exit_code == 0
    served = zone.records()
    assert ("hand", "A") not in served and ("stray", "TXT") not in served
    assert served[("_acme-challenge.blog", "TXT")][1] == ['"token"']
    assert ("@", "SOA") in served and ("@", "NS") in served
    assert not [k for k in served if k[0].startswith("bosun-")]  # no markers
    assert "No changes." in zone.bosun("plan").output


def test_a_zone_removed_from_the_repository_is_left_and_warned_about(knot_zone: Zone) -> None:
    zone = knot_zone
    zone.declare(BASE)
    assert zone.bosun("apply").exit_code == 0
    before = zone.records()
    writes = zone.writes()

    (zone.root / "dns.yaml").unlink()  # the zone, its records and its key leave together
    plan = zone.bosun("plan")
    assert plan.exit_code == 0, plan.output
    assert "No changes." in plan.output, plan.output
    assert (f"Warning: DNSZone/example: no longer in the repository, so bosun cannot reach "
            f"zone {zone.server.zone}. on server {zone.proxy.address if zone.proxy else ''} "
            "any more: 3 record set(s) it wrote there are left as they are; declare the zone "
            "again without records to remove them, or 'bosun forget DNSZone/example' to leave "
            "them") in plan.output, plan.output
    assert zone.bosun("apply").exit_code == 0
    assert zone.records() == before and zone.writes() == writes

    forgot = CliRunner().invoke(cli, ["forget", "DNSZone/example", "--state-dir",
                                      str(zone.state_dir)], catch_exceptions=False)
    assert forgot.exit_code == 0, forgot.output
    assert (f"zone {zone.server.zone}. on server") in forgot.output, forgot.output
    again = zone.bosun("plan")
    assert "No changes." in again.output and "Warning" not in again.output, again.output
    assert zone.records() == before
