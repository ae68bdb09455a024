"""The Caddy provider: Gateways and Routes on Caddy's admin API.

Entry point ``caddy`` of ``bosun.providers``. ``observe`` reads each admin
endpoint once and the containers routes point at (``state``); ``plan``
compares per resource (``planner``); ``apply`` sends one guarded request per
gateway batch (``applier``); ``health`` sends a request through Caddy to each
route (``health``). Under ``bosun serve`` it is also a background provider:
it supervises the embedded Caddy while a Gateway uses it (``service``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from providers.caddy import applier, planner, state
from providers.caddy import health as health_checks
from providers.caddy.embedded import Announce, EmbeddedCaddy
from providers.caddy.service import Supervision
from providers.engine import EngineClients
from reconciler import gcpause
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.plan import Change, ChangeResult
from reconciler.model.status import Health
from reconciler.provider import ProviderContext, ServiceHost


class CaddyProvider:
    name = "caddy"
    kinds = frozenset({Kind.GATEWAY, Kind.ROUTE})

    def __init__(self) -> None:
        self._engines = EngineClients()
        self.supervision = Supervision()
        self._said: set[str] = set()

    def observe(self, desired: DesiredState, ctx: ProviderContext) -> state.CaddyObservation:
        with gcpause.paused():
            return state.observe(desired, ctx.state_dir, self._engines)

    def plan(self, desired: DesiredState, observed: state.CaddyObservation,
             ctx: ProviderContext) -> list[Change]:
        with gcpause.paused():
            return planner.plan(desired, observed, ctx, EmbeddedCaddy(ctx.state_dir).url)

    def batch_key(self, change: Change) -> str:
        # All changes of one gateway on one Caddy go in one request.
        return f"{change.payload.get('gateway')}@{change.payload.get('endpoint')}"

    def apply(self, changes: Sequence[Change], desired: DesiredState,
              ctx: ProviderContext) -> list[ChangeResult]:
        return applier.apply(changes, desired, ctx, self._engines, self._announcer(ctx))

    def health(self, desired: DesiredState, observed: state.CaddyObservation,
               ctx: ProviderContext) -> dict[ResourceRef, Health]:
        # Health runs once per reconcile of the followed revision (never for a
        # plan alone): the moment to (stop) supervising the embedded Caddy.
        self.supervision.follow(desired, ctx.state_dir)
        return health_checks.health(desired, observed, ctx)

    # -- bosun serve ------------------------------------------------------------

    def start_background(self, host: ServiceHost) -> None:
        self.supervision.start(host)

    def stop_background(self, timeout: float) -> bool:
        return self.supervision.stop(timeout)

    def _announcer(self, ctx: ProviderContext) -> Announce:
        """Where the embedded Caddy's start (or reuse) is said: serve's log, or the
        command line's stderr (each thing once per command)."""
        if self.supervision.serving:
            return ctx.log.info

        def say(message: str) -> None:
            if message not in self._said:
                self._said.add(message)
                print(f"bosun: {message}", file=sys.stderr, flush=True)

        return say
