"""What every action shares: its context, its outcome, the Action protocol.

engine -> **runs** <- actions, containers

Each action's ``run`` blocks until it ends and says how (``Outcome``); the
engine calls ``kill`` from another thread on timeout, on ``concurrency:
replace`` and when bosun stops, then waits ``kill_grace`` seconds at most.
A string ``command`` is a shell line (``sh -c``); a list is the argv.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from providers.compose.render import Renderer
from providers.engine import EngineClients
from providers.scheduler.output import OutputTail
from reconciler.model.desired import DesiredState
from reconciler.model.schedule import ScheduleRunReason, ScheduleRunResult
from reconciler.model.sensitive import Sensitive
from reconciler.provider import ProviderContext, ServiceHost


@dataclass(frozen=True)
class Outcome:
    result: ScheduleRunResult
    reason: ScheduleRunReason
    exit_code: int | None = None
    message: str = ""


@dataclass
class RunContext:
    """What actions need from the latest reconcile and from the provider."""

    desired: DesiredState
    ctx: ProviderContext
    clients: EngineClients
    renderer: Renderer
    host: ServiceHost
    instance: str


class Action(Protocol):
    kill_grace: float
    """Seconds a killed action may take to return before its run is recorded anyway."""

    def run(self, out: OutputTail) -> Outcome: ...

    def kill(self) -> None: ...

    def secrets(self) -> list[Sensitive]: ...


def argv(command: list[str] | str) -> list[str]:
    return ["sh", "-c", command] if isinstance(command, str) else list(command)
