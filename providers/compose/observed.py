"""What the compose provider reads from an engine, as typed frozen models.

observe -> **these models** -> plan / health

One host read is one labelled container list, bosun's networks and volumes,
and the local image list (or, on a swarm host, the stack services and their
tasks). The parsers here take the Docker API's JSON (also what Podman's
Docker-compatible API answers) and keep only what plan and health use, so that
saved engine output under ``tests/cases/compose/`` drives the unit tests.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from reconciler.model.common import Frozen, Kind, ResourceRef

# Labels bosun writes on everything it creates.
OWNER = "bosun.owner"
RESOURCE = "bosun.resource"
REVISION = "bosun.revision"
DIGEST = "bosun.digest"
BOSUN_LABELS = (OWNER, RESOURCE, REVISION, DIGEST)

# Labels Compose writes.
PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
CONFIG_HASH = "com.docker.compose.config-hash"
IMAGE_DIGEST = "com.docker.compose.image"
ONEOFF = "com.docker.compose.oneoff"
NUMBER = "com.docker.compose.container-number"
STACK_NAMESPACE = "com.docker.stack.namespace"

_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")
_EXIT = re.compile(r"Exited \((-?\d+)\)")


class Container(Frozen):
    id: str
    name: str
    project: str
    service: str
    number: int = 1
    state: str = Field(description="created, running, restarting, exited, paused, dead")
    status: str = ""
    health: str | None = Field(default=None, description="healthy, unhealthy, starting")
    exit_code: int | None = None
    image: str = ""
    image_id: str = ""
    oneoff: bool = False
    restarts: int | None = Field(default=None, description="From inspect, when read.")
    labels: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict[str, Any], inspect: dict[str, Any] | None = None) -> Container:
        """From a container list entry, refined by its inspect data when given.

        Podman's list has no health in ``Status``; its inspect has.
        """
        labels = {str(k): str(v) for k, v in (data.get("Labels") or {}).items()}
        status = str(data.get("Status") or "")
        health = _HEALTH.search(status)
        exit_code = _EXIT.search(status)
        names = data.get("Names") or [data.get("Id", "")[:12]]
        state = str(data.get("State") or "unknown").lower()
        # Podman's compat list says "exited" for containers that were created
        # and never started; its Status then reads "Created".
        if state == "exited" and status.startswith("Created"):
            state = "created"
        number = labels.get(NUMBER, "1")
        restarts = None
        found_health = health.group(1).replace("health: ", "") if health else None
        if inspect is not None:
            state_data = inspect.get("State") or {}
            restarts = int(inspect.get("RestartCount") or 0)
            health_data = state_data.get("Health") or {}
            if health_data.get("Status"):
                found_health = str(health_data["Status"])
            if isinstance(state_data.get("Status"), str):
                state = state_data["Status"].lower()
            if state == "exited" and isinstance(state_data.get("ExitCode"), int):
                exit_code_value: int | None = state_data["ExitCode"]
            else:
                exit_code_value = int(exit_code.group(1)) if exit_code else None
        else:
            exit_code_value = int(exit_code.group(1)) if exit_code else None
        if found_health == "none":
            found_health = None
        return cls(
            id=str(data.get("Id", "")),
            name=str(names[0]).lstrip("/"),
            project=labels.get(PROJECT, ""),
            service=labels.get(SERVICE, ""),
            number=int(number) if number.isdigit() else 1,
            state=state,
            status=status,
            health=found_health,
            exit_code=exit_code_value,
            image=str(data.get("Image") or ""),
            image_id=str(data.get("ImageID") or ""),
            oneoff=labels.get(ONEOFF, "False").lower() == "true",
            restarts=restarts,
            labels=labels,
        )

    def label(self, key: str) -> str | None:
        return self.labels.get(key)

    @property
    def running(self) -> bool:
        return self.state == "running"


class Network(Frozen):
    id: str
    name: str
    labels: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Network:
        return cls(id=str(data.get("Id") or data.get("ID") or ""), name=str(data.get("Name", "")),
                   labels={str(k): str(v) for k, v in (data.get("Labels") or {}).items()})


class Volume(Frozen):
    name: str
    labels: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Volume:
        return cls(name=str(data.get("Name", "")),
                   labels={str(k): str(v) for k, v in (data.get("Labels") or {}).items()})


class SwarmTask(Frozen):
    id: str
    service_id: str
    state: str
    desired_state: str
    error: str = ""
    exit_code: int | None = None
    container_id: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> SwarmTask:
        status = data.get("Status") or {}
        cstatus = status.get("ContainerStatus") or {}
        return cls(
            id=str(data.get("ID", "")), service_id=str(data.get("ServiceID", "")),
            state=str(status.get("State", "")), desired_state=str(data.get("DesiredState", "")),
            error=str(status.get("Err") or ""),
            exit_code=cstatus.get("ExitCode") if isinstance(cstatus.get("ExitCode"), int)
            else None,
            container_id=cstatus.get("ContainerID") or None,
        )


class SwarmService(Frozen):
    id: str
    name: str
    namespace: str
    service: str
    replicas: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    image: str = ""
    tasks: tuple[SwarmTask, ...] = ()

    @classmethod
    def from_api(cls, data: dict[str, Any], tasks: list[SwarmTask]) -> SwarmService:
        spec = data.get("Spec") or {}
        labels = {str(k): str(v) for k, v in (spec.get("Labels") or {}).items()}
        namespace = labels.get(STACK_NAMESPACE, "")
        name = str(spec.get("Name", ""))
        replicated = (spec.get("Mode") or {}).get("Replicated")
        image = str(((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", ""))
        return cls(
            id=str(data.get("ID", "")), name=name, namespace=namespace,
            service=name.removeprefix(namespace + "_") if namespace else name,
            replicas=replicated.get("Replicas") if isinstance(replicated, dict) else None,
            labels=labels, image=image.split("@", 1)[0],
            tasks=tuple(t for t in tasks if t.service_id == data.get("ID")),
        )

    def running_tasks(self) -> int:
        return sum(1 for t in self.tasks if t.state == "running" and t.desired_state == "running")

    def failed_tasks(self) -> list[SwarmTask]:
        return [t for t in self.tasks if t.state in ("failed", "rejected")]


class Project(Frozen):
    """One compose project (or swarm stack) on a host: a stack's running half."""

    name: str
    containers: tuple[Container, ...] = ()
    networks: tuple[Network, ...] = ()
    volumes: tuple[Volume, ...] = ()
    services: tuple[SwarmService, ...] = ()

    def owners(self) -> set[str]:
        found = {c.labels.get(OWNER, "") for c in self.containers}
        found |= {n.labels.get(OWNER, "") for n in self.networks}
        found |= {s.labels.get(OWNER, "") for s in self.services}
        return found

    def owned_by(self, owner: str) -> bool:
        owners = self.owners()
        return bool(owners) and owners == {owner}

    def service_containers(self, service: str) -> list[Container]:
        return sorted((c for c in self.containers if c.service == service and not c.oneoff),
                      key=lambda c: c.number)

    @property
    def exists(self) -> bool:
        """Containers, networks or swarm services remain (volumes alone do not count)."""
        return bool(self.containers or self.networks or self.services)


class HostState(Frozen):
    """Everything read from one engine in one pass."""

    name: str
    engine: str
    url: str
    mode: str = "compose"
    projects: dict[str, Project] = Field(default_factory=dict)
    volumes: tuple[Volume, ...] = ()
    images: dict[str, str] = Field(
        default_factory=dict, description="Local image reference -> image id."
    )

    def project(self, name: str) -> Project:
        return self.projects.get(name) or Project(name=name)

    def image_id(self, reference: str) -> str | None:
        for candidate in _image_candidates(reference):
            if candidate in self.images:
                return self.images[candidate]
        return None


def _image_candidates(reference: str) -> list[str]:
    ref = reference if ":" in reference.rsplit("/", 1)[-1] or "@" in reference \
        else reference + ":latest"
    out = [ref]
    first = ref.split("/", 1)[0]
    if "/" not in ref:
        out += [f"docker.io/library/{ref}", f"library/{ref}"]
    elif "." not in first and ":" not in first and first != "localhost":
        out.append(f"docker.io/{ref}")
    return out


class ComposeObservation(Frozen):
    """The compose provider's observation; unreadable hosts and stacks are ``failures``."""

    hosts: dict[str, HostState] = Field(default_factory=dict)
    host_errors: dict[str, str] = Field(default_factory=dict)
    stack_errors: dict[str, str] = Field(
        default_factory=dict, description="Stack name -> why bosun will not touch it."
    )

    def failures(self) -> list[tuple[ResourceRef | None, str]]:
        out: list[tuple[ResourceRef | None, str]] = [
            (ResourceRef(kind=Kind.HOST, name=h), msg)
            for h, msg in sorted(self.host_errors.items())
        ]
        out += [(ResourceRef(kind=Kind.STACK, name=s), msg)
                for s, msg in sorted(self.stack_errors.items())]
        return out
