"""A stopped server, a bad key, a concurrent change, a write the server drops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from providers.dns import DNSProvider
from providers.dns.ownership import marker_name
from providers.dns.records import RecordSet, SetEdit
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.plan import Change, ChangeAction, ChangeOutcome
from reconciler.pipeline import Reconciler, load_desired
from tests.integration.dns.conftest import Zone

pytestmark = pytest.mark.dns

RECORDS: dict[str, dict[str, Any]] = {
    "blog": {"name": "blog", "type": "A", "values": ["203.0.113.10"]},
    "www": {"name": "www", "type": "CNAME", "values": ["blog.example.com"]},
}


def reconciler(zone: Zone) -> Reconciler:
    return Reconciler(state_dir=zone.state_dir, provider_names=["dns"], environ=zone.env)


def test_stopped_server_fails_the_plan_and_nothing_is_touched(zone: Zone) -> None:
    zone.direct = True
    zone.declare(RECORDS)
    assert zone.bosun("apply").exit_code == 0
    before = zone.records()
    zone.server.stop()

    # Were the zone read as empty, this would plan creates; with `{}` it would plan deletes.
    zone.declare({"blog": {**RECORDS["blog"], "values": ["203.0.113.11"]}})
    plan = zone.bosun("plan", "--detailed-exitcode")
    assert plan.exit_code == 1, plan.output
    if zone.kind == "powerdns":
        assert (f"! DNSZone/example: dns: cannot read zone example.com. from "
                f"{zone.server.api_url}: cannot connect (") in plan.output
    else:
        assert (f"! DNSZone/example: dns: cannot transfer zone example.com. from "
                f"{zone.server.address}: connection refused (is the server running?)"
                ) in plan.output
    assert "! DNSRecord/blog: dns: not planned: DNSZone/example could not be read" \
        in plan.output
    assert "No changes." in plan.output
    assert "1 error(s)" not in plan.output  # one per resource concerned
    assert "2 error(s) above (state that could not be read" in plan.output
    zone.declare({})
    empty = zone.bosun("apply")
    assert empty.exit_code == 1, empty.output
    assert "Applying" not in empty.output and "to destroy" not in empty.output

    zone.server.start()
    assert zone.records() == before
    zone.declare(RECORDS)
    assert "No changes." in zone.bosun("plan").output


def test_tsig_key_comes_from_the_secret(rfc2136_zone: Zone, tmp_path: Path) -> None:
    zone = rfc2136_zone
    zone.declare(RECORDS)
    good = dict(zone.env)

    zone.env["T_TSIG_SECRET"] = "c2VjcmV0LXRoYXQtaXMtd3Jvbmc="
    wrong = zone.bosun("plan")
    assert wrong.exit_code == 1
    assert "BADSIG" in wrong.output or "BADKEY" in wrong.output, wrong.output
    assert "c2VjcmV0LXRoYXQtaXMtd3Jvbmc=" not in wrong.output

    zone.env = {**good, "T_TSIG_NAME": "nobody-knows-me."}
    unknown = zone.bosun("plan")
    assert unknown.exit_code == 1
    assert "BADKEY" in unknown.output or "NOTAUTH" in unknown.output, unknown.output

    zone.env = {k: v for k, v in good.items() if k != "T_TSIG_SECRET"}
    missing = zone.bosun("plan")
    assert missing.exit_code == 1
    assert "environment variable T_TSIG_SECRET is not set" in missing.output

    # Without the optional algorithm key the default, hmac-sha256, is used.
    zone.env = good
    zone.declare(RECORDS)
    text = (zone.root / "dns.yaml").read_text().replace(
        ', "algorithm": "T_TSIG_ALGORITHM"', "")
    (zone.root / "dns.yaml").write_text(text)
    assert "T_TSIG_ALGORITHM" not in text
    applied = zone.bosun("apply")
    assert applied.exit_code == 0, applied.output
    assert zone.writes() == 1
    assert good["T_TSIG_SECRET"] not in applied.output


def test_a_concurrent_change_is_detected(zone: Zone) -> None:
    zone.declare(RECORDS)
    rec = reconciler(zone)
    desired = load_desired(zone.root)
    plan = rec.plan(desired)
    assert len(plan.changes) == 2
    # Someone writes between the read and the write: on Knot and BIND any change
    # moves the SOA serial; PowerDNS is checked set by set.
    zone.hand_set("blog", "A", 300, "198.51.100.1")
    report = rec.apply(plan, desired)
    assert [r.outcome for r in report.results] == [ChangeOutcome.FAILED] * 2
    assert "changed since it was read" in report.results[0].message
    assert "planned again" in report.results[0].message
    served = zone.records()
    assert served[("blog", "A")][1] == ["198.51.100.1"]
    assert ("www", "CNAME") not in served

    # The next plan sees the hand-made set: it is not bosun's, so it is not taken.
    replan = zone.bosun("plan")
    assert "blog.example.com. A already exists and is not bosun's" in replan.output


def test_a_write_the_server_drops_is_reported(zone: Zone) -> None:
    """Servers accept an UPDATE with a CNAME beside other data and drop the CNAME."""
    zone.declare(RECORDS)
    desired = load_desired(zone.root)
    rec = reconciler(zone)
    ctx = rec.context(desired)
    provider = DNSProvider()
    observed = provider.observe(desired, ctx).zones["example"]
    # A plan made as if `hand` were free: bosun's planner never makes this one.
    cname = RecordSet(name="hand", type="CNAME", ttl=300, values=("blog.example.com.",))
    edits = [SetEdit(name="hand", type="CNAME", after=cname),
             SetEdit(name=marker_name("hand", "CNAME"), type="TXT",
                     after=RecordSet(name=marker_name("hand", "CNAME"), type="TXT", ttl=300,
                                     values=('"heritage=bosun,bosun/owner=bosun"',)))]
    change = Change(
        action=ChangeAction.CREATE, ref=ResourceRef(kind=Kind.DNS_RECORD, name="hand"),
        provider="dns", reason="test",
        payload={"zone": "example", "origin": observed.origin, "soa": observed.soa,
                 "edits": [e.model_dump(mode="json") for e in edits]},
    )
    if zone.kind == "powerdns":
        # PowerDNS refuses the whole PATCH instead (422) and applies nothing.
        with pytest.raises(Exception, match="HTTP 422"):
            provider.apply([change], desired, ctx)
        assert ("bosun-cname-hand", "TXT") not in zone.records()
        return
    [result] = provider.apply([change], desired, ctx)
    assert result.outcome is ChangeOutcome.FAILED
    assert result.writes == 1
    assert ("the server accepted the write but hand.example.com. CNAME is absent"
            in result.message), result.message
    assert zone.records()[("hand", "A")][1] == ["192.0.2.99"]


def test_cname_beside_hand_made_data_is_refused_at_plan(zone: Zone) -> None:
    zone.hand_set("www", "TXT", 300, '"hand made"')
    zone.declare(RECORDS)
    plan = zone.bosun("plan")
    assert plan.exit_code == 1
    assert ("DNSRecord/www: dns: a CNAME at www.example.com. would share the name with "
            "existing TXT records that bosun does not manage") in plan.output
    assert "+ DNSRecord/blog" in plan.output and "+ DNSRecord/www" not in plan.output
