"""The Caddy config bosun wants: objects built from Gateways and Routes.

Part of the Caddy provider; no I/O. ``build_gateway`` turns one Gateway and its
Routes (with upstreams already resolved and basic-auth passwords already
hashed) into owned objects keyed by local id (see ``ids``). ``config.py``
places them into a live config.

Each Gateway owns two servers: TLS in Caddy is decided per server (a server
with TLS connection policies speaks TLS on every listener except the http
app's one global ``http_port``), so a gateway's plain-HTTP listener and its
HTTPS listener are two servers. The HTTP server has automatic HTTPS disabled
(it would otherwise turn TLS on for a listener that is not on ``http_port``);
it serves ``tls: off`` routes and redirects the others to HTTPS. The HTTPS
server keeps automatic HTTPS for certificate management, without its
redirects (they would bind port 80).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from providers.caddy.ids import (
    HostGroup,
    Listener,
    entry_local,
    full,
    policy_local,
    prefix,
    server_id,
)
from reconciler.model.common import split_host_port
from reconciler.model.kinds import GatewaySpec, Issuer, RouteSpec, RouteTLS

UNRESOLVED = "(known after apply)"


@dataclass(frozen=True)
class Upstream:
    """Where a route proxies to: ``host:port`` dials, plain or TLS."""

    dials: tuple[str, ...]
    tls: bool = False
    server_name: str | None = None


@dataclass(frozen=True)
class RouteInput:
    name: str
    spec: RouteSpec
    upstream: Upstream | None = None  # None with spec.to set: not resolvable now
    accounts: tuple[tuple[str, str], ...] = ()  # (user, bcrypt hash), sorted by user


@dataclass(frozen=True)
class GatewayInput:
    name: str
    spec: GatewaySpec
    ca_root: str | None = None  # absolute path of spec.tls.caRoot


@dataclass
class Built:
    """Owned objects of one gateway, keyed by local id, and notes for the plan."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)  # route name -> lines
    unresolved: set[str] = field(default_factory=set)  # routes without an upstream


def listen_port(address: str) -> int:
    host_part = "0.0.0.0" + address if address.startswith(":") else address
    return split_host_port(host_part)[1]


def path_matchers(path: str) -> list[str]:
    """``/api`` -> ``/api`` and ``/api/*``; ``/api/`` -> ``/api/*``; ``/`` -> none."""
    if path in ("", "/"):
        return []
    if path.endswith("/"):
        return [path + "*"]
    return [path, path + "/*"]


def _issuer(gw: GatewayInput, mode: RouteTLS) -> dict[str, Any]:
    if mode is RouteTLS.INTERNAL or gw.spec.tls.issuer is Issuer.INTERNAL:
        return {"module": "internal"}
    issuer: dict[str, Any] = {"module": "acme"}
    tls = gw.spec.tls
    if tls.ca:
        issuer["ca"] = tls.ca
    if tls.email:
        issuer["email"] = tls.email
    if gw.ca_root:
        issuer["trusted_roots_pem_files"] = [gw.ca_root]
    # The ACME server reaches the gateway's own listeners: tell Caddy which ports
    # they are, so it never tries to bind 80/443 itself for a challenge.
    issuer["challenges"] = {
        "http": {"alternate_port": listen_port(gw.spec.listen.http)},
        "tls-alpn": {"alternate_port": listen_port(gw.spec.listen.https)},
    }
    return issuer


def _servers(owner: str, gw: GatewayInput) -> dict[str, dict[str, Any]]:
    https = server_id(gw.name, Listener.HTTPS)
    http = server_id(gw.name, Listener.HTTP)
    return {
        https.local: {
            "@id": full(owner, https),
            "listen": [gw.spec.listen.https],
            "automatic_https": {"disable_redirects": True},
            "tls_connection_policies": [{}],
        },
        http.local: {
            "@id": full(owner, http),
            "listen": [gw.spec.listen.http],
            "automatic_https": {"disable": True},
        },
    }


def _target_handler(route: RouteInput, live_upstreams: list[Any] | None) -> dict[str, Any]:
    spec = route.spec
    if spec.redirect is not None:
        location = spec.redirect.to.replace("{uri}", "{http.request.uri}")
        return {"handler": "static_response", "status_code": spec.redirect.code,
                "headers": {"Location": [location]}}
    handler: dict[str, Any] = {"handler": "reverse_proxy"}
    up = route.upstream
    if up is not None:
        handler["upstreams"] = [{"dial": d} for d in up.dials]
        if up.tls:
            tls: dict[str, Any] = {}
            if up.server_name:
                tls["server_name"] = up.server_name
            handler["transport"] = {"protocol": "http", "tls": tls}
    elif live_upstreams is not None:
        # Not resolvable now (the stack is not running): keep what Caddy has.
        handler["upstreams"] = live_upstreams
    else:
        handler["upstreams"] = [{"dial": UNRESOLVED}]
    return handler


def _handlers(route: RouteInput,
              live_upstreams: list[Any] | None) -> list[dict[str, Any]]:
    spec = route.spec
    out: list[dict[str, Any]] = []
    if spec.basic_auth is not None:
        out.append({
            "handler": "authentication",
            "providers": {"http_basic": {
                "accounts": [{"username": u, "password": h} for u, h in route.accounts],
                "hash": {"algorithm": "bcrypt"},
                "realm": spec.basic_auth.realm,
            }},
        })
    if spec.headers:
        out.append({"handler": "headers",
                    "response": {"set": {k: [v] for k, v in sorted(spec.headers.items())}}})
    out.append(_target_handler(route, live_upstreams))
    return out


def _redirect_to_https(gw: GatewayInput) -> dict[str, Any]:
    port = listen_port(gw.spec.listen.https)
    host = "{http.request.host}" if port == 443 else f"{{http.request.host}}:{port}"
    return {"handler": "static_response", "status_code": 308,
            "headers": {"Location": [f"https://{host}{{http.request.uri}}"]}}


def host_groups(hosts: Iterable[str]) -> dict[HostGroup, list[str]]:
    exact: set[str] = set()
    wild: set[str] = set()
    for host in hosts:
        (wild if host.startswith("*.") else exact).add(host)
    out: dict[HostGroup, list[str]] = {}
    if exact:
        out[HostGroup.EXACT] = sorted(exact)
    if wild:
        out[HostGroup.WILD] = sorted(wild)
    return out


def _live_upstreams(live: dict[str, dict[str, Any]], local: str) -> list[Any] | None:
    entry = live.get(local)
    if entry is None:
        return None
    for handler in entry.get("handle") or []:
        if isinstance(handler, dict) and handler.get("handler") == "reverse_proxy":
            ups = handler.get("upstreams")
            return ups if isinstance(ups, list) else None
    return None


def build_gateway(
    owner: str, gw: GatewayInput, routes: Sequence[RouteInput],
    live: dict[str, dict[str, Any]] | None = None,
) -> Built:
    """Owned objects for ``gw`` and ``routes``; ``live`` (owned objects read from
    Caddy) supplies the upstreams of routes that cannot be resolved now."""
    live = live or {}
    built = Built()
    built.objects.update(_servers(owner, gw))
    head = prefix(owner)
    to_https = _redirect_to_https(gw)
    issuers = {mode: _issuer(gw, mode) for mode in (RouteTLS.AUTO, RouteTLS.INTERNAL)}
    claimed: dict[str, str] = {}
    for route in sorted(routes, key=lambda r: r.name):
        spec = route.spec
        serving = Listener.HTTP if spec.tls is RouteTLS.OFF else Listener.HTTPS
        paths = path_matchers(spec.path)
        for group, hosts in host_groups(spec.hosts).items():
            match: dict[str, Any] = {"host": hosts}
            if paths:
                match["path"] = paths
            served = entry_local(gw.name, route.name, serving, group)
            live_ups = _live_upstreams(live, served)
            if spec.to is not None and route.upstream is None:
                if live_ups is None:
                    built.unresolved.add(route.name)
                built.notes.setdefault(route.name, []).append(
                    "upstream not resolvable now: " + (
                        "kept as on Caddy" if live_ups is not None else "resolved at apply"))
            built.objects[served] = {
                "@id": head + served, "match": [match], "handle": _handlers(route, live_ups),
                "terminal": True,
            }
            if serving is Listener.HTTPS:
                redirect = entry_local(gw.name, route.name, Listener.HTTP, group)
                built.objects[redirect] = {
                    "@id": head + redirect, "match": [match], "handle": [to_https],
                    "terminal": True,
                }
        if spec.tls is RouteTLS.OFF:
            continue
        subjects = []
        for host in sorted(set(spec.hosts)):
            if host in claimed:
                built.notes.setdefault(route.name, []).append(
                    f"{host}: certificate policy of Route/{claimed[host]} applies")
                continue
            claimed[host] = route.name
            subjects.append(host)
        if subjects:
            policy = policy_local(gw.name, route.name)
            built.objects[policy] = {
                "@id": head + policy, "subjects": subjects, "issuers": [issuers[spec.tls]],
            }
        if gw.spec.tls.issuer is Issuer.ACME and spec.tls is RouteTLS.AUTO and any(
                h.startswith("*.") for h in subjects):
            built.notes.setdefault(route.name, []).append(
                "wildcard hosts need the ACME DNS-01 challenge, which stock Caddy lacks")
    return built
