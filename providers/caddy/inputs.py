"""From the desired state to builder inputs: which Caddy, which routes, which upstreams.

Part of the Caddy provider. Plan and apply both call ``gateway_inputs``: plan
with the containers observed, apply with containers read again just before
the write, so that an upstream that moved in between is sent as it is now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from providers.caddy import auth
from providers.caddy.build import GatewayInput, RouteInput
from providers.caddy.config import Owned
from providers.caddy.ids import HostGroup, Listener, entry_local
from providers.caddy.upstreams import HostContainers, host_of, resolve
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.kinds import Gateway, Host, Route
from reconciler.provider import SecretResolver


def gateways(desired: DesiredState) -> dict[str, Gateway]:
    return {r.document.name: r.document for r in desired.of_kind(Kind.GATEWAY)
            if isinstance(r.document, Gateway)}


def routes(desired: DesiredState, gateway: str | None = None) -> list[Route]:
    out = [r.document for r in desired.of_kind(Kind.ROUTE) if isinstance(r.document, Route)]
    if gateway is not None:
        out = [r for r in out if r.spec.gateway == gateway]
    return sorted(out, key=lambda r: r.name)


def endpoint_of(gateway: Gateway, embedded_url: str) -> str:
    return gateway.spec.admin or embedded_url


def gateway_input(desired: DesiredState, gateway: Gateway) -> GatewayInput:
    ca_root = gateway.spec.tls.ca_root
    if ca_root and not Path(ca_root).is_absolute():
        res = desired.get(ResourceRef(kind=Kind.GATEWAY, name=gateway.name))
        folder = Path(desired.root) / (res.manifest_dir if res else "")
        ca_root = str((folder / ca_root).resolve())
    return GatewayInput(name=gateway.name, spec=gateway.spec, ca_root=ca_root)


@dataclass
class RouteInputs:
    routes: list[RouteInput] = field(default_factory=list)
    unresolved: dict[str, str] = field(default_factory=dict)  # route -> why
    skipped: set[str] = field(default_factory=set)  # hosts unreadable: plan nothing


def route_inputs(
    desired: DesiredState, gateway: str, live: Owned, hosts: dict[str, HostContainers],
    unreadable_hosts: set[str], secrets: SecretResolver,
) -> RouteInputs:
    out = RouteInputs()
    stack_hosts: dict[str, Host | None] = {}
    for route in routes(desired, gateway):
        spec = route.spec
        upstream = None
        if spec.to is not None:
            host = None
            if spec.to.stack:
                if spec.to.stack not in stack_hosts:
                    stack_hosts[spec.to.stack] = host_of(desired, spec.to.stack)
                host = stack_hosts[spec.to.stack]
            if host is not None and host.name in unreadable_hosts:
                out.skipped.add(route.name)
                continue
            upstream, why = resolve(spec.to, hosts.get(host.name) if host else None)
            if upstream is None:
                out.unresolved[route.name] = why
        accounts: tuple[tuple[str, str], ...] = ()
        if spec.basic_auth is not None:
            users = secrets.values(spec.basic_auth.secret)
            listener = Listener.HTTP if spec.tls.value == "off" else Listener.HTTPS
            current: dict[str, str] = {}
            for group in HostGroup:
                current.update(auth.live_accounts(
                    live.get(entry_local(gateway, route.name, listener, group))))
            accounts = auth.accounts(users, current)
        out.routes.append(RouteInput(name=route.name, spec=spec, upstream=upstream,
                                     accounts=accounts))
    return out
