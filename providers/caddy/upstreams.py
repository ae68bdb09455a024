"""Where routes send requests: stack containers or URLs.

Part of the Caddy provider. ``observe_containers`` reads, per Host, one
labelled container list (``com.docker.compose.project`` /
``com.docker.compose.service``) through ``providers.engine``; ``resolve``
turns a Route's ``to`` into dial addresses: the port published on the host
when there is one (stable while the container is replaced), else the
container's address on its network.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field

from providers.caddy.build import Upstream
from providers.engine import EngineClients, call, engine_url
from reconciler.errors import ObserveError
from reconciler.model.common import Frozen, Kind, ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.kinds import Host, RouteTarget, Stack

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
_ANY_ADDRESS = ("", "0.0.0.0", "::")


class PublishedPort(Frozen):
    private: int
    public: int
    ip: str = ""


class ServiceContainer(Frozen):
    name: str
    private_ports: tuple[int, ...] = ()
    published: tuple[PublishedPort, ...] = ()
    addresses: tuple[str, ...] = Field(default=(), description="IPs, by network name.")


class HostContainers(Frozen):
    """Running containers of the wanted stacks on one Host."""

    host: str
    address: str = Field(description="How this machine reaches ports published on the host.")
    services: dict[str, tuple[ServiceContainer, ...]] = Field(
        default_factory=dict, description="'stack/service' -> its running containers.")


def host_of(desired: DesiredState, stack: str) -> Host | None:
    res = desired.get(ResourceRef(kind=Kind.STACK, name=stack))
    if res is None or not isinstance(res.document, Stack):
        return None
    name = res.document.spec.host or desired.repository.spec.defaults.stack.host
    host = desired.get(ResourceRef(kind=Kind.HOST, name=name))
    if host is not None and isinstance(host.document, Host):
        return host.document
    if name == "local":
        return Host.model_validate({"apiVersion": "bosun/v1", "metadata": {"name": "local"}})
    return None


def published_address(host: Host) -> str:
    """The address of the engine's machine, for ports published on all interfaces."""
    parts = urlsplit(engine_url(host))
    if parts.scheme in ("tcp", "ssh", "http", "https") and parts.hostname:
        return parts.hostname
    return "127.0.0.1"


def _container(raw: dict[str, Any]) -> ServiceContainer:
    names = raw.get("Names") or [raw.get("Id", "?")[:12]]
    private: set[int] = set()
    published: set[tuple[int, int, str]] = set()
    for port in raw.get("Ports") or []:
        if (port.get("Type") or "tcp") != "tcp" or not port.get("PrivatePort"):
            continue
        private.add(int(port["PrivatePort"]))
        if port.get("PublicPort"):
            published.add((int(port["PrivatePort"]), int(port["PublicPort"]), port.get("IP", "")))
    networks = ((raw.get("NetworkSettings") or {}).get("Networks") or {})
    addresses = tuple(
        net["IPAddress"] for _, net in sorted(networks.items())
        if isinstance(net, dict) and net.get("IPAddress")
    )
    return ServiceContainer(
        name=str(names[0]).lstrip("/"),
        private_ports=tuple(sorted(private)),
        published=tuple(PublishedPort(private=a, public=b, ip=c) for a, b, c in sorted(published)),
        addresses=addresses,
    )


def observe_containers(
    desired: DesiredState, targets: Iterable[RouteTarget], engines: EngineClients,
) -> tuple[dict[str, HostContainers], list[tuple[ResourceRef | None, str]]]:
    """One container list per Host for the stacks that ``targets`` name.

    Returns the containers by Host name, and the Hosts that could not be read.
    """
    wanted: dict[str, tuple[Host, set[str]]] = {}
    for target in targets:
        if not target.stack:
            continue
        host = host_of(desired, target.stack)
        if host is None:
            continue
        wanted.setdefault(host.name, (host, set()))[1].add(target.stack)
    out: dict[str, HostContainers] = {}
    failures: list[tuple[ResourceRef | None, str]] = []
    for name, (host, stacks) in sorted(wanted.items()):
        ref = ResourceRef(kind=Kind.HOST, name=name)
        # One stack: filter on its project; several: on the label's presence.
        label = f"{PROJECT_LABEL}={next(iter(stacks))}" if len(stacks) == 1 else PROJECT_LABEL
        try:
            client = engines.get(host)
            raws: list[dict[str, Any]] = call(
                functools.partial(client.containers, filters={"label": label}), ref,
                reading=True)
        except ObserveError as exc:
            failures.append((ref, f"cannot list containers: {exc.message}"))
            continue
        out[name] = HostContainers(host=name, address=published_address(host),
                                   services=index_containers(raws, stacks))
    return out, failures


def index_containers(raws: Iterable[dict[str, Any]],
                     stacks: Iterable[str]) -> dict[str, tuple[ServiceContainer, ...]]:
    """'stack/service' -> running containers, from an engine's container list."""
    wanted = set(stacks)
    services: dict[str, list[ServiceContainer]] = defaultdict(list)
    for raw in raws:
        labels = raw.get("Labels") or {}
        stack, service = labels.get(PROJECT_LABEL), labels.get(SERVICE_LABEL)
        if stack in wanted and service and raw.get("State") in (None, "running"):
            services[f"{stack}/{service}"].append(_container(raw))
    return {k: tuple(sorted(v, key=lambda c: c.name)) for k, v in sorted(services.items())}


def _dial(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@functools.lru_cache(maxsize=4096)
def from_url(url: str) -> Upstream:
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
        name = None
    except ValueError:
        name = host if tls else None
    return Upstream(dials=(_dial(host, port),), tls=tls, server_name=name)


def resolve(
    target: RouteTarget, containers: HostContainers | None,
) -> tuple[Upstream | None, str]:
    """Dials for ``target``, or None and the reason it cannot be resolved now."""
    if target.url is not None:
        return from_url(target.url), ""
    key = f"{target.stack}/{target.service}"
    found = containers.services.get(key, ()) if containers is not None else ()
    if not found:
        return None, f"stack {target.stack} has no running container of service {target.service}"
    dials: list[str] = []
    for box in found:
        port = target.port
        if port is None:
            ports = sorted({p.private for p in box.published}) or list(box.private_ports)
            if len(ports) != 1:
                return None, (f"container {box.name} has {len(ports) or 'no'} ports; "
                              "set to.port")
            port = ports[0]
        published = [p for p in box.published if p.private == port]
        if published:
            for p in published:
                host = containers.address if p.ip in _ANY_ADDRESS else p.ip  # type: ignore[union-attr]
                dials.append(_dial(host, p.public))
        elif box.addresses:
            dials.append(_dial(box.addresses[0], port))
        else:
            return None, f"container {box.name} publishes no port {port} and has no address"
    return Upstream(dials=tuple(sorted(set(dials)))), ""
