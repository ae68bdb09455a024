"""Engine selection and the bulk read of one host: the compose provider's observe.

observe: **hosts** -> plan

Which hosts to read: every Host a desired Stack is placed on, every Host
manifest, and every host the stack store remembers deploying to (so that a
stack removed from the repository is still found and pruned). Each host is
read with a handful of list calls, whatever the number of stacks: one
container list filtered on Compose's project label, bosun's networks and
volumes (filtered on ``bosun.owner``), the local image list; on a swarm host
the stack services and their tasks. Hosts are read concurrently; an
unreachable engine becomes a failure for that host only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker.errors

from providers.compose.observed import (
    OWNER,
    PROJECT,
    RESOURCE,
    STACK_NAMESPACE,
    ComposeObservation,
    Container,
    HostState,
    Network,
    Project,
    SwarmService,
    SwarmTask,
    Volume,
)
from providers.engine import EngineClients, engine_errors, engine_url
from reconciler.errors import BosunError
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.kinds import Engine, Host, HostMode, Stack


def stack_host(stack: Stack) -> str:
    return stack.spec.host or "local"


def desired_hosts(desired: DesiredState, remembered: Iterable[str] = ()) -> dict[str, Host]:
    """Hosts to read: explicit Host manifests, hosts stacks use, remembered deployments.

    The implicit ``local`` Host is read only when a stack uses it or bosun
    remembers deploying there: a repository without stacks needs no engine.
    """
    declared: dict[str, tuple[Host, bool]] = {}
    for res in desired.of_kind(Kind.HOST):
        if isinstance(res.document, Host):
            declared[res.document.name] = (res.document, res.position.file != "(implicit)")
    wanted = set(remembered)
    for res in desired.of_kind(Kind.STACK):
        if isinstance(res.document, Stack):
            wanted.add(stack_host(res.document))
    hosts: dict[str, Host] = {}
    for name, (host, explicit) in sorted(declared.items()):
        if explicit or name in wanted:
            hosts[name] = host
    return hosts


def read_host(clients: EngineClients, host: Host, owner: str) -> HostState:
    """One pass over an engine; raises ``ObserveError`` when it cannot be read."""
    ref = ResourceRef(kind=Kind.HOST, name=host.name)
    client = clients.get(host)
    with engine_errors(ref, reading=True):
        if host.spec.mode is HostMode.SWARM:
            return _read_swarm(client, host, owner)
        containers = client.containers(all=True, filters={"label": PROJECT})
        networks = client.networks(filters={"label": f"{OWNER}={owner}"})
        volumes = (client.volumes(filters={"label": f"{OWNER}={owner}"}) or {}).get("Volumes")
        images = client.images()
        # Podman's container list carries no health: inspect bosun's running ones.
        inspected = inspect_running(client, containers, owner) \
            if host.spec.engine is Engine.PODMAN else None
    return build_host_state(host, containers, networks, volumes or [], images,
                            inspected=inspected)


def inspect_running(client: Any, containers: list[dict[str, Any]],
                    owner: str | None = None) -> dict[str, dict[str, Any]]:
    """Inspect data of running containers (of ``owner``'s stacks when given)."""
    out: dict[str, dict[str, Any]] = {}
    for c in containers:
        labels = c.get("Labels") or {}
        if owner is not None and labels.get(OWNER) != owner:
            continue
        if str(c.get("State", "")).lower() in ("running", "restarting") or owner is None:
            try:
                out[c["Id"]] = client.inspect_container(c["Id"])
            except docker.errors.NotFound:
                continue  # removed between the list and the inspect (a recreate)
    return out


def build_host_state(
    host: Host, containers: list[dict[str, Any]], networks: list[dict[str, Any]],
    volumes: list[dict[str, Any]], images: list[dict[str, Any]],
    services: list[dict[str, Any]] | None = None, tasks: list[dict[str, Any]] | None = None,
    inspected: dict[str, dict[str, Any]] | None = None,
) -> HostState:
    """Group what the API answered into projects (also used on saved engine output)."""
    by_project: dict[str, dict[str, list[Any]]] = defaultdict(
        lambda: {"containers": [], "networks": [], "volumes": [], "services": []}
    )
    for raw in containers:
        c = Container.from_api(raw, (inspected or {}).get(str(raw.get("Id"))))
        if c.project:
            by_project[c.project]["containers"].append(c)
    for raw in networks:
        n = Network.from_api(raw)
        project = n.labels.get(PROJECT) or n.labels.get(STACK_NAMESPACE) \
            or _stack_name(n.labels.get(RESOURCE))
        if project:
            by_project[project]["networks"].append(n)
    vols = tuple(Volume.from_api(v) for v in volumes)
    for v in vols:
        project = v.labels.get(PROJECT) or v.labels.get(STACK_NAMESPACE) \
            or _stack_name(v.labels.get(RESOURCE))
        if project:
            by_project[project]["volumes"].append(v)
    parsed_tasks = [SwarmTask.from_api(t) for t in tasks or []]
    for raw in services or []:
        s = SwarmService.from_api(raw, parsed_tasks)
        if s.namespace:
            by_project[s.namespace]["services"].append(s)
    image_ids: dict[str, str] = {}
    for img in images:
        for tag in img.get("RepoTags") or []:
            if tag and tag != "<none>:<none>":
                image_ids[str(tag)] = str(img.get("Id", ""))
    projects = {
        name: Project(
            name=name,
            containers=tuple(sorted(parts["containers"], key=lambda c: (c.service, c.number))),
            networks=tuple(sorted(parts["networks"], key=lambda n: n.name)),
            volumes=tuple(sorted(parts["volumes"], key=lambda v: v.name)),
            services=tuple(sorted(parts["services"], key=lambda s: s.name)),
        )
        for name, parts in sorted(by_project.items())
    }
    return HostState(
        name=host.name, engine=host.spec.engine.value, url=engine_url(host),
        mode=host.spec.mode.value, projects=projects, volumes=vols, images=image_ids,
    )


def _stack_name(resource: str | None) -> str | None:
    if resource and resource.startswith("Stack/"):
        return resource.removeprefix("Stack/")
    return None


def _read_swarm(client: Any, host: Host, owner: str) -> HostState:
    info = client.info()
    if (info.get("Swarm") or {}).get("LocalNodeState") != "active":
        raise BosunError(
            f"host {host.name} is declared mode: swarm but its engine is not a swarm manager"
        )
    services = client.services(filters={"label": STACK_NAMESPACE})
    tasks = client.tasks(filters={"label": STACK_NAMESPACE}) if services else []
    networks = client.networks(filters={"label": f"{OWNER}={owner}"})
    volumes = (client.volumes(filters={"label": f"{OWNER}={owner}"}) or {}).get("Volumes")
    images = client.images()
    # Task containers of a stack also carry the project-free labels; the
    # service list is what plan compares, containers serve health only.
    return build_host_state(host, [], networks, volumes or [], images, services, tasks)


def observe_hosts(
    clients: EngineClients, hosts: dict[str, Host], owner: str
) -> ComposeObservation:
    """Read every host concurrently; a host that fails is a failure, not an empty host."""
    states: dict[str, HostState] = {}
    errors: dict[str, str] = {}
    if not hosts:
        return ComposeObservation()

    def one(host: Host) -> tuple[str, HostState | None, str | None]:
        try:
            return host.name, read_host(clients, host, owner), None
        except BosunError as exc:
            message = str(getattr(exc, "message", exc))
            message = message.replace("engine not reachable: engine not reachable",
                                      "engine not reachable")
            where = f"{host.spec.engine.value} engine at {engine_url(host)}"
            if where not in message:
                message = f"cannot read {where}: {message}"
            return host.name, None, message

    with ThreadPoolExecutor(max_workers=min(8, len(hosts))) as pool:
        for name, state, error in pool.map(one, hosts.values()):
            if state is not None:
                states[name] = state
            else:
                errors[name] = error or "unknown error"
    return ComposeObservation(hosts=states, host_errors=errors)
