"""The ``run`` and ``exec`` actions: containers of a stack's services.

engine -> actions -> **containers** -> Docker/Podman (compose run, exec)

- ``run``: ``docker compose run --detach --no-deps`` of the stack's service,
  rendered and labelled the way the compose provider deploys the stack (so
  that Compose sees the project's networks and volumes unchanged), with the
  command override and ``spec.action.run.env`` passed as ``-e NAME`` whose
  values travel in the subprocess environment only. Compose starts the
  container; bosun follows it through the engine API (logs, wait, kill) and
  removes it, as ``--rm`` would. Services in an inactive compose profile can
  be run (their profiles are enabled for the render).
- ``exec``: an exec in the first running container of the service. Engines
  cannot stop an exec: on timeout bosun kills its process when the engine is
  on this machine (unix socket), else stops following it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets as token
import signal
import threading
from typing import Any

import docker.errors

from providers.compose.hosts import build_host_state
from providers.compose.observed import OWNER, PROJECT, SERVICE, Container
from providers.compose.render import stack_input
from providers.compose.target import inject, stack_labels
from providers.engine import engine_errors, engine_url
from providers.scheduler.jobs import RegisteredJob
from providers.scheduler.output import OutputTail
from providers.scheduler.runs import Outcome, RunContext, argv
from reconciler.errors import PermanentError
from reconciler.model.common import Kind, ResourceRef, SecretRef
from reconciler.model.desired import DesiredResource, DesiredState
from reconciler.model.kinds import ExecAction, Host, HostMode, RunAction, Stack
from reconciler.model.schedule import ScheduleRunReason, ScheduleRunResult
from reconciler.model.sensitive import Sensitive

SCHEDULE_LABEL = "bosun.schedule"
RUN_LABEL = "bosun.schedule.run"
INSTANCE_LABEL = "bosun.schedule.instance"
COMPOSE_RUN_TIMEOUT = 300.0


def _stack(desired: DesiredState, name: str) -> tuple[DesiredResource, Stack, Host]:
    ref = ResourceRef(kind=Kind.STACK, name=name)
    res = desired.get(ref)
    if res is None or not isinstance(res.document, Stack):
        raise PermanentError(f"stack {name!r} is not in the repository", ref)
    stack = res.document
    host_ref = ResourceRef(kind=Kind.HOST, name=stack.spec.host or "local")
    host_res = desired.get(host_ref)
    if host_res is None or not isinstance(host_res.document, Host):
        raise PermanentError(f"host {host_ref.name!r} is not declared", host_ref)
    return res, stack, host_res.document


def _drain(stream: Any, out: OutputTail) -> None:
    """Copy an engine stream (logs, exec output) into ``out``; always close it."""
    try:
        for chunk in stream:
            out.write(chunk)
    finally:
        # docker-py's CancellableStream.close() shuts the socket down behind the
        # HTTP response's back (a ResourceWarning for an exec's upgraded
        # connection); closing the response itself releases everything.
        response = getattr(stream, "_response", None)
        close = getattr(response if response is not None else stream, "close", None)
        if callable(close):
            close()


def _exit(code: int, what: str) -> Outcome:
    ok = code == 0
    return Outcome(ScheduleRunResult.SUCCEEDED if ok else ScheduleRunResult.FAILED,
                   ScheduleRunReason.EXIT, code,
                   f"{what} exited with code {code}")


class ContainerRun:
    """``run``: a one-off container of a stack's service."""

    kill_grace = 10.0  # a killed container ends its log stream at once; removal follows

    def __init__(self, job: RegisteredJob, run_id: int, spec: RunAction, rc: RunContext) -> None:
        self.job = job
        self.run_id = run_id
        self.spec = spec
        self.rc = rc
        # Compose would say <project>-<service>-run-<hex>; the run id helps people.
        self.name = f"{spec.stack}-{spec.service}-run-{run_id}-{token.token_hex(3)}"
        self._secrets: list[Sensitive] = []
        self._lock = threading.Lock()
        self._killed = False
        self._client: Any = None

    def secrets(self) -> list[Sensitive]:
        return list(self._secrets)

    def _env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for key, value in self.spec.env.items():
            if isinstance(value, SecretRef):
                secret = self.rc.ctx.secrets.resolve(value)
                self._secrets.append(secret)
                env[key] = secret.reveal()
            else:
                env[key] = value
        return env

    def _start(self) -> Host:
        res, stack, host = _stack(self.rc.desired, self.spec.stack)
        if host.spec.mode is HostMode.SWARM:
            raise PermanentError("run actions need a host in compose mode (not swarm)", res.ref)
        if res.compose is None:
            raise PermanentError("the stack has no compose model", res.ref)
        inp = stack_input(res, self.rc.desired.root, self.rc.ctx.secrets)
        self._secrets += list(inp.secrets.values())
        service = (res.compose.model.get("services") or {}).get(self.spec.service)
        if not isinstance(service, dict):
            raise PermanentError(f"stack {stack.name!r} has no service {self.spec.service!r}",
                                 res.ref)
        wanted = service.get("profiles") or []
        inp.profiles = tuple(dict.fromkeys([*inp.profiles, *map(str, wanted)]))
        key, model = self.rc.renderer.model(inp)
        facts = self.rc.renderer.cache.get(key)
        if facts is None:
            raise PermanentError("render facts missing after render", res.ref)
        client = self.rc.clients.get(host)
        self._client = client
        owner = self.rc.ctx.owner
        with engine_errors(res.ref, reading=True):
            containers = client.containers(all=True, filters={"label": f"{PROJECT}={stack.name}"})
            networks = client.networks(filters={"label": f"{OWNER}={owner}"})
            volumes = (client.volumes(filters={"label": f"{OWNER}={owner}"}) or {}).get(
                "Volumes") or []
        state = build_host_state(host, containers, networks, volumes, [])
        # The labels the compose provider deploys with: Compose then finds the
        # project's networks and volumes as it left them and changes nothing.
        labels = stack_labels(facts, state, state.project(stack.name), owner=owner,
                              resource=str(res.ref), revision=str(self.rc.desired.revision),
                              root=self.rc.desired.root)
        final = inject(model, labels)
        env = self._env()
        runner = inp.runner(engine_url(host))
        runner.env.update(env)
        runner.secrets += self._secrets
        args = ["run", "--detach", "--no-deps", "--name", self.name,
                "--label", f"{SCHEDULE_LABEL}={self.job.name}",
                "--label", f"{RUN_LABEL}={self.run_id}",
                "--label", f"{INSTANCE_LABEL}={self.rc.instance}"]
        for name in env:
            args += ["-e", name]
        args.append(self.spec.service)
        if self.spec.command is not None:
            args += argv(self.spec.command)
        with self._lock:
            if self._killed:
                raise PermanentError("stopped before it started")
        runner.run(args, stdin=json.dumps(final), project_dir=inp.project_dir,
                   profiles=inp.profiles, timeout=COMPOSE_RUN_TIMEOUT)
        return host

    def run(self, out: OutputTail) -> Outcome:
        host = self._start()
        ref = ResourceRef(kind=Kind.SCHEDULE, name=self.job.name)
        client = self._client
        try:
            with self._lock:
                if self._killed:
                    self._kill_container()
            with engine_errors(ref, reading=False):
                _drain(client.logs(self.name, stream=True, follow=True, stdout=True,
                                   stderr=True), out)
                status = client.wait(self.name)
            code = int(status.get("StatusCode", -1))
            return _exit(code, f"container {self.name} on {host.name}")
        finally:
            self._remove()

    def _kill_container(self) -> None:
        if self._client is None:
            return
        with contextlib.suppress(docker.errors.DockerException, OSError):
            self._client.kill(self.name)  # fails when it exited already: nothing to stop

    def _remove(self) -> None:
        if self._client is None:
            return
        with contextlib.suppress(docker.errors.DockerException, OSError):
            self._client.remove_container(self.name, force=True)

    def kill(self) -> None:
        with self._lock:
            self._killed = True
            self._kill_container()


class ContainerExec:
    """``exec``: a command in a running container of a stack's service."""

    kill_grace = 2.0

    def __init__(self, job: RegisteredJob, spec: ExecAction, rc: RunContext) -> None:
        self.job = job
        self.spec = spec
        self.rc = rc
        self._exec_id: str | None = None
        self._client: Any = None
        self._local = False

    def secrets(self) -> list[Sensitive]:
        return []

    def run(self, out: OutputTail) -> Outcome:
        res, stack, host = _stack(self.rc.desired, self.spec.stack)
        if host.spec.mode is HostMode.SWARM:
            raise PermanentError("exec actions need a host in compose mode (not swarm)", res.ref)
        client = self.rc.clients.get(host)
        self._client = client
        self._local = engine_url(host).startswith("unix://")
        with engine_errors(res.ref, reading=False):
            listed = client.containers(filters={
                "label": [f"{PROJECT}={stack.name}", f"{SERVICE}={self.spec.service}"],
                "status": "running"})
            running = sorted((c for c in map(Container.from_api, listed) if not c.oneoff),
                             key=lambda c: c.number)
            if not running:
                raise PermanentError(f"no running container of service {self.spec.service!r}",
                                     res.ref)
            target = running[0]
            self._exec_id = str(client.exec_create(target.id, argv(self.spec.command),
                                                   stdout=True, stderr=True)["Id"])
            _drain(client.exec_start(self._exec_id, stream=True), out)
            code = client.exec_inspect(self._exec_id).get("ExitCode")
        if code is None:
            return Outcome(ScheduleRunResult.FAILED, ScheduleRunReason.ERROR, None,
                           "the exec ended without an exit code")
        return _exit(int(code), f"exec in {target.name}")

    def kill(self) -> None:
        if self._exec_id is None or self._client is None or not self._local:
            return
        try:
            pid = int(self._client.exec_inspect(self._exec_id).get("Pid") or 0)
        except (docker.errors.DockerException, OSError):
            return
        if pid > 0:
            with contextlib.suppress(OSError):  # gone already, or not ours to signal
                os.kill(pid, signal.SIGKILL)
