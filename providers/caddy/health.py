"""Health: a Route is Healthy when a request through Caddy reaches its upstream.

Part of the Caddy provider (health). The request goes to the gateway's own
listener (HTTPS for ``tls: auto|internal``, plain HTTP for ``tls: off``) with
the route's host in the Host header and as TLS SNI, to ``health.path``; the
answer must be one of ``health.expectStatus`` (a redirect route expects its
redirect code). Certificates are not verified here: this asks whether the
route works, not whether a client trusts it. A 502/503/504 from Caddy means
it could not reach the upstream.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx

from providers.caddy import inputs
from providers.caddy.config import extract
from providers.caddy.embedded import EmbeddedCaddy
from providers.caddy.ids import Listener, server_id
from providers.caddy.planner import by_resource
from providers.caddy.state import CaddyObservation
from reconciler.errors import BosunError
from reconciler.model.common import Kind, ResourceRef, split_host_port
from reconciler.model.desired import DesiredState
from reconciler.model.kinds import Gateway, Route, RouteTLS
from reconciler.model.status import Health, HealthState
from reconciler.provider import ProviderContext

TIMEOUT = 5.0
_LOOPBACK = {"", "0.0.0.0", "::", "localhost"}


def probe_host(route: Route) -> str:
    """A host name the route answers: its first exact host, or one under a wildcard."""
    exact = [h for h in route.spec.hosts if not h.startswith("*.")]
    if exact:
        return sorted(exact)[0]
    return "bosun-health." + sorted(route.spec.hosts)[0][2:]


def target_address(gateway: Gateway, listener: Listener, embedded_url: str) -> tuple[str, int]:
    """Where the gateway's listener can be reached from here."""
    listen = gateway.spec.listen.https if listener is Listener.HTTPS else gateway.spec.listen.http
    host, port = split_host_port("0.0.0.0" + listen if listen.startswith(":") else listen)
    if host in _LOOPBACK:
        admin = gateway.spec.admin or embedded_url
        parts = urlsplit(admin)
        host = parts.hostname if parts.scheme in ("http", "https") and parts.hostname else ""
        if host in _LOOPBACK:
            host = "127.0.0.1"
    return host, port


def check_route(route: Route, gateway: Gateway, embedded_url: str,
                credentials: tuple[str, str] | None = None) -> Health:
    spec = route.spec
    listener = Listener.HTTP if spec.tls is RouteTLS.OFF else Listener.HTTPS
    address, port = target_address(gateway, listener, embedded_url)
    name = probe_host(route)
    scheme = "http" if listener is Listener.HTTP else "https"
    default = 80 if scheme == "http" else 443
    netloc = f"[{address}]" if ":" in address else address
    url = f"{scheme}://{netloc}:{port}{spec.health.path}"
    expected = list(spec.health.expect_status)
    if spec.redirect is not None and expected == [200]:
        expected = [spec.redirect.code]
    headers = {"Host": name if port == default else f"{name}:{port}"}
    try:
        with httpx.Client(verify=False, timeout=TIMEOUT, follow_redirects=False,  # noqa: S501
                          auth=credentials) as client:
            response = client.get(url, headers=headers, extensions={"sni_hostname": name})
    except httpx.ConnectError as exc:
        text = str(exc)
        if "SSL" in text or "TLS" in text or "certificate" in text.lower():
            return Health(state=HealthState.PROGRESSING, reason="NoCertificate",
                          message=f"TLS handshake for {name} failed: {text[:200]}")
        return Health(state=HealthState.DEGRADED, reason="GatewayUnreachable",
                      message=f"nothing answers at {address}:{port}: {text[:200]}")
    except httpx.HTTPError as exc:
        return Health(state=HealthState.DEGRADED, reason="GatewayError",
                      message=f"{type(exc).__name__}: {str(exc)[:200]}")
    if response.status_code in expected:
        return Health(state=HealthState.HEALTHY, reason="Reachable",
                      message=f"{url} for {name}: HTTP {response.status_code}")
    if response.status_code in (502, 503, 504):
        return Health(state=HealthState.DEGRADED, reason="UpstreamUnreachable",
                      message=f"Caddy could not reach the upstream (HTTP {response.status_code})")
    return Health(state=HealthState.DEGRADED, reason="UnexpectedStatus",
                  message=f"HTTP {response.status_code} for {name}{spec.health.path}, "
                          f"expected {', '.join(map(str, expected))}")


def _credentials(route: Route, ctx: ProviderContext) -> tuple[str, str] | None:
    if route.spec.basic_auth is None:
        return None
    users = ctx.secrets.values(route.spec.basic_auth.secret)
    user = sorted(users)[0]
    return user, users[user].reveal()


def health(desired: DesiredState, observed: CaddyObservation,
           ctx: ProviderContext) -> dict[ResourceRef, Health]:
    embedded_url = EmbeddedCaddy(ctx.state_dir).url
    gateways = inputs.gateways(desired)
    out: dict[ResourceRef, Health] = {}
    present: dict[str, set[ResourceRef]] = {}
    for name, gateway in gateways.items():
        ref = ResourceRef(kind=Kind.GATEWAY, name=name)
        url = inputs.endpoint_of(gateway, embedded_url)
        state = observed.endpoints.get(url)
        if state is None:
            why = observed.unreadable_endpoints.get(url, "not observed")
            out[ref] = Health(state=HealthState.UNKNOWN, reason="Unreadable", message=why)
            continue
        owned = extract(state.config, ctx.owner)
        present[name] = {r for (g, r) in by_resource(owned) if g == name}
        if not state.running:
            out[ref] = Health(state=HealthState.MISSING, reason="NotRunning",
                              message="the embedded Caddy is not running")
        elif server_id(name, Listener.HTTPS).local not in owned:
            out[ref] = Health(state=HealthState.MISSING, reason="NotApplied")
        else:
            out[ref] = Health(state=HealthState.HEALTHY, reason="Serving")
    probes: dict[ResourceRef, tuple[Route, Gateway, tuple[str, str] | None]] = {}
    for route in inputs.routes(desired):
        ref = ResourceRef(kind=Kind.ROUTE, name=route.name)
        gw_health = out[ResourceRef(kind=Kind.GATEWAY, name=route.spec.gateway)]
        if gw_health.state is not HealthState.HEALTHY:
            out[ref] = Health(state=gw_health.state if gw_health.state is HealthState.UNKNOWN
                              else HealthState.MISSING, reason="GatewayNotServing",
                              message=gw_health.message or gw_health.reason)
            continue
        if ref not in present.get(route.spec.gateway, set()):
            out[ref] = Health(state=HealthState.MISSING, reason="NotApplied")
            continue
        try:
            credentials = _credentials(route, ctx)
        except BosunError as exc:
            out[ref] = Health(state=HealthState.UNKNOWN, reason="NoCredentials",
                              message=str(exc))
            continue
        probes[ref] = (route, gateways[route.spec.gateway], credentials)
    if probes:
        with ThreadPoolExecutor(max_workers=min(8, len(probes))) as pool:
            futures = {ref: pool.submit(check_route, r, g, embedded_url, c)
                       for ref, (r, g, c) in probes.items()}
            for ref, future in futures.items():
                out[ref] = future.result()
    return out
