"""What people see of a stack beyond its health: services and containers.

observe -> health -> **describe** -> record (status, API, dashboard)

From the same observation as health: per service the image, the replicas
wanted and running, the published ports; per container its state and health.
Never an environment value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from providers.compose.hosts import stack_host
from providers.compose.observed import ComposeObservation, Project
from providers.compose.render import RenderFacts
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.kinds import Stack, StackState
from reconciler.model.status import ContainerInfo, ResourceDetails, ServiceInfo


def _ports(service: dict[str, Any]) -> tuple[str, ...]:
    out: list[str] = []
    for port in service.get("ports") or []:
        if isinstance(port, dict) and port.get("published"):
            host = f"{port['host_ip']}:" if port.get("host_ip") else ""
            out.append(f"{host}{port['published']}->{port.get('target')}"
                       f"/{port.get('protocol', 'tcp')}")
    return tuple(out)


def describe_project(project: Project, facts: RenderFacts | None) -> ResourceDetails:
    model_services = (facts.model.get("services") or {}) if facts is not None else {}
    names = sorted(set(model_services) | {c.service for c in project.containers if c.service}
                   | {s.service for s in project.services})
    services: list[ServiceInfo] = []
    for name in names:
        body = model_services.get(name) or {}
        swarm = next((s for s in project.services if s.service == name), None)
        containers = project.service_containers(name)
        wanted = facts.services[name].replicas if facts and name in facts.services else None
        if swarm is not None:
            services.append(ServiceInfo(name=name, image=swarm.image, replicas=swarm.replicas,
                                        running=swarm.running_tasks(), ports=_ports(body)))
        else:
            image = str(body.get("image") or (containers[0].image if containers else ""))
            services.append(ServiceInfo(
                name=name, image=image, replicas=wanted,
                running=sum(1 for c in containers if c.running), ports=_ports(body)))
    infos = tuple(
        ContainerInfo(name=c.name, service=c.service, state=c.state, health=c.health,
                      image=c.image)
        for c in project.containers if not c.oneoff)
    return ResourceDetails(services=tuple(services), containers=infos)


def describe_stacks(
    desired: DesiredState, observed: ComposeObservation,
    facts_of: Callable[[str], RenderFacts | None],
) -> dict[ResourceRef, ResourceDetails]:
    out: dict[ResourceRef, ResourceDetails] = {}
    for res in desired.of_kind(Kind.STACK):
        stack = res.document
        if not isinstance(stack, Stack) or stack.spec.state is StackState.ABSENT:
            continue
        host = observed.hosts.get(stack_host(stack))
        if host is None:
            continue
        out[res.ref] = describe_project(host.project(stack.name), facts_of(stack.name))
    return out
