"""Plans made from saved server output (tests/cases/dns), as data.

Each case folder holds a repository (``repo/``) and ``expected.yaml``: the
changes ``plan_zone`` must make against the saved AXFR of a signed Knot zone,
the conflicts it must report and whether the plan crosses the 30% threshold.
Then the plan's edits are applied to the observed zone in memory, and a second
plan must be empty: the pyinfra-style "second run does nothing".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dns.message
import dns.name
import pytest
from ruamel.yaml import YAML

from providers.dns.observation import ZoneRecords
from providers.dns.planner import plan_zone
from providers.dns.powerdns import parse_zone
from providers.dns.records import RecordSet, SetEdit
from providers.dns.rfc2136 import parse_axfr
from providers.dns.wanted import zone_targets
from reconciler.pipeline import load_desired
from tests.integration.dns.capture_cases import SEPARATOR

CASES = Path(__file__).resolve().parents[2] / "cases" / "dns"
ORIGIN = dns.name.from_text("example.com.")


def saved_axfr() -> ZoneRecords:
    text = (CASES / "knot-signed.axfr").read_text()
    messages = [dns.message.from_text(block) for block in text.split(SEPARATOR)]
    return parse_axfr("example", ORIGIN, messages)


def applied(zone: ZoneRecords, edits: list[SetEdit]) -> ZoneRecords:
    """The zone as a server holds it once ``edits`` are made."""
    index = zone.index()
    for edit in edits:
        if edit.after is None:
            index.pop(edit.key, None)
        else:
            index[edit.key] = edit.after
    return zone.model_copy(update={"sets": tuple(index[k] for k in sorted(index))})


@pytest.mark.parametrize("case", ["shared", "authoritative"])
def test_plan_from_saved_axfr(case: str) -> None:
    expected: dict[str, Any] = YAML(typ="safe").load((CASES / case / "expected.yaml").read_text())
    desired = load_desired(CASES / case / "repo")
    target = zone_targets(desired)["example"]
    observed = saved_axfr()

    result = plan_zone(target, observed, owner=desired.owner)
    got = [[c.action.value, str(c.ref), c.reason] for c in result.changes]
    assert got == expected["changes"], json.dumps(got, indent=1)
    conflicts = sorted([str(c.ref), c.message] for c in result.conflicts)
    assert conflicts == expected["conflicts"], json.dumps(conflicts, indent=1)
    assert result.unsafe is expected["unsafe"]
    assert result.size == expected["size"]

    # Nothing protected is ever in a change.
    edits = [SetEdit.model_validate(e) for c in result.changes for e in c.payload["edits"]]
    touched = {e.type for e in edits}
    assert not touched & {"SOA", "DNSKEY", "RRSIG", "NSEC", "CDS", "CDNSKEY"}
    assert not [e for e in edits if e.name.startswith("_acme-challenge") or
                (e.name, e.type) == ("@", "NS")]
    assert {c.payload["soa"] for c in result.changes} <= {observed.soa}

    again = plan_zone(target, applied(observed, edits), owner=desired.owner)
    assert again.changes == []
    assert sorted([str(c.ref), c.message] for c in again.conflicts) == conflicts


def test_saved_axfr_is_read_whole() -> None:
    zone = saved_axfr()
    index = zone.index()
    assert zone.serial == int(zone.soa.split()[2])
    assert index[("www", "CNAME")] == RecordSet(name="www", type="CNAME", ttl=300,
                                                values=("blog.example.com.",))
    assert index[("*.dev", "A")].values == ("192.0.2.5",)
    dkim = index[("sel._domainkey", "TXT")].values[0]
    assert dkim.count('" "') == 1  # two character-strings
    for rtype in ("DNSKEY", "RRSIG", "NSEC", "CDS", "CDNSKEY"):
        assert any(t == rtype for (_, t) in index), rtype


def test_powerdns_zone_document_reads_like_the_axfr() -> None:
    body = json.loads((CASES / "powerdns-zone.json").read_text())
    pdns = parse_zone("example", ORIGIN, body).index()
    knot = saved_axfr().index()
    dnssec = {"DNSKEY", "RRSIG", "NSEC", "CDS", "CDNSKEY", "SOA"}
    assert {k: v for k, v in knot.items() if k[1] not in dnssec} == \
        {k: v for k, v in pdns.items() if k[1] not in dnssec}
