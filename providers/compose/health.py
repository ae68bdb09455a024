"""Health of a stack from what was observed of its containers or swarm services.

observe -> **health** (status, and apply's wait for a new revision)

Healthy: every service runs (a one-shot service that exited 0 and does not
restart counts as done) and those with a healthcheck are healthy.
Progressing: containers are being created or their healthcheck is starting.
Degraded: a container is unhealthy, restarting, exited with an error, or a
service has fewer containers than it should. Missing: nothing runs.
Suspended: the stack is declared ``state: stopped``.
"""

from __future__ import annotations

from collections.abc import Mapping

from providers.compose.observed import Container, Project
from providers.compose.render import ServiceFacts
from reconciler.model.status import Health, HealthState

# A container that restarted this often since it was created is in a loop.
RESTART_LOOP = 3


def _done(c: Container, facts: ServiceFacts | None) -> bool:
    restart = facts.restart if facts else "no"
    return c.state == "exited" and c.exit_code == 0 and restart in ("no", "on-failure")


def evaluate(
    project: Project,
    services: Mapping[str, ServiceFacts] | None,
    *,
    stopped: bool = False,
    restarts: Mapping[str, int] | None = None,
) -> Health:
    """Health of one compose project; ``restarts`` maps container id -> restart count."""
    if project.services:
        return evaluate_swarm(project, services)
    containers = [c for c in project.containers if not c.oneoff]
    if not containers:
        return Health(state=HealthState.MISSING, reason="NotDeployed",
                      message="no container of this stack exists")
    if stopped:
        running = [c.service for c in containers if c.running]
        if running:
            return Health(state=HealthState.PROGRESSING, reason="Stopping",
                          message=f"still running: {', '.join(sorted(set(running)))}")
        return Health(state=HealthState.SUSPENDED, reason="Stopped")
    names = sorted(services) if services is not None else sorted({c.service for c in containers})
    degraded: list[str] = []
    waiting: list[str] = []
    for name in names:
        facts = services.get(name) if services is not None else None
        mine = project.service_containers(name)
        want = facts.replicas if facts else 1
        if want == 0:
            continue
        if not mine:
            degraded.append(f"{name}: no container")
            continue
        if len(mine) < want:
            degraded.append(f"{name}: {len(mine)} of {want} containers")
        for c in mine:
            count = (restarts or {}).get(c.id, 0)
            if c.state == "restarting" or count >= RESTART_LOOP:
                degraded.append(f"{name}: restart loop ({count} restarts, {c.status})")
            elif c.state in ("exited", "dead"):
                if not _done(c, facts):
                    code = "" if c.exit_code is None else f" with code {c.exit_code}"
                    degraded.append(f"{name}: exited{code}")
            elif c.state in ("created", "paused"):
                waiting.append(f"{name}: {c.state}")
            elif c.health == "unhealthy":
                degraded.append(f"{name}: healthcheck failing")
            elif c.health == "starting" or (facts is not None and facts.healthcheck
                                            and c.health is None and c.running):
                waiting.append(f"{name}: health starting")
    return _verdict(degraded, waiting)


def evaluate_swarm(project: Project, services: Mapping[str, ServiceFacts] | None) -> Health:
    degraded: list[str] = []
    waiting: list[str] = []
    by_name = {s.service: s for s in project.services}
    for name in sorted(services) if services is not None else sorted(by_name):
        svc = by_name.get(name)
        if svc is None:
            degraded.append(f"{name}: no swarm service")
            continue
        want = svc.replicas if svc.replicas is not None else 1
        have = svc.running_tasks()
        failed = svc.failed_tasks()
        if have >= want:
            continue
        if len(failed) >= RESTART_LOOP:
            last = failed[-1].error or f"exit code {failed[-1].exit_code}"
            degraded.append(f"{name}: {len(failed)} failed tasks ({last})")
        else:
            waiting.append(f"{name}: {have} of {want} tasks running")
    return _verdict(degraded, waiting)


def _verdict(degraded: list[str], waiting: list[str]) -> Health:
    """Degraded when a service fails, Progressing while one starts, else Healthy."""
    if degraded:
        return Health(state=HealthState.DEGRADED, reason="ServicesFailing",
                      message="; ".join(degraded))
    if waiting:
        return Health(state=HealthState.PROGRESSING, reason="Starting",
                      message="; ".join(waiting))
    return Health(state=HealthState.HEALTHY)
