"""Apply for stacks: Compose up/stop/down, the wait for health, and rollback.

plan -> **apply** -> record

A create or update renders the stack (from memory when plan just did),
injects bosun's labels and feeds the model to ``docker compose -f - up -d
--remove-orphans`` on stdin, so secret values never touch the disk. It then
waits, reading the stack's containers, until the stack is healthy, degraded
or ``spec.health.timeout`` has passed. A revision that does not become
healthy is rolled back to the last healthy model from the stack store
(outcome ``rolled-back``), and remembered as failed. A delete is ``docker
compose down`` by project name (with ``--volumes`` only for ``prune:
{volumes: true}``); on a swarm host ``docker stack deploy``/``rm``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from providers.compose import swarm
from providers.compose.cli import ComposeRun, base_env
from providers.compose.health import evaluate
from providers.compose.hosts import build_host_state, inspect_running, stack_host
from providers.compose.observed import (
    CONFIG_HASH,
    DIGEST,
    IMAGE_DIGEST,
    OWNER,
    PROJECT,
    HostState,
    Project,
)
from providers.compose.render import (
    Renderer,
    RenderFacts,
    StackInput,
    facts_of,
    redact_model,
    restore_model,
    stack_input,
)
from providers.compose.store import FailureRecord, HealthyRecord, StackStore
from providers.compose.target import inject, service_files, stack_labels
from providers.engine import EngineClients, engine_errors, engine_url
from reconciler.errors import PermanentError
from reconciler.model.common import Kind, ResourceRef, SecretRef, duration_seconds
from reconciler.model.desired import DesiredResource, DesiredState
from reconciler.model.kinds import Engine, Host, HostMode, PullPolicy, Stack, StackState
from reconciler.model.plan import Change, ChangeAction, ChangeOutcome, ChangeResult
from reconciler.model.sensitive import Sensitive
from reconciler.model.status import Health, HealthState
from reconciler.provider import ProviderContext

POLL_SECONDS = 0.5
UP_GRACE_SECONDS = 300.0
# A moved stack whose new deployment is not healthy yet: its old one is looked at again.
MOVE_RETRY_SECONDS = 30.0


@dataclass
class Applied:
    health: Health
    images: dict[str, str]


class StackDeployer:
    def __init__(self, clients: EngineClients, renderer: Renderer, store: StackStore,
                 ctx: ProviderContext, desired: DesiredState) -> None:
        self.clients = clients
        self.renderer = renderer
        self.store = store
        self.ctx = ctx
        self.desired = desired
        self._done: dict[ResourceRef, ChangeResult] = {}

    # -- reading ----------------------------------------------------------------

    def host(self, name: str) -> Host:
        res = self.desired.get(ResourceRef(kind=Kind.HOST, name=name))
        if res is None or not isinstance(res.document, Host):
            raise PermanentError(f"host {name!r} is not declared",
                                 ResourceRef(kind=Kind.HOST, name=name))
        return res.document

    def read(self, host: Host, project: str) -> tuple[HostState, dict[str, int]]:
        """The project's containers (with restart counts), bosun's networks and volumes."""
        client = self.clients.get(host)
        ref = ResourceRef(kind=Kind.STACK, name=project)
        with engine_errors(ref, reading=True):
            if host.spec.mode is HostMode.SWARM:
                return swarm.read_stack(client, host, project, self.ctx.owner), {}
            containers = client.containers(all=True,
                                           filters={"label": f"{PROJECT}={project}"})
            networks = client.networks(filters={"label": f"{OWNER}={self.ctx.owner}"})
            volumes = (client.volumes(filters={"label": f"{OWNER}={self.ctx.owner}"})
                       or {}).get("Volumes") or []
            images = client.images()
            inspected = inspect_running(client, containers)
        restarts = {cid: int(d.get("RestartCount") or 0) for cid, d in inspected.items()}
        return build_host_state(host, containers, networks, volumes, images,
                                inspected=inspected), restarts

    # -- changes ----------------------------------------------------------------

    def apply(self, change: Change) -> ChangeResult:
        started = datetime.now(UTC)
        if change.action is ChangeAction.DELETE:
            target = change.payload.get("moved_to")
            why = self._not_moved_yet(change, str(target)) if target else None
            if why is not None:
                return ChangeResult(
                    ref=change.ref, action=change.action, outcome=ChangeOutcome.FAILED,
                    message=f"kept on host {change.payload.get('host')}: {why}",
                    started_at=started, finished_at=datetime.now(UTC),
                    data={"retry_after": MOVE_RETRY_SECONDS})
            writes = self._delete(change)
            return ChangeResult(ref=change.ref, action=change.action,
                                outcome=ChangeOutcome.APPLIED, started_at=started,
                                finished_at=datetime.now(UTC), writes=writes)
        result = self._up(change, started)
        self._done[change.ref] = result
        return result

    def _not_moved_yet(self, change: Change, target: str) -> str | None:
        """Why the old deployment of a moved stack must stay; None once the one on
        ``target`` is healthy (deployed in this batch, or found healthy now)."""
        earlier = self._done.get(change.ref)
        if earlier is not None and earlier.outcome is not ChangeOutcome.APPLIED:
            return f"the deployment on host {target} did not become healthy"
        res = self.desired.get(change.ref)
        if res is None or not isinstance(res.document, Stack) \
                or stack_host(res.document) != target:
            return f"the stack is no longer declared on host {target}"
        stack = res.document
        failure = self.store.get(stack.name).failure
        if failure is not None and failure.digest == res.digest:
            return f"revision {failure.revision} failed on host {target}: {failure.reason}"
        state, restarts = self.read(self.host(target), stack.name)
        project = state.project(stack.name)
        if not project.owned_by(self.ctx.owner):
            return f"not deployed on host {target} yet"
        facts = self.renderer.facts(stack_input(res, self.desired.root, self.ctx.secrets))
        health = evaluate(project, facts.services, restarts=restarts,
                          stopped=stack.spec.state is StackState.STOPPED)
        if health.state not in (HealthState.HEALTHY, HealthState.SUSPENDED):
            return (f"the deployment on host {target} is {health.state.value}: "
                    f"{health.message or health.reason}")
        return None

    def _runner(self, host: Host, inp: StackInput | None, project: str) -> ComposeRun:
        if inp is not None:
            runner = inp.runner(engine_url(host))
        else:
            runner = ComposeRun(project, base_env(engine_url(host)), ref=ResourceRef(
                kind=Kind.STACK, name=project))
        if host.spec.engine is Engine.PODMAN:
            # Compose's BuildKit path wants a buildkit image from a registry;
            # Podman's compat API builds with the classic builder.
            runner.env["DOCKER_BUILDKIT"] = "0"
        return runner

    def _delete(self, change: Change) -> int:
        host = self.host(str(change.payload.get("host", "local")))
        prune = bool(change.payload.get("prune_volumes"))
        name = change.ref.name
        # The plan may be older than this moment (a saved plan, a queued one):
        # read the project again; a failed read raises, and only our own goes.
        # (Volumes are listed by our owner label: any left are ours.)
        project = self.read(host, name)[0].project(name)
        if not project.exists:
            if not (prune and project.volumes):
                self.store.forget(name)
                return 0
        elif not project.owned_by(self.ctx.owner):
            owners = sorted(project.owners() - {""}) or ["nobody (no bosun.owner label)"]
            raise PermanentError(
                f"project {name!r} on host {host.name} now belongs to {', '.join(owners)}; "
                "not deleted", change.ref)
        if host.spec.mode is HostMode.SWARM:
            swarm.remove(self.clients.get(host), host, name, prune=prune, owner=self.ctx.owner)
        else:
            args = ["down", "--remove-orphans"] + (["--volumes"] if prune else [])
            self._runner(host, None, name).run(args, timeout=UP_GRACE_SECONDS)
        if change.payload.get("moved_to"):
            self.store.moved_off(name, host.name)  # the record of the new host stays
        else:
            self.store.forget(name)
        return 1

    def _deploy(self, host: Host, stack: Stack, inp: StackInput, model: dict[str, Any],
                build: bool) -> int:
        stdin = json.dumps(model)
        if host.spec.mode is HostMode.SWARM:
            swarm.deploy(host, stack.name, model, inp, self.ctx.owner)
            return 1
        runner = self._runner(host, inp, stack.name)
        pull = (stack.spec.pull or self.desired.repository.spec.defaults.stack.pull
                or PullPolicy.MISSING)
        timeout = duration_seconds(stack.spec.health.timeout) + UP_GRACE_SECONDS

        def run(args: list[str]) -> None:
            runner.run(args, stdin=stdin, project_dir=inp.project_dir, profiles=inp.profiles,
                       timeout=timeout)

        if stack.spec.state is StackState.STOPPED:
            run(["up", "--no-start", "--remove-orphans", "--pull", pull.value])
            run(["stop"])
            return 2
        args = ["up", "--detach", "--remove-orphans", "--pull", pull.value]
        if build:
            args.append("--build")
        if host.spec.engine is not Engine.PODMAN:
            run(args)
            return 1
        # Compose recreates every container on Podman 4.3 (its container list
        # names networks where Compose expects ids): bosun decides what to
        # recreate from the labels, and Compose recreates only that.
        recreate = self._outdated(host, stack.name, inp, model)
        run([*args, "--no-recreate"])
        if recreate:
            run(["up", "--detach", "--no-deps", "--force-recreate", "--pull", pull.value,
                 *recreate])
            return 2
        return 1

    def _outdated(self, host: Host, name: str, inp: StackInput,
                  model: dict[str, Any]) -> list[str]:
        """Services whose containers differ from ``model`` (labels, config hash, image)."""
        state, _ = self.read(host, name)
        project = state.project(name)
        hashes = self.hashes(host, inp, model)
        out: list[str] = []
        for service, body in sorted((model.get("services") or {}).items()):
            containers = project.service_containers(service)
            want = (body.get("labels") or {}).get(DIGEST)
            image = state.image_id(body["image"]) if body.get("image") else None
            if any(c.labels.get(DIGEST) != want
                   or (service in hashes and c.labels.get(CONFIG_HASH) != hashes[service])
                   or (image and c.labels.get(IMAGE_DIGEST) not in (None, image))
                   for c in containers):
                out.append(service)
        return out

    def hashes(self, host: Host, inp: StackInput, model: dict[str, Any]) -> dict[str, str]:
        if host.spec.mode is HostMode.SWARM:
            return {}
        text = inp.runner(None).run(["config", "--hash", "*"], stdin=json.dumps(model),
                                    project_dir=inp.project_dir, profiles=inp.profiles,
                                    reading=True)
        out: dict[str, str] = {}
        for line in text.splitlines():
            name, _, value = line.strip().partition(" ")
            if name and value:
                out[name] = value.strip()
        return out

    def _up(self, change: Change, started: datetime) -> ChangeResult:
        res = self.desired.get(change.ref)
        if res is None or not isinstance(res.document, Stack):
            raise PermanentError("not in the desired state", change.ref)
        stack = res.document
        host = self.host(stack.spec.host or "local")
        inp = stack_input(res, self.desired.root, self.ctx.secrets)
        key, model = self.renderer.model(inp)
        facts = self.renderer.cache.get(key)
        if facts is None:
            raise PermanentError("render facts missing after render", change.ref)
        state, _ = self.read(host, stack.name)
        project = state.project(stack.name)
        labels = stack_labels(facts, state, project, owner=self.ctx.owner,
                              resource=str(change.ref), revision=str(self.desired.revision),
                              root=self.desired.root)
        final = inject(model, labels)
        self.ctx.progress(change.ref, "deploying")
        build = any(s.build for s in facts.services.values())
        writes = self._deploy(host, stack, inp, final, build)
        hashes = self.hashes(host, inp, final)
        if hashes:
            self.renderer.cache.add_hashes(key, labels.digest(), hashes)
        applied = self.wait(host, stack, facts, change.ref)
        if applied.health.state in (HealthState.HEALTHY, HealthState.SUSPENDED):
            self._remember(res, stack, host, inp, final, facts, applied)
            return ChangeResult(
                ref=change.ref, action=change.action, outcome=ChangeOutcome.APPLIED,
                message=change.reason if change.action is ChangeAction.UPDATE else "",
                started_at=started, finished_at=datetime.now(UTC), writes=writes,
                data={"revision": str(self.desired.revision), "images": applied.images,
                      "health": applied.health.state.value},
            )
        reason = applied.health.message or applied.health.reason
        return self._rollback(res, stack, host, change, started, writes, reason)

    def _remember(self, res: DesiredResource, stack: Stack, host: Host, inp: StackInput,
                  final: dict[str, Any], facts: RenderFacts, applied: Applied) -> None:
        self.store.save_healthy(HealthyRecord(
            stack=stack.name, host=host.name, revision=str(self.desired.revision),
            digest=res.digest, project_dir=inp.project_dir, profiles=inp.profiles,
            model=redact_model(final, inp.secrets), secrets=tuple(sorted(inp.secrets)),
            files={n: service_files(s, self.desired.root) for n, s in facts.services.items()},
            images=applied.images, applied_at=datetime.now(UTC),
        ))

    def wait(self, host: Host, stack: Stack, facts: RenderFacts, ref: ResourceRef) -> Applied:
        """Poll the stack until healthy, degraded, or its health timeout."""
        if not self.ctx.options.wait:
            return Applied(Health(state=HealthState.HEALTHY, reason="NotWaited"), {})
        deadline = time.monotonic() + duration_seconds(stack.spec.health.timeout)
        stopped = stack.spec.state is StackState.STOPPED
        while True:
            state, restarts = self.read(host, stack.name)
            project = state.project(stack.name)
            health = evaluate(project, facts.services, stopped=stopped, restarts=restarts)
            images = _images(project)
            if health.state in (HealthState.HEALTHY, HealthState.SUSPENDED,
                                HealthState.DEGRADED):
                return Applied(health, images)
            if time.monotonic() >= deadline:
                return Applied(Health(
                    state=HealthState.DEGRADED, reason="Timeout",
                    message=f"not healthy after {stack.spec.health.timeout}: "
                    f"{health.message or health.reason}"), images)
            self.ctx.progress(ref, f"waiting: {health.message or health.reason}")
            time.sleep(POLL_SECONDS)

    def _rollback(self, res: DesiredResource, stack: Stack, host: Host, change: Change,
                  started: datetime, writes: int, reason: str) -> ChangeResult:
        revision = str(self.desired.revision)
        previous = self.store.get(stack.name).healthy
        # A stack that moved is not rolled back on its new host: its last healthy
        # deployment still runs on the old one, which stays until the move succeeds.
        can = (stack.spec.rollback and previous is not None and previous.digest != res.digest
               and previous.host == host.name)
        if not can or previous is None:
            self.store.save_failure(FailureRecord(
                stack=stack.name, host=host.name, revision=revision, digest=res.digest,
                reason=reason, at=datetime.now(UTC)))
            return ChangeResult(
                ref=change.ref, action=change.action, outcome=ChangeOutcome.FAILED,
                message=f"revision {revision} did not become healthy: {reason}",
                started_at=started, finished_at=datetime.now(UTC), writes=writes,
                data={"revision": revision, "health": HealthState.DEGRADED.value})
        self.ctx.progress(change.ref, f"rolling back to {previous.revision}")
        secrets = self._secrets(previous.secrets)
        model = restore_model(previous.model, secrets)
        inp = StackInput(ref=change.ref, project=stack.name, project_dir=previous.project_dir,
                         root=self.desired.root, files=(), inline=None, raw=(), env={},
                         secrets=secrets, profiles=previous.profiles)
        writes += self._deploy(host, stack, inp, model, build=False)
        applied = self.wait(host, stack, facts_of("rollback", model, {}), change.ref)
        self.store.save_failure(FailureRecord(
            stack=stack.name, host=host.name, revision=revision, digest=res.digest,
            reason=reason, rolled_back_to=previous.revision, at=datetime.now(UTC)))
        ok = applied.health.state is HealthState.HEALTHY
        message = (f"revision {revision} did not become healthy ({reason}); "
                   f"rolled back to {previous.revision}"
                   + ("" if ok else f", which is not healthy either: {applied.health.message}"))
        return ChangeResult(
            ref=change.ref, action=change.action,
            outcome=ChangeOutcome.ROLLED_BACK if ok else ChangeOutcome.FAILED,
            message=message, started_at=started, finished_at=datetime.now(UTC), writes=writes,
            data={"revision": revision, "failed_revision": revision,
                  "rolled_back_to": previous.revision, "reason": reason,
                  "health": HealthState.DEGRADED.value, "images": applied.images})

    def _secrets(self, names: tuple[str, ...]) -> dict[str, Sensitive]:
        out: dict[str, Sensitive] = {}
        for name in names:
            secret, _, key = name.partition("#")
            out[name] = self.ctx.secrets.resolve(SecretRef(secret=secret, key=key))
        return out


def _images(project: Project) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in project.containers:
        if c.image_id and c.service:
            out[c.service] = c.image_id
    for s in project.services:
        out[s.service] = s.image
    return out
