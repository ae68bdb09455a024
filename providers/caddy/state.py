"""What the Caddy provider observes: each admin endpoint's config, and containers.

Part of the Caddy provider (observe). One ``GET /config/`` per admin endpoint
(several Gateways may share one Caddy), one labelled container list per Host
whose stacks routes point at. An endpoint that cannot be read is a failure
reported in the plan, never an empty config; the embedded Caddy when it is not
running is read from the config it will resume with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field

from providers.caddy import inputs
from providers.caddy.client import AdminClient
from providers.caddy.embedded import EmbeddedCaddy
from providers.caddy.upstreams import HostContainers, observe_containers
from providers.engine import EngineClients
from reconciler.errors import ObserveError, PermanentError
from reconciler.model.common import Frozen, Kind, ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.digest import digest

ENDPOINTS_FILE = "endpoints.json"


class EndpointState(Frozen):
    url: str
    embedded: bool = False
    running: bool = True
    etag: str | None = None
    digest: str = Field(description="Caddy's ETag, or a digest of the resumable config.")
    config: dict[str, Any] = Field(default_factory=dict, exclude=True)


class CaddyObservation(Frozen):
    endpoints: dict[str, EndpointState] = Field(default_factory=dict)
    hosts: dict[str, HostContainers] = Field(default_factory=dict)
    unreadable_endpoints: dict[str, str] = Field(default_factory=dict)
    unreadable_hosts: dict[str, str] = Field(default_factory=dict)
    problems: tuple[tuple[ResourceRef | None, str], ...] = ()

    def failures(self) -> list[tuple[ResourceRef | None, str]]:
        return list(self.problems)


# -- endpoints bosun has written to (to find what to delete later) -------------


def _endpoints_path(state_dir: Path) -> Path:
    return state_dir / "caddy" / ENDPOINTS_FILE


def remembered_endpoints(state_dir: Path) -> set[str]:
    try:
        data = json.loads(_endpoints_path(state_dir).read_text())
    except (FileNotFoundError, ValueError):
        return set()
    return {u for u in data if isinstance(u, str)} if isinstance(data, list) else set()


def remember_endpoint(state_dir: Path, url: str, owns_objects: bool) -> None:
    known = remembered_endpoints(state_dir)
    updated = (known | {url}) if owns_objects else (known - {url})
    if updated == known:
        return
    path = _endpoints_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(sorted(updated), indent=1) + "\n")
    tmp.replace(path)


# -- reading -----------------------------------------------------------------


def read_endpoint(url: str, embedded: EmbeddedCaddy, ref: ResourceRef | None) -> EndpointState:
    if url == embedded.url and not embedded.running():
        try:
            config = embedded.resumable_config()
        except PermanentError as exc:
            raise ObserveError(exc.message, ref) from None
        return EndpointState(url=url, embedded=True, running=False, config=config,
                             digest=digest(config))
    with AdminClient(url, ref=ref) as client:
        snap = client.read()
    return EndpointState(url=url, embedded=url == embedded.url, etag=snap.etag,
                         digest=snap.etag, config=snap.config)


def observe(desired: DesiredState, state_dir: Path, engines: EngineClients) -> CaddyObservation:
    embedded = EmbeddedCaddy(state_dir)
    users: dict[str, list[str]] = {}
    for gateway in inputs.gateways(desired).values():
        users.setdefault(inputs.endpoint_of(gateway, embedded.url), []).append(gateway.name)
    wanted = set(users) | remembered_endpoints(state_dir)
    if embedded.exists():
        wanted.add(embedded.url)
    endpoints: dict[str, EndpointState] = {}
    unreadable: dict[str, str] = {}
    problems: list[tuple[ResourceRef | None, str]] = []
    for url in sorted(wanted):
        names = sorted(users.get(url, []))
        ref = ResourceRef(kind=Kind.GATEWAY, name=names[0]) if len(names) == 1 else None
        try:
            endpoints[url] = read_endpoint(url, embedded, ref)
        except ObserveError as exc:
            unreadable[url] = exc.message
            if names:
                for name in names:
                    problems.append((ResourceRef(kind=Kind.GATEWAY, name=name), exc.message))
            else:
                problems.append((None, f"{exc.message} (bosun wrote to it before; its "
                                       "objects cannot be checked for deletion)"))
    gateways = inputs.gateways(desired)
    targets = [r.spec.to for r in inputs.routes(desired)
               if r.spec.to is not None and r.spec.to.stack
               and inputs.endpoint_of(gateways[r.spec.gateway], embedded.url) in endpoints]
    hosts, failures = observe_containers(desired, targets, engines)
    unreadable_hosts = {ref.name: message for ref, message in failures if ref is not None}
    problems.extend(failures)
    return CaddyObservation(endpoints=endpoints, hosts=hosts, unreadable_endpoints=unreadable,
                            unreadable_hosts=unreadable_hosts, problems=tuple(problems))
