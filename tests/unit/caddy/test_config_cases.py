"""Config generation against saved Caddy configs: ordering, ids, ownership."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from providers.caddy.config import extract, render
from providers.caddy.ids import parse, prefix
from reconciler.model.common import Kind
from reconciler.model.plan import ChangeAction
from reconciler.model.sensitive import REDACTED
from reconciler.render import render_json, render_text
from tests.unit.caddy.cases import Case, load_case, plan_lines

ADMIN_PASSWORD = {"ADMIN_OPS_PASSWORD": "correct horse"}


def _case(name: str, tmp_path: Path) -> Case:
    return load_case(name, tmp_path, ADMIN_PASSWORD)


def _expected(case: Case) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((case.folder / "expected.json").read_text())
    return loaded


@pytest.mark.parametrize("name", ["fresh", "foreign"])
def test_plan_then_config_then_nothing(name: str, tmp_path: Path) -> None:
    case = _case(name, tmp_path)
    changes = case.plan(case.live)
    assert plan_lines(changes) == (case.folder / "plan.txt").read_text().splitlines()
    after = case.apply(changes, case.live)
    assert after == _expected(case)
    # second run: nothing to plan, and the config re-renders to itself
    assert case.plan(after) == []
    assert render(after, case.ctx.owner, extract(after, case.ctx.owner)) == after


def _without_owned(config: dict[str, Any], owner: str) -> dict[str, Any]:
    """``config`` minus this owner's servers, routes and policies."""
    out: dict[str, Any] = json.loads(json.dumps(config))
    servers = out.get("apps", {}).get("http", {}).get("servers", {})
    for key in list(servers):
        if parse(owner, key) is not None:
            hand = [r for r in servers[key].get("routes", []) if parse(owner, r.get("@id")) is None]
            servers[key] = {"hand routes": hand}
    policies = out.get("apps", {}).get("tls", {}).get("automation", {}).get("policies")
    if policies is not None:
        out["apps"]["tls"]["automation"]["policies"] = [
            p for p in policies if parse(owner, p.get("@id")) is None]
    return out


def test_what_bosun_does_not_own_stays_as_it_is(tmp_path: Path) -> None:
    case = _case("foreign", tmp_path)
    after = case.apply(case.plan(case.live), case.live)
    assert _without_owned(after, "bosun") == _without_owned(case.live, "bosun")
    assert after["admin"] == case.live["admin"]
    assert after["logging"] == case.live["logging"]
    assert after["apps"]["http"]["servers"]["manual"] == case.live["apps"]["http"]["servers"][
        "manual"]
    team_b = "bosun-team-b-gw.edge.https"
    assert after["apps"]["http"]["servers"][team_b] == case.live["apps"]["http"]["servers"][team_b]
    http = after["apps"]["http"]["servers"]["bosun-bosun-gw.edge.http"]["routes"]
    https = after["apps"]["http"]["servers"]["bosun-bosun-gw.edge.https"]["routes"]
    # the hand route that was in front of bosun's stays in front; the one behind, behind
    assert http[0]["match"] == [{"host": ["hand.example.test"]}]
    assert https[-1]["@id"] == "ops-maintenance"
    policies = after["apps"]["tls"]["automation"]["policies"]
    assert policies[0]["@id"] == "manual-tls"
    assert "subjects" not in policies[-1]  # the catch-all stays last


def test_every_emitted_object_has_an_owner_id(tmp_path: Path) -> None:
    case = _case("fresh", tmp_path)
    after = _expected(case)
    ids: list[str] = []
    for key, server in after["apps"]["http"]["servers"].items():
        assert server["@id"] == key
        ids.append(key)
        ids.extend(r["@id"] for r in server["routes"])
    ids.extend(p["@id"] for p in after["apps"]["tls"]["automation"]["policies"])
    assert ids and all(i.startswith(prefix("bosun")) for i in ids)
    assert all(parse("bosun", i) is not None for i in ids)
    assert len(ids) == len(set(ids))
    assert after["apps"]["pki"]["certificate_authorities"]["local"]["install_trust"] is False


def test_ids_of_another_owner_are_not_ours() -> None:
    assert parse("team", "bosun-team-b-gw.edge.https") is None
    assert parse("team-b", "bosun-team-b-gw.edge.https") is not None
    assert parse("bosun", "bosun-bosun-gw.edge.route.shop.https.nope") is None
    assert parse("bosun", None) is None
    case_config = json.loads((Path(__file__).resolve().parents[2] / "cases" / "caddy" / "foreign"
                              / "live.json").read_text())
    assert all(k.startswith("gw.edge") for k in extract(case_config, "team-b"))
    assert not any("blog" in k for k in extract(case_config, "bosun"))


def test_exact_hosts_before_wildcards_longer_paths_first(tmp_path: Path) -> None:
    case = _case("fresh", tmp_path)
    routes = _expected(case)["apps"]["http"]["servers"]["bosun-bosun-gw.edge.https"]["routes"]
    assert [r["@id"].removeprefix("bosun-bosun-gw.edge.route.") for r in routes] == [
        "shop-api.https.exact",     # shop.example.test/api
        "apps.https.exact",         # exact hosts, path /
        "shop.https.exact",
        "eu-static.https.wild",     # *.eu.apps.example.test is narrower than *.apps...
        "apps.https.wild",
    ]


def test_out_of_order_objects_are_a_change(tmp_path: Path) -> None:
    case = _case("fresh", tmp_path)
    expected = _expected(case)
    shuffled = json.loads(json.dumps(expected))
    routes = shuffled["apps"]["http"]["servers"]["bosun-bosun-gw.edge.https"]["routes"]
    routes.reverse()
    changes = case.plan(shuffled)
    assert [(c.action, c.ref.kind) for c in changes] == [(ChangeAction.UPDATE, Kind.GATEWAY)]
    assert "out of order" in changes[0].reason
    assert case.apply(changes, shuffled) == expected


def test_an_upstream_not_resolvable_keeps_what_caddy_has(tmp_path: Path) -> None:
    case = _case("foreign", tmp_path)
    case.hosts = {}  # the stack's containers are gone
    changes = case.plan(case.live)
    assert "Route/shop" not in {str(c.ref) for c in changes}


def test_a_new_route_without_upstream_is_left_out_at_apply(tmp_path: Path) -> None:
    from providers.caddy.applier import Batch, next_config

    case = _case("fresh", tmp_path)
    case.hosts = {}
    changes = case.plan(case.live)
    shop = next(c for c in changes if str(c.ref) == "Route/shop")
    assert shop.details[0] == "upstream: stack shop has no running container of service web"
    config, left_out = next_config(case.live, case.desired, Batch.of(changes), "bosun", {}, [],
                                   case.ctx.secrets)
    assert set(left_out) == {"shop", "shop-api"}
    https = config["apps"]["http"]["servers"]["bosun-bosun-gw.edge.https"]
    ids = [r["@id"] for r in https["routes"]]
    assert not any(".route.shop" in i for i in ids)
    assert "(known after apply)" not in json.dumps(config)


def test_a_changed_password_is_a_sensitive_change(tmp_path: Path) -> None:
    case = load_case("foreign", tmp_path, {"ADMIN_OPS_PASSWORD": "battery staple"})
    changes = [c for c in case.plan(case.live) if str(c.ref) == "Route/admin"]
    assert [c.action for c in changes] == [ChangeAction.UPDATE]
    assert changes[0].diffs and all(d.sensitive for d in changes[0].diffs)
    from reconciler.model.plan import Plan

    plan = Plan(revision="r", desired_digest="d", observed_digest="o", changes=tuple(changes))
    for text in (render_text(plan), render_json(plan)):
        assert REDACTED in text
        assert "$2b$" not in text and "battery staple" not in text and "password" not in text
    after = case.apply(changes, case.live)
    assert "battery staple" not in json.dumps(after)
    assert "Route/admin" not in {str(c.ref) for c in case.plan(after)}


def test_removing_the_gateway_removes_only_bosuns_objects(tmp_path: Path) -> None:
    case = _case("removed", tmp_path)
    url = "unix:///run/bosun-case/admin.sock"
    from providers.caddy import planner
    from providers.caddy.state import CaddyObservation, EndpointState

    observed = CaddyObservation(endpoints={url: EndpointState(url=url, digest="x",
                                                              config=case.live)})
    changes = planner.plan(case.desired, observed, case.ctx, "unix:///nonexistent")
    assert {(c.action, str(c.ref)) for c in changes} == {
        (ChangeAction.DELETE, "Gateway/edge"), *((ChangeAction.DELETE, f"Route/{n}") for n in
                                                 ("admin", "apps", "eu-static", "legacy", "shop",
                                                  "shop-api"))}
    after = case.apply(changes, case.live)
    assert extract(after, "bosun") == {}
    assert set(after["apps"]["http"]["servers"]) == {"manual", "bosun-team-b-gw.edge.https"}
    assert [p.get("@id") for p in after["apps"]["tls"]["automation"]["policies"]] == [
        "manual-tls", "bosun-team-b-gw.edge.route.blog.tls", None]
    assert after["admin"] == case.live["admin"]
