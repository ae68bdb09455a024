"""What people see of a resource beyond its health: a stack's services, a route's upstreams.

Part of stage *record*. Providers that implement ``Describer`` record details
from what they observed (containers and their state); ``merge_details``
completes them with what the repository declares, so that every stack lists
its services and every route its hosts and upstreams even when its provider
records nothing. Only names, images, ports and addresses: never environment
values, never credentials in URLs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from reconciler.model.desired import DesiredResource
from reconciler.model.kinds import Route, Stack
from reconciler.model.status import ResourceDetails, ServiceInfo, UpstreamInfo


def _ports(service: dict[str, Any]) -> tuple[str, ...]:
    out: list[str] = []
    for port in service.get("ports") or ():
        if isinstance(port, dict):
            published = port.get("published")
            target = port.get("target")
            text = f"{published}:{target}" if published else str(target)
            if port.get("protocol") not in (None, "tcp"):
                text += f"/{port['protocol']}"
            out.append(text)
        else:
            out.append(str(port))
    return tuple(out)


def _replicas(service: dict[str, Any]) -> int:
    deploy = service.get("deploy")
    if isinstance(deploy, dict) and isinstance(deploy.get("replicas"), int):
        return int(deploy["replicas"])
    scale = service.get("scale")
    return int(scale) if isinstance(scale, int) else 1


def _no_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def declared_details(res: DesiredResource) -> ResourceDetails | None:
    """Details from the repository alone (services of a stack, hosts of a route)."""
    doc = res.document
    if isinstance(doc, Stack) and res.compose is not None:
        services = res.compose.model.get("services") or {}
        infos = []
        for name in sorted(services):
            svc = services[name] if isinstance(services[name], dict) else {}
            image = svc.get("image")
            infos.append(ServiceInfo(name=name, image=image if isinstance(image, str) else "",
                                     replicas=_replicas(svc), ports=_ports(svc)))
        return ResourceDetails(services=tuple(infos))
    if isinstance(doc, Route):
        spec = doc.spec
        upstreams: list[UpstreamInfo] = []
        facts = {"gateway": spec.gateway, "path": spec.path, "tls": spec.tls.value}
        if spec.to is not None:
            if spec.to.url:
                address = _no_credentials(spec.to.url)
            else:
                address = f"{spec.to.stack}/{spec.to.service}:{spec.to.port or 80}"
            upstreams.append(UpstreamInfo(address=address))
        elif spec.redirect is not None:
            facts["redirect"] = f"{spec.redirect.code} {_no_credentials(spec.redirect.to)}"
        return ResourceDetails(hosts=tuple(spec.hosts), upstreams=tuple(upstreams), facts=facts)
    return None


def merge_details(res: DesiredResource, recorded: ResourceDetails | None
                  ) -> ResourceDetails | None:
    """A provider's details, completed with the declared ones where it left gaps."""
    declared = declared_details(res)
    if recorded is None:
        return declared
    if declared is None:
        return recorded
    services = recorded.services
    if not services and declared.services:
        running: dict[str, int] = {}
        for c in recorded.containers:
            if c.state == "running":
                running[c.service] = running.get(c.service, 0) + 1
        services = tuple(
            s.model_copy(update={"running": running.get(s.name, 0)}) if recorded.containers
            else s for s in declared.services
        )
    return ResourceDetails(
        services=services,
        containers=recorded.containers,
        hosts=recorded.hosts or declared.hosts,
        upstreams=recorded.upstreams or declared.upstreams,
        facts={**declared.facts, **recorded.facts},
    )
