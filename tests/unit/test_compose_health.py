"""Stack health from observed containers (no engine: container list entries as data)."""

from __future__ import annotations

from typing import Any

from providers.compose.health import evaluate
from providers.compose.observed import Container, Project
from providers.compose.render import ServiceFacts
from reconciler.model.status import HealthState


def container(service: str, state: str = "running", status: str = "Up 3 seconds",
              number: int = 1, labels: dict[str, str] | None = None) -> Container:
    raw: dict[str, Any] = {
        "Id": f"{service}{number}" * 4, "Names": [f"/p-{service}-{number}"], "State": state,
        "Status": status, "Labels": {"com.docker.compose.project": "p",
                                     "com.docker.compose.service": service,
                                     "com.docker.compose.container-number": str(number),
                                     **(labels or {})},
    }
    return Container.from_api(raw)


def facts(**kw: Any) -> ServiceFacts:
    return ServiceFacts(config="sha256:x", **kw)


def test_all_running_and_healthy() -> None:
    project = Project(name="p", containers=(
        container("web", status="Up 5 seconds (healthy)"), container("worker")))
    health = evaluate(project, {"web": facts(healthcheck=True), "worker": facts()})
    assert health.state is HealthState.HEALTHY


def test_health_starting_is_progressing() -> None:
    project = Project(name="p", containers=(
        container("web", status="Up 1 second (health: starting)"),))
    health = evaluate(project, {"web": facts(healthcheck=True)})
    assert health.state is HealthState.PROGRESSING
    assert "web: health starting" in health.message


def test_unhealthy_is_degraded() -> None:
    project = Project(name="p", containers=(container("web", status="Up 9 seconds (unhealthy)"),))
    health = evaluate(project, {"web": facts(healthcheck=True)})
    assert health.state is HealthState.DEGRADED
    assert "healthcheck failing" in health.message


def test_restart_loop_is_degraded() -> None:
    looping = container("web", state="restarting", status="Restarting (1) 2 seconds ago")
    assert evaluate(Project(name="p", containers=(looping,)),
                    {"web": facts(restart="always")}).state is HealthState.DEGRADED
    counted = container("web")
    health = evaluate(Project(name="p", containers=(counted,)), {"web": facts()},
                      restarts={counted.id: 5})
    assert health.state is HealthState.DEGRADED
    assert "restart loop" in health.message


def test_one_shot_that_exited_zero_is_done() -> None:
    project = Project(name="p", containers=(
        container("migrate", state="exited", status="Exited (0) 3 seconds ago"),
        container("web")))
    health = evaluate(project, {"migrate": facts(restart="no"), "web": facts()})
    assert health.state is HealthState.HEALTHY
    failed = Project(name="p", containers=(
        container("migrate", state="exited", status="Exited (2) 3 seconds ago"),))
    health = evaluate(failed, {"migrate": facts()})
    assert health.state is HealthState.DEGRADED
    assert "exited with code 2" in health.message


def test_missing_service_and_missing_stack() -> None:
    project = Project(name="p", containers=(container("web"),))
    health = evaluate(project, {"web": facts(), "db": facts()})
    assert health.state is HealthState.DEGRADED
    assert "db: no container" in health.message
    assert evaluate(Project(name="p"), {"web": facts()}).state is HealthState.MISSING


def test_stopped_stack_is_suspended() -> None:
    project = Project(name="p", containers=(
        container("web", state="exited", status="Exited (137) 1 second ago"),))
    assert evaluate(project, {"web": facts()}, stopped=True).state is HealthState.SUSPENDED


def test_podman_health_comes_from_inspect() -> None:
    raw = {"Id": "abc", "Names": ["p-web-1"], "State": "running", "Status": "Up 7 seconds",
           "Labels": {"com.docker.compose.project": "p", "com.docker.compose.service": "web"}}
    listed = Container.from_api(raw)
    assert listed.health is None
    inspected = Container.from_api(raw, {"State": {"Status": "running",
                                                   "Health": {"Status": "healthy"}},
                                         "RestartCount": 1})
    assert inspected.health == "healthy"
    assert inspected.restarts == 1
