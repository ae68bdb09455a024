"""The 30% threshold: large updates or deletes of a zone need --force."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.dns.conftest import Zone

pytestmark = pytest.mark.dns


def records(count: int, address: str = "192.0.2.{i}") -> dict[str, dict[str, Any]]:
    return {f"host{i}": {"name": f"host{i}", "type": "A", "values": [address.format(i=i)]}
            for i in range(count)}


def test_more_than_30_percent_needs_force(knot_zone: Zone) -> None:
    zone = knot_zone
    zone.declare(records(12))
    assert zone.bosun("apply").exit_code == 0  # creates never count
    assert zone.writes() == 1
    # The zone now holds 14 record sets bosun may manage: 12, plus `hand` and `ns1`.

    four = {**records(12), **{k: {**v, "values": ["198.51.100.1"]}
                              for k, v in list(records(4).items())}}
    zone.declare(four)
    ok = zone.bosun("plan")
    assert ok.exit_code == 0, ok.output
    assert "Plan: 0 to add, 4 to change, 0 to destroy." in ok.output

    five = {**records(12), **{k: {**v, "values": ["198.51.100.1"]}
                              for k, v in list(records(5).items())}}
    zone.declare(five)
    refused = zone.bosun("plan")
    assert refused.exit_code == 1
    assert ("zone example.com.: 5 of 14 record sets would be updated or deleted (35%) -- "
            "more than 30% of a zone of 10 or more record sets (pass --force to go ahead)"
            ) in refused.output
    applied = zone.bosun("apply")
    assert applied.exit_code == 1
    assert zone.writes() == 1

    forced = zone.bosun("apply", "--force")
    assert forced.exit_code == 0, forced.output
    assert "5 applied" in forced.output
    assert zone.writes() == 2

    # Deletes count the same way: 5 of 14 gone.
    zone.declare({k: v for k, v in five.items() if k not in {f"host{i}" for i in range(5)}})
    assert "5 of 14 record sets" in zone.bosun("plan").output
    assert zone.bosun("apply", "--force").exit_code == 0
    assert zone.writes() == 3


def test_small_zones_are_never_refused(knot_zone: Zone) -> None:
    zone = knot_zone
    zone.declare(records(7))
    assert zone.bosun("apply").exit_code == 0
    zone.declare(records(7, address="198.51.100.{i}"))  # 7 of 9 sets change
    applied = zone.bosun("apply")
    assert applied.exit_code == 0, applied.output
    assert "7 applied" in applied.output
