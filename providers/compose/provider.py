"""``ComposeProvider``: Stacks on Docker and Podman hosts, through Compose.

The provider Protocol's entry points, wired to the modules of this package:
``hosts`` (engine selection and the bulk read), ``render`` (Compose renders
and their cache), ``planner``, ``deploy`` (apply, health wait, rollback),
``health`` and ``store`` (what is remembered between reconciles).
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from providers.compose.deletes import PROVIDER
from providers.compose.deploy import StackDeployer
from providers.compose.describe import describe_stacks
from providers.compose.health import evaluate
from providers.compose.hosts import desired_hosts, observe_hosts, stack_host
from providers.compose.observed import ComposeObservation
from providers.compose.planner import plan_stacks
from providers.compose.render import (
    Renderer,
    Renderers,
    RenderFacts,
    input_key,
    stack_input,
)
from providers.compose.store import FileStackStore, KVStackStore, StackStore
from providers.compose.target import StackLabels, inject
from providers.engine import EngineClients
from reconciler.errors import BosunError
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredResource, DesiredState
from reconciler.model.kinds import Stack, StackState
from reconciler.model.plan import Change, ChangeResult
from reconciler.model.status import Health, HealthState, ResourceDetails
from reconciler.provider import KeyValueStore, PlanOutcome, ProviderContext


def _store(state_dir: Path, kv: KeyValueStore | None) -> StackStore:
    if kv is not None:
        return KVStackStore(kv)
    return FileStackStore(state_dir / "compose" / "stacks")


class ComposeProvider:
    name = PROVIDER
    kinds = frozenset({Kind.STACK})

    def __init__(self, clients: EngineClients | None = None) -> None:
        self.clients = clients or EngineClients()
        # The API clients' sockets close with the provider, not at interpreter exit.
        weakref.finalize(self, self.clients.close)
        self._renderers = Renderers()

    # -- state folder ---------------------------------------------------------

    def renderer(self, ctx: ProviderContext) -> Renderer:
        return self._renderers.of(ctx.state_dir)

    def store(self, ctx: ProviderContext) -> StackStore:
        return _store(ctx.state_dir, ctx.kv)

    # -- Protocol -------------------------------------------------------------

    def observe(self, desired: DesiredState, ctx: ProviderContext) -> ComposeObservation:
        hosts = desired_hosts(desired, self.store(ctx).hosts())
        observed = observe_hosts(self.clients, hosts, ctx.owner)
        if not observed.host_errors:
            return observed
        # Say which stacks the failure leaves unplanned.
        errors = dict(observed.host_errors)
        for host_name in errors:
            names = sorted(r.ref.name for r in desired.of_kind(Kind.STACK)
                           if isinstance(r.document, Stack)
                           and stack_host(r.document) == host_name)
            if names:
                shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
                errors[host_name] += f" (not planned: {len(names)} stack(s): {shown})"
        return observed.model_copy(update={"host_errors": errors})

    def plan(self, desired: DesiredState, observed: ComposeObservation,
             ctx: ProviderContext) -> list[Change]:
        return self.plan_detailed(desired, observed, ctx).changes

    def plan_detailed(self, desired: DesiredState, observed: ComposeObservation,
                      ctx: ProviderContext) -> PlanOutcome:
        renderer = self.renderer(ctx)

        def hashes_of(res: DesiredResource, facts: RenderFacts,
                      labels: StackLabels) -> dict[str, str]:
            # Only when the cache lacks them (a fresh state folder, or labels
            # bosun has not applied itself): one `config --hash` run.
            inp = stack_input(res, desired.root, ctx.secrets)
            _, model = renderer.model(inp)
            text = inp.runner(None).run(
                ["config", "--hash", "*"], stdin=json.dumps(inject(model, labels)),
                project_dir=inp.project_dir, profiles=inp.profiles, reading=True)
            out = dict(line.split(" ", 1) for line in text.splitlines() if " " in line)
            renderer.cache.add_hashes(facts.key, labels.digest(), out)
            return out

        return plan_stacks(desired, observed, ctx, renderer, self.store(ctx), hashes_of)

    def render_compose(self, desired: DesiredState, ctx: ProviderContext
                       ) -> dict[str, dict[str, Any]]:
        """Stack name -> the model ``docker compose config`` renders, for the policy stage.

        The render facts' model: rendered once per input and cached (plan then
        finds it in the cache), with secret values as placeholders, so policies
        never see them. A stack that cannot be rendered (a missing secret, a
        broken file) is left out and judged by its files as written; the plan
        reports the error.
        """
        renderer = self.renderer(ctx)
        out: dict[str, dict[str, Any]] = {}
        for res in desired.of_kind(Kind.STACK):
            if res.compose is None:
                continue
            try:
                facts = renderer.facts(stack_input(res, desired.root, ctx.secrets))
            except BosunError:
                continue
            out[res.ref.name] = facts.model
        return out

    def forget(self, ref: ResourceRef, state_dir: Path, kv: KeyValueStore | None) -> list[str]:
        """Forget the stacks deployed on a Host removed from the repository (they keep running)."""
        if ref.kind is not Kind.HOST:
            return []
        return [f"stack {name} on host {ref.name}: left as it is"
                for name in _store(state_dir, kv).forget_host(ref.name)]

    def batch_key(self, change: Change) -> str:
        return str(change.ref)

    def apply(self, changes: Sequence[Change], desired: DesiredState,
              ctx: ProviderContext) -> list[ChangeResult]:
        deployer = StackDeployer(self.clients, self.renderer(ctx), self.store(ctx), ctx, desired)
        return [deployer.apply(change) for change in changes]

    def describe(self, desired: DesiredState, observed: ComposeObservation,
                 ctx: ProviderContext) -> dict[ResourceRef, ResourceDetails]:
        return describe_stacks(desired, observed, self.renderer(ctx).cache.peek)

    def health(self, desired: DesiredState, observed: ComposeObservation,
               ctx: ProviderContext) -> dict[ResourceRef, Health]:
        out: dict[ResourceRef, Health] = {}
        store = self.store(ctx)
        renderer = self.renderer(ctx)
        for res in desired.of_kind(Kind.STACK):
            stack = res.document
            if not isinstance(stack, Stack) or stack.spec.state is StackState.ABSENT:
                continue
            host_name = stack_host(stack)
            if host_name in observed.host_errors or host_name not in observed.hosts:
                out[res.ref] = Health(state=HealthState.UNKNOWN, reason="HostUnreachable",
                                      message=observed.host_errors.get(host_name, ""))
                continue
            project = observed.hosts[host_name].project(stack.name)
            services = None
            try:
                facts = renderer.cache.get(input_key(stack_input(res, desired.root,
                                                                 ctx.secrets)))
                services = facts.services if facts is not None else None
            except BosunError:
                services = None
            health = evaluate(project, services,
                              stopped=stack.spec.state is StackState.STOPPED)
            failure = store.get(stack.name).failure
            if failure is not None and failure.digest == res.digest:
                back = f"; rolled back to {failure.rolled_back_to}" \
                    if failure.rolled_back_to else ""
                health = Health(state=HealthState.DEGRADED, reason="RolledBack"
                                if failure.rolled_back_to else "Failed",
                                message=f"revision {failure.revision} did not become "
                                f"healthy: {failure.reason}{back}")
            out[res.ref] = health
        return out


__all__ = ["ComposeProvider"]

