"""The Caddy provider against a real Caddy: four steps, hand edits, 412, Caddy down."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from providers.caddy.embedded import EmbeddedCaddy
from tests.integration.caddy.conftest import Bosun
from tests.integration.caddy.engines import (
    AdminProxy,
    CaddyProcess,
    free_ports,
    get_via,
    trusting,
    wait_for,
)

pytestmark = pytest.mark.caddy


def gateway_yaml(admin: str, http: int, https: int, routes: str) -> str:
    return f"""\
apiVersion: bosun/v1
kind: Gateway
metadata: {{name: edge}}
spec:
  admin: {admin}
  listen: {{http: "127.0.0.1:{http}", https: "127.0.0.1:{https}"}}
  tls: {{issuer: internal}}
{routes}"""


def route_yaml(name: str, host: str, *, path: str = "/", tls: str = "internal",
               body: str | None = None, url: str | None = None) -> str:
    target = (f"redirect: {{to: \"https://{body}.example.test{{uri}}\"}}" if body
              else f"to: {{url: \"{url}\"}}")
    return f"""\
---
apiVersion: bosun/v1
kind: Route
metadata: {{name: {name}}}
spec:
  gateway: edge
  hosts: [{host}]
  path: {path}
  tls: "{tls}"
  {target}
"""


def test_four_steps_send_no_write_the_second_time(bosun: Bosun, caddy: CaddyProcess,
                                                  proxy: AdminProxy) -> None:
    http, https, upstream = free_ports(3)
    bosun.write(gateway_yaml(proxy.url, http, https,
                             route_yaml("web", "web.example.test", url=f"http://127.0.0.1:{upstream}")
                             + route_yaml("old", "old.example.test", tls="off", body="new")))
    first = bosun.plan()
    assert first.exit_code == 2, first.output
    assert "Plan: 3 to add, 0 to change, 0 to destroy." in first.output
    assert proxy.writes() == []

    applied = bosun.apply()
    assert applied.exit_code == 0, applied.output
    assert [(m, p, s) for m, p, s in proxy.writes()] == [("POST", "/config/", 200)]
    redirected = get_via(http, "old.example.test", "/a?b=1", tls=False)
    assert (redirected.status_code, redirected.headers["location"]) == (
        308, "https://new.example.test/a?b=1")

    second = bosun.plan()
    assert second.exit_code == 0, second.output
    assert "No changes." in second.output

    _, etag_before = caddy.config()
    reads_before = len(proxy.requests)
    again = bosun.apply()
    assert again.exit_code == 0, again.output
    assert "No changes." in again.output
    assert len(proxy.requests) > reads_before  # it did read Caddy's config
    assert proxy.writes() == [("POST", "/config/", 200)]  # and wrote nothing more
    assert caddy.config()[1] == etag_before


def test_routes_added_by_hand_survive_every_apply(bosun: Bosun, caddy: CaddyProcess) -> None:
    http, https, manual, upstream = free_ports(4)
    up = f"http://127.0.0.1:{upstream}"
    routes = route_yaml("a", "a.example.test", tls="off", body="aa")
    bosun.write(gateway_yaml(caddy.admin_url, http, https, routes))
    assert bosun.apply().exit_code == 0
    with caddy.admin() as admin:
        # a server of its own, and a route inside bosun's plain-HTTP server
        admin.post("/config/apps/http/servers/manual", json={
            "listen": [f"127.0.0.1:{manual}"],
            "routes": [{"handle": [{"handler": "static_response", "body": "manual server"}]}],
        }).raise_for_status()
        admin.post("/config/apps/http/servers/bosun-bosun-gw.edge.http/routes", json={
            "match": [{"host": ["hand.example.test"]}],
            "handle": [{"handler": "static_response", "body": "hand route"}],
        }).raise_for_status()

    def hand_routes_answer() -> None:
        assert httpx.get(f"http://127.0.0.1:{manual}/").text == "manual server"
        assert get_via(http, "hand.example.test", tls=False).text == "hand route"

    hand_routes_answer()
    # add a route, change one, then remove one: the hand routes stay each time
    for step in (
        routes + route_yaml("b", "b.example.test", url=up),
        route_yaml("a", "a.example.test", tls="off", body="changed")
        + route_yaml("b", "b.example.test", url=up),
        route_yaml("b", "b.example.test", path="/api", url=up),
    ):
        bosun.write(gateway_yaml(caddy.admin_url, http, https, step))
        result = bosun.apply()
        assert result.exit_code == 0, result.output
        hand_routes_answer()
        assert bosun.plan().exit_code == 0
    assert "Route/a delete" in result.output


def test_a_concurrent_change_is_detected_and_both_changes_kept(
        bosun: Bosun, caddy: CaddyProcess, proxy: AdminProxy) -> None:
    http, https, other = free_ports(3)

    def someone_else_writes() -> None:
        with caddy.admin() as admin:
            # Caddy has no http app yet: this creates it, with a server of theirs
            admin.put("/config/apps/http", json={"servers": {"concurrent": {
                "listen": [f"127.0.0.1:{other}"],
                "routes": [{"handle": [{"handler": "static_response", "body": "theirs"}]}],
            }}}).raise_for_status()

    proxy.before_write = someone_else_writes
    bosun.write(gateway_yaml(proxy.url, http, https,
                             route_yaml("mine", "mine.example.test", tls="off", body="ours")))
    result = bosun.apply()
    assert result.exit_code == 0, result.output
    # bosun's first write met the concurrent change (412), its second went through
    assert proxy.writes() == [("POST", "/config/", 412), ("POST", "/config/", 200)]
    config, _ = caddy.config()
    servers = config["apps"]["http"]["servers"]
    assert "concurrent" in servers and "bosun-bosun-gw.edge.http" in servers
    assert httpx.get(f"http://127.0.0.1:{other}/").text == "theirs"
    assert get_via(http, "mine.example.test", tls=False).status_code == 308
    assert bosun.plan().exit_code == 0


def test_with_caddy_stopped_plan_fails_clearly_and_touches_nothing(
        bosun: Bosun, caddy: CaddyProcess) -> None:
    http, https = free_ports(2)
    bosun.write(gateway_yaml(caddy.admin_url, http, https,
                             route_yaml("a", "a.example.test", tls="off", body="x")))
    assert bosun.apply().exit_code == 0
    before = sorted(p.relative_to(bosun.state_dir) for p in bosun.state_dir.rglob("*"))
    caddy.stop()

    planned = bosun.plan()
    assert planned.exit_code == 1
    message = (f"! Gateway/edge: caddy: cannot reach Caddy admin API at {caddy.admin_url}: "
               "connection refused (is Caddy running?)")
    assert message in planned.output
    assert "No changes." in planned.output  # nothing planned, above all no delete
    applied = bosun.apply()
    assert applied.exit_code == 1
    assert "Applying" not in applied.output
    # nothing else was touched: no embedded Caddy started, no state written
    assert EmbeddedCaddy(bosun.state_dir).pid() is None
    assert sorted(p.relative_to(bosun.state_dir) for p in bosun.state_dir.rglob("*")) == before
    assert not caddy.socket.exists() or not caddy.alive()


def test_internal_certificates_verify_against_caddys_root(bosun: Bosun,
                                                          caddy: CaddyProcess) -> None:
    http, https, upstream = free_ports(3)
    bosun.write(gateway_yaml(caddy.admin_url, http, https,
                             route_yaml("app", "app.example.test", url=f"http://127.0.0.1:{upstream}")))
    assert bosun.apply().exit_code == 0
    wait_for(lambda: Path(caddy.root_ca).exists(), 10, "Caddy's local CA")
    root = trusting(caddy.root_ca)
    # nothing listens upstream: Caddy answers 502 over TLS that verifies against its root
    response = wait_for(lambda: get_via(https, "app.example.test", tls=True, verify=root),
                        15, "a certificate for app.example.test")
    assert response.status_code == 502


def test_a_gateway_removed_from_the_repository_is_removed_from_its_caddy(
        bosun: Bosun, caddy: CaddyProcess) -> None:
    http, https, manual = free_ports(3)
    bosun.write(gateway_yaml(caddy.admin_url, http, https,
                             route_yaml("a", "a.example.test", tls="off", body="x")))
    assert bosun.apply().exit_code == 0
    with caddy.admin() as admin:
        admin.post("/config/apps/http/servers/manual", json={
            "listen": [f"127.0.0.1:{manual}"],
            "routes": [{"handle": [{"handler": "static_response", "body": "manual"}]}],
        }).raise_for_status()
    (bosun.repo / "gateway.yaml").unlink()  # nothing names that Caddy any more
    planned = bosun.plan()
    assert planned.exit_code == 2, planned.output
    assert "- Gateway/edge  (delete: removed from the repository)" in planned.output
    assert "- Route/a  (delete: gateway edge is removed here)" in planned.output
    assert bosun.apply().exit_code == 0
    config, _ = caddy.config()
    assert set(config["apps"]["http"]["servers"]) == {"manual"}
    assert httpx.get(f"http://127.0.0.1:{manual}/").text == "manual"
    assert bosun.plan().exit_code == 0
