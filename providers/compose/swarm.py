"""Stacks on a swarm host (``Host.mode: swarm``): ``docker stack deploy`` and its reads.

plan -> apply -> **swarm** (deploy, remove, read one stack)

The rendered Compose model (with bosun's labels) goes to ``docker stack
deploy --compose-file -`` on stdin. Swarm keeps service labels apart from
container labels, so bosun's labels go to both (``deploy.labels`` is what
plan reads back from the service list). Docker 20.10's stack loader wants a
``version`` and knows fewer keys than Compose v2 renders; the model is
trimmed to what it accepts. The routing mesh does not work on these hosts:
publish ports with ``mode: host``.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import time
from typing import Any

from providers.compose.cli import base_env
from providers.compose.hosts import build_host_state
from providers.compose.observed import OWNER, STACK_NAMESPACE, HostState
from providers.compose.render import StackInput
from providers.engine import engine_url
from reconciler.errors import PermanentError, TemporaryError
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.kinds import Host
from reconciler.model.sensitive import redact

STACK_FILE_VERSION = "3.8"
# Keys of a rendered service that docker stack deploy (20.10) rejects or ignores.
_DROP_SERVICE_KEYS = ("pull_policy", "scale", "depends_on", "container_name", "profiles")
REMOVE_TIMEOUT = 60.0


def stack_model(model: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(model)
    out.pop("name", None)
    out["version"] = STACK_FILE_VERSION
    for svc in (out.get("services") or {}).values():
        for key in _DROP_SERVICE_KEYS:
            svc.pop(key, None)
        labels = svc.get("labels") or {}
        deploy = svc.setdefault("deploy", {})
        deploy["labels"] = {**(deploy.get("labels") or {}), **labels}
        for net in (svc.get("networks") or {}).values():
            if isinstance(net, dict):
                net.pop("priority", None)
        if svc.get("networks") and all(v is None for v in svc["networks"].values()):
            svc["networks"] = sorted(svc["networks"])
        if svc.get("entrypoint") is None:
            svc.pop("entrypoint", None)
        for port in svc.get("ports") or []:
            # Compose v2 renders published ports as strings; the stack loader wants numbers.
            if isinstance(port, dict) and isinstance(port.get("published"), str) \
                    and port["published"].isdigit():
                port["published"] = int(port["published"])
            if isinstance(port, dict):
                port.pop("host_ip", None)
                port.pop("app_protocol", None)
    for net in (out.get("networks") or {}).values():
        if isinstance(net, dict):
            net.pop("name", None)
            if net.get("ipam") == {}:
                net.pop("ipam")
            net.setdefault("driver", "overlay")
    for vol in (out.get("volumes") or {}).values():
        if isinstance(vol, dict):
            vol.pop("name", None)
    return out


def _docker(host: Host, args: list[str], stdin: str | None, secrets: list[Any],
            ref: ResourceRef, timeout: float = 300.0) -> str:
    docker = shutil.which("docker")
    if docker is None:
        raise PermanentError("the docker CLI is needed for swarm hosts", ref)
    try:
        out = subprocess.run([docker, *args], input=stdin, capture_output=True, text=True,
                             timeout=timeout, check=False, env=base_env(engine_url(host)))
    except subprocess.TimeoutExpired:
        raise TemporaryError(f"docker {args[0]} {args[1]} timed out", ref) from None
    if out.returncode != 0:
        text = redact((out.stderr or out.stdout).strip(), secrets)
        raise PermanentError(f"docker {' '.join(args[:2])} failed: {text[-600:]}", ref)
    return out.stdout


def deploy(host: Host, name: str, model: dict[str, Any], inp: StackInput, owner: str) -> None:
    ref = ResourceRef(kind=Kind.STACK, name=name)
    _docker(host, ["stack", "deploy", "--compose-file", "-", "--prune",
                   "--resolve-image", "never", name],
            json.dumps(stack_model(model)), list(inp.secrets.values()), ref)


def remove(client: Any, host: Host, name: str, *, prune: bool, owner: str) -> None:
    ref = ResourceRef(kind=Kind.STACK, name=name)
    label = f"{STACK_NAMESPACE}={name}"

    def left() -> list[Any]:
        found: list[Any] = client.services(filters={"label": label})
        found += client.networks(filters={"label": label})
        found += client.containers(all=True, filters={"label": label})
        return found

    # `stack rm` returns before the tasks are gone, and fails to remove a
    # network whose containers are still stopping: repeat until nothing is left.
    deadline = time.monotonic() + REMOVE_TIMEOUT
    last = ""
    while True:
        try:
            _docker(host, ["stack", "rm", name], None, [], ref)
        except PermanentError as exc:
            last = exc.message
        for _ in range(10):
            if not left():
                break
            time.sleep(0.5)
        if not left():
            break
        if time.monotonic() >= deadline:
            raise TemporaryError(f"stack {name} is still being removed: {last}", ref)
    if prune:
        vols = (client.volumes(filters={"label": [label, f"{OWNER}={owner}"]}) or {})
        for vol in vols.get("Volumes") or []:
            client.remove_volume(vol["Name"])


def read_stack(client: Any, host: Host, name: str, owner: str) -> HostState:
    label = f"{STACK_NAMESPACE}={name}"
    services = client.services(filters={"label": label})
    tasks = client.tasks(filters={"label": label}) if services else []
    networks = client.networks(filters={"label": f"{OWNER}={owner}"})
    volumes = (client.volumes(filters={"label": f"{OWNER}={owner}"}) or {}).get("Volumes")
    return build_host_state(host, [], networks, volumes or [], [], services, tasks)
