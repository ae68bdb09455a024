"""The provider contract: how stages talk to Docker, Podman, Caddy, DNS servers.

A provider handles some kinds. ``observe`` reads actual state in bulk (one call
per host, gateway or zone); ``plan`` diffs desired against observed into
``Change`` objects; ``apply`` carries out a batch of changes (a batch is what
``batch_key`` groups: all routes of one gateway, all records of one zone, one
stack); ``health`` reads health from what was observed. Providers translate
engine errors into ``reconciler.errors`` types at their boundary.

First-party providers live in ``providers/``; others register through the
``bosun.providers`` entry-point group.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from reconciler.model.common import Kind, ResourceRef, SecretRef
from reconciler.model.desired import DesiredState
from reconciler.model.plan import Change, ChangeResult, PlanError, PlanWarning
from reconciler.model.schedule import ScheduleRun
from reconciler.model.sensitive import Sensitive
from reconciler.model.status import Health, ResourceDetails


class SecretResolver(Protocol):
    def resolve(self, ref: SecretRef) -> Sensitive:
        """The value of one secret key; raises ``PermanentError`` when unavailable."""
        ...

    def values(self, name: str) -> dict[str, Sensitive]:
        """Every key of one Secret."""
        ...

    def known(self) -> list[Sensitive]:
        """Every value resolved so far, for redacting output."""
        ...


class KeyValueStore(Protocol):
    """Durable JSON values by namespace and key, kept across restarts (the state store).

    For what neither the repository nor the engines can tell a provider, above
    all the last config that was healthy, for rollback. Convention: namespace
    = the provider's name (plus a purpose, e.g. ``compose.last-healthy``), key
    = ``str(ref)``. Values are plain JSON data and never secret values.
    """

    def kv_get(self, namespace: str, key: str) -> Any | None: ...

    def kv_put(self, namespace: str, key: str, value: Any) -> None: ...

    def kv_delete(self, namespace: str, key: str) -> None: ...

    def kv_items(self, namespace: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ApplyOptions:
    force: bool = False
    allow_empty: bool = False
    concurrency: int = 4
    wait: bool = True


def _no_progress(ref: ResourceRef, step: str) -> None:
    return None


@dataclass(frozen=True)
class ProviderContext:
    state_dir: Path
    owner: str
    secrets: SecretResolver
    options: ApplyOptions = field(default_factory=ApplyOptions)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("bosun"))
    progress: Callable[[ResourceRef, str], None] = _no_progress
    extra: dict[str, Any] = field(default_factory=dict)
    kv: KeyValueStore | None = None
    """The state store's key-value table; None when bosun runs without one."""


@runtime_checkable
class Provider(Protocol):
    name: str
    kinds: frozenset[Kind]

    def observe(self, desired: DesiredState, ctx: ProviderContext) -> Any:
        """Read actual state in bulk. Raise ``ObserveError`` when it cannot be read."""
        ...

    def plan(self, desired: DesiredState, observed: Any, ctx: ProviderContext) -> list[Change]:
        """Changes that make observed equal desired for this provider's kinds."""
        ...

    def batch_key(self, change: Change) -> str:
        """Changes with the same key are applied in one ``apply`` call."""
        ...

    def apply(
        self, changes: Sequence[Change], desired: DesiredState, ctx: ProviderContext
    ) -> list[ChangeResult]:
        """Carry out the changes; one result per change, in the same order."""
        ...

    def health(
        self, desired: DesiredState, observed: Any, ctx: ProviderContext
    ) -> dict[ResourceRef, Health]:
        """Health of each of this provider's desired resources, from what was observed."""
        ...


@dataclass(frozen=True)
class PlanOutcome:
    """A provider's plan with what it noticed but will not change, and per-resource errors."""

    changes: list[Change] = field(default_factory=list)
    warnings: list[PlanWarning] = field(default_factory=list)
    errors: list[PlanError] = field(default_factory=list)


@runtime_checkable
class DetailedPlanner(Protocol):
    """Optional: a provider that also reports plan warnings and per-resource errors.

    The plan stage calls ``plan_detailed`` instead of ``plan`` when a provider
    has it: drift left alone (``selfHeal: false``) becomes a warning, a stack
    that cannot be rendered an error for that stack alone.
    """

    def plan_detailed(
        self, desired: DesiredState, observed: Any, ctx: ProviderContext
    ) -> PlanOutcome: ...


@runtime_checkable
class ComposeRenderer(Protocol):
    """Optional for providers that run compose: the model as the engine will see it.

    The policy stage judges a Stack by the model this returns (``docker compose
    config``: interpolated, merged, long syntax) instead of the files as
    written. Stacks missing from the result (not this provider's, or not
    renderable) are judged by the files as written; raise ``BosunError`` only
    when nothing could be rendered.
    """

    def render_compose(
        self, desired: DesiredState, ctx: ProviderContext
    ) -> dict[str, dict[str, Any]]:
        """Stack name -> rendered compose model."""
        ...


@runtime_checkable
class Forgetter(Protocol):
    """Optional: a provider that remembers what it made outside the repository's reach.

    A Host or DNSZone removed from the repository takes the way to reach it
    along; what bosun made there keeps running, and the provider warns on
    every plan. ``bosun forget Kind/name`` calls this to drop the memory
    (nothing is touched on the engine or server); it answers what was
    forgotten, one line each, or nothing when the ref is not its concern.
    """

    def forget(self, ref: ResourceRef, state_dir: Path, kv: KeyValueStore | None
               ) -> list[str]: ...


@runtime_checkable
class PartialObservation(Protocol):
    """An observation where some hosts, gateways or zones could not be read.

    The plan stage reports each failure as a plan error; the provider plans no
    change (above all no delete) for the resources the failure covers.
    """

    def failures(self) -> list[tuple[ResourceRef | None, str]]: ...


class ScheduleRunStore(Protocol):
    """Where schedule runs are recorded (the state store's ``schedule_runs`` table)."""

    def save_schedule_run(self, run: ScheduleRun, keep: int | None = None) -> int: ...

    def schedule_history(self, schedule: str | None = None, limit: int = 20,
                         output: bool = True) -> list[ScheduleRun]: ...

    def last_schedule_runs(self) -> dict[str, ScheduleRun]: ...

    def interrupt_schedule_runs(self, message: str) -> list[ScheduleRun]: ...


class ServiceHost(Protocol):
    """What ``bosun serve`` offers a provider that works in the background.

    ``reconcile`` only puts a request on the runtime's queue (triggers never
    reconcile themselves); it answers False when the request merged into one
    already waiting, or bosun is stopping.
    """

    @property
    def kv(self) -> KeyValueStore: ...

    @property
    def runs(self) -> ScheduleRunStore: ...

    @property
    def stopping(self) -> bool: ...

    def reconcile(self, resources: Sequence[ResourceRef], reason: str) -> bool: ...

    def suspended(self) -> frozenset[ResourceRef]: ...

    def record_event(self, kind: str, message: str, level: str = "info",
                     ref: ResourceRef | None = None) -> None:
        """Add an event to the state store (the API, the dashboard); ``level`` is
        ``info``, ``warning`` or ``error``. Never a secret value."""
        ...


@runtime_checkable
class BackgroundProvider(Protocol):
    """Optional: a provider with work of its own while ``bosun serve`` runs (the scheduler,
    the Caddy provider's supervision of the embedded Caddy).

    The runtime calls ``start_background`` once its workers run, before the
    start-up reconcile, and ``stop_background`` when it stops; the provider
    finishes (or stops) what it started within ``timeout`` seconds and says
    whether it did.
    """

    def start_background(self, host: ServiceHost) -> None: ...

    def stop_background(self, timeout: float) -> bool: ...


@runtime_checkable
class Describer(Protocol):
    """Optional: a provider that records what people want to see of its resources.

    Stacks: their services and containers; routes: their hosts and upstreams.
    Called after health, from the same observation; never secret values.
    """

    def describe(
        self, desired: DesiredState, observed: Any, ctx: ProviderContext
    ) -> dict[ResourceRef, ResourceDetails]: ...


def observed_digest_part(value: Any) -> Any:
    """What of an observation goes into the plan's observed digest."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    return value


__all__ = [
    "ApplyOptions",
    "BackgroundProvider",
    "ComposeRenderer",
    "Describer",
    "DetailedPlanner",
    "Forgetter",
    "KeyValueStore",
    "PartialObservation",
    "PlanOutcome",
    "Provider",
    "ProviderContext",
    "ScheduleRunStore",
    "SecretResolver",
    "Sequence",
    "ServiceHost",
    "observed_digest_part",
]
