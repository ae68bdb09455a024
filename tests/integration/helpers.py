"""A throw-away bosun repository of stacks on a real engine, driven through the CLI."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
from click.testing import CliRunner, Result

from providers.compose.cli import compose_command

IMAGE = "bosun.local/busybox:1"


def _dump(data: Any) -> str:
    # JSON is YAML: bosun's loader and Compose read it alike.
    return json.dumps(data, indent=2) + "\n"


@dataclass
class Engine:
    name: str
    host: str
    url: str
    client: docker.APIClient
    mode: str = "compose"


def unique(prefix: str = "bt") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def web_service(**extra: Any) -> dict[str, Any]:
    """A busybox httpd with a healthcheck that answers quickly."""
    svc: dict[str, Any] = {
        "image": IMAGE,
        "command": ["httpd", "-f", "-p", "80", "-h", "/www"],
        "healthcheck": {
            "test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"],
            "interval": "1s", "timeout": "2s", "retries": 3,
        },
    }
    svc.update(extra)
    return svc


def sleeper(**extra: Any) -> dict[str, Any]:
    svc: dict[str, Any] = {"image": IMAGE, "command": ["sleep", "1000000"]}
    svc.update(extra)
    return svc


class StackRepo:
    """A repository folder with bosun.yaml, a Host for the engine and Stack manifests."""

    def __init__(self, root: Path, engine: Engine, owner: str) -> None:
        self.root = root
        self.engine = engine
        self.owner = owner
        self.state_dir = root.parent / f"{root.name}-state"
        self.stacks: set[str] = set()
        self.images: set[str] = set()
        self.env: dict[str, str] = {}
        root.mkdir(parents=True)
        (root / "bosun.yaml").write_text(_dump({
            "apiVersion": "bosun/v1", "kind": "Repository", "metadata": {"name": "test"},
            "spec": {"owner": owner},
        }))
        self.write_host()

    def write_host(self, url: str | None = None) -> None:
        (self.root / "host.yaml").write_text(_dump({
            "apiVersion": "bosun/v1", "kind": "Host", "metadata": {"name": self.engine.host},
            "spec": {"engine": self.engine.name, "url": url or self.engine.url,
                     "mode": self.engine.mode},
        }))

    def write_stack(self, name: str, services: dict[str, Any], *, env: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None, volumes: dict[str, Any] | None = None,
                    **spec: Any) -> None:
        folder = self.root / name
        folder.mkdir(exist_ok=True)
        compose: dict[str, Any] = {"services": services}
        if volumes:
            compose["volumes"] = volumes
        if extra:
            compose.update(extra)
        (folder / "compose.yaml").write_text(_dump(compose))
        body = {"host": self.engine.host, "compose": "compose.yaml", **spec}
        if env:
            body["env"] = env
        (folder / "stack.yaml").write_text(_dump({
            "apiVersion": "bosun/v1", "kind": "Stack", "metadata": {"name": name},
            "spec": body,
        }))
        self.stacks.add(name)

    def remove_stack(self, name: str) -> None:
        (self.root / name / "stack.yaml").unlink()

    def write_secret(self, name: str, keys: dict[str, str]) -> None:
        (self.root / f"secret-{name}.yaml").write_text(_dump({
            "apiVersion": "bosun/v1", "kind": "Secret", "metadata": {"name": name},
            "spec": {"from": "env", "keys": keys}}))

    def bosun(self, *args: str) -> Result:
        from reconciler.cli import cli

        argv = [args[0], str(self.root), "--provider", "compose",
                "--state-dir", str(self.state_dir), *args[1:]]
        return CliRunner().invoke(cli, argv, catch_exceptions=False, env=self.env)

    # -- reading the engine -----------------------------------------------------

    def containers(self, stack: str) -> dict[str, dict[str, Any]]:
        """Service -> inspect data of its container."""
        out: dict[str, dict[str, Any]] = {}
        for c in self.engine.client.containers(
                all=True, filters={"label": f"com.docker.compose.project={stack}"}):
            data = self.engine.client.inspect_container(c["Id"])
            out[data["Config"]["Labels"]["com.docker.compose.service"]] = data
        return out

    def identity(self, stack: str) -> dict[str, tuple[str, str]]:
        """Service -> (container id, start time): what must not move on a no-op apply."""
        return {s: (d["Id"], d["State"]["StartedAt"]) for s, d in self.containers(stack).items()}

    def exec(self, stack: str, service: str, command: list[str]) -> str:
        cid = self.containers(stack)[service]["Id"]
        exec_id = self.engine.client.exec_create(cid, command)["Id"]
        out = self.engine.client.exec_start(exec_id)
        return out.decode() if isinstance(out, bytes) else str(out)

    def networks(self, stack: str) -> list[str]:
        return [n["Name"] for n in self.engine.client.networks(
            filters={"label": f"com.docker.compose.project={stack}"})]

    def volumes(self, stack: str) -> list[str]:
        found = self.engine.client.volumes(
            filters={"label": f"com.docker.compose.project={stack}"}) or {}
        return [v["Name"] for v in found.get("Volumes") or []]

    def cleanup(self) -> None:
        for name in sorted(self.stacks):
            subprocess.run(
                [*compose_command(), "--project-name", name, "down", "--volumes",
                 "--remove-orphans", "--timeout", "1"],
                capture_output=True, timeout=120, check=False, cwd=self.root.parent,
                env={"PATH": "/usr/bin:/bin", "DOCKER_HOST": self.engine.url},
            )
        for image in sorted(self.images):
            with contextlib.suppress(docker.errors.APIError):
                self.engine.client.remove_image(image, force=True)


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what or predicate}")
