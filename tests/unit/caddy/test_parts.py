"""Smaller parts of the Caddy provider: upstreams, placement check, health targets, auth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from providers.caddy import auth
from providers.caddy.config import extract, in_place, render
from providers.caddy.health import probe_host, target_address
from providers.caddy.ids import Listener
from providers.caddy.upstreams import HostContainers, index_containers, resolve
from reconciler.model.kinds import Gateway, Route, RouteTarget
from reconciler.model.sensitive import Sensitive

CASES = Path(__file__).resolve().parents[2] / "cases" / "caddy"


def _containers() -> HostContainers:
    raws = json.loads((CASES / "fresh" / "containers.json").read_text())
    return HostContainers(host="local", address="127.0.0.1",
                          services=index_containers(raws, ["shop"]))


def test_upstreams_from_saved_docker_output() -> None:
    boxes = _containers()
    published, _ = resolve(RouteTarget(stack="shop", service="web", port=8080), boxes)
    assert published is not None and published.dials == ("127.0.0.1:32770",)
    # no port given: the one published port
    implicit, _ = resolve(RouteTarget(stack="shop", service="web"), boxes)
    assert implicit == published
    # a port not published: the container's address on its network
    network, _ = resolve(RouteTarget(stack="shop", service="api", port=3000), boxes)
    assert network is not None and network.dials == ("172.17.0.2:3000",)
    missing, why = resolve(RouteTarget(stack="shop", service="worker", port=1), boxes)
    assert missing is None and why == "stack shop has no running container of service worker"
    other, why = resolve(RouteTarget(stack="shop", service="web"), None)
    assert other is None and "no running container" in why


def test_url_upstreams() -> None:
    up, _ = resolve(RouteTarget(url="https://api.example.test"), None)
    assert up is not None and (up.dials, up.tls, up.server_name) == (
        ("api.example.test:443",), True, "api.example.test")
    up, _ = resolve(RouteTarget(url="http://[::1]:8080/"), None)
    assert up is not None and (up.dials, up.tls) == (("[::1]:8080",), False)


def _foreign() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CASES / "foreign" / "expected.json").read_text())
    return loaded


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False))
def test_placement_check_agrees_with_render(rnd: Any) -> None:
    config = _foreign()
    for server in config["apps"]["http"]["servers"].values():
        if rnd.random() < 0.7:
            rnd.shuffle(server["routes"])
    if rnd.random() < 0.5:
        rnd.shuffle(config["apps"]["tls"]["automation"]["policies"])
    expected = render(config, "bosun", extract(config, "bosun")) == config
    assert in_place(config, "bosun") is expected


def test_placement_check_on_rendered_configs() -> None:
    config = _foreign()
    assert in_place(config, "bosun")
    config["apps"]["pki"]["certificate_authorities"]["local"]["install_trust"] = True
    assert not in_place(config, "bosun")


def _route(spec: dict[str, Any]) -> Route:
    return Route.model_validate({"apiVersion": "bosun/v1", "kind": "Route",
                                 "metadata": {"name": "r"}, "spec": spec})


def test_health_targets() -> None:
    route = _route({"gateway": "g", "hosts": ["*.apps.example.test", "b.example.test"],
                    "to": {"url": "http://127.0.0.1:1"}})
    assert probe_host(route) == "b.example.test"
    wild = _route({"gateway": "g", "hosts": ["*.apps.example.test"],
                   "to": {"url": "http://127.0.0.1:1"}})
    assert probe_host(wild) == "bosun-health.apps.example.test"
    local = Gateway.model_validate({"apiVersion": "bosun/v1", "kind": "Gateway",
                                    "metadata": {"name": "g"}, "spec": {}})
    assert target_address(local, Listener.HTTPS, "unix:///x.sock") == ("127.0.0.1", 443)
    remote = Gateway.model_validate({
        "apiVersion": "bosun/v1", "kind": "Gateway", "metadata": {"name": "g"},
        "spec": {"admin": "http://10.1.2.3:2019", "listen": {"http": ":8080"}}})
    assert target_address(remote, Listener.HTTP, "unix:///x.sock") == ("10.1.2.3", 8080)


def test_a_matching_hash_is_kept_and_a_new_one_made_otherwise() -> None:
    first = auth.accounts({"ops": Sensitive("pw")}, {})
    (user, hashed), = first
    assert user == "ops" and hashed.startswith("$2b$") and "pw" not in hashed
    assert auth.accounts({"ops": Sensitive("pw")}, {"ops": hashed}) == first
    changed = auth.accounts({"ops": Sensitive("other")}, {"ops": hashed})
    assert changed[0][1] != hashed
