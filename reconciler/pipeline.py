"""The one place that runs the stages in order.

source -> load -> validate -> resolve -> policy -> observe -> plan -> apply -> record

Triggers (CLI, poll timer, webhook, watcher, schedule, API) call these
functions; none of them reconciles on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler import binding, gcpause
from reconciler import load as load_stage
from reconciler import observe as observe_stage
from reconciler import plan as plan_stage
from reconciler import policy as policy_stage
from reconciler import resolve as resolve_stage
from reconciler import validate as validate_stage
from reconciler.apply import apply_plan
from reconciler.errors import BosunError, ConfigError, PolicyViolation
from reconciler.model.common import ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.kinds import Policy
from reconciler.model.plan import ApplyReport, ChangeResult, Plan, PlanWarning, PolicyResult
from reconciler.model.source import Revision
from reconciler.model.status import Health, HealthState, ResourceDetails
from reconciler.observe import Observations
from reconciler.provider import (
    ApplyOptions,
    ComposeRenderer,
    Describer,
    KeyValueStore,
    Provider,
    ProviderContext,
)
from reconciler.registry import select_providers
from reconciler.secrets import Secrets

log = logging.getLogger("bosun")

# The process-wide pause of the garbage collector (shared with providers).
gc_paused = gcpause.paused


def load_desired(root: Path, revision: Revision | None = None) -> DesiredState:
    """Load, validate and resolve the repository at ``root``.

    Raises ``ConfigError`` with every problem found; nothing else happens. The
    resolve stage runs even when documents failed validation (references to
    them are not reported twice), so that one run shows every problem; it is
    left out only when a file could not be read at all, since the documents
    in it, and so every reference to them, are unknown.
    """
    root = root.resolve()
    with gc_paused():
        loaded = load_stage.load(root)
        checked = validate_stage.validate_all(loaded.documents, loaded.repository)
        problems = [*loaded.problems, *checked.problems]
        if loaded.broken_files or (loaded.problems and not loaded.files):
            raise ConfigError(problems)
        invalid = set(checked.invalid)
        for doc in loaded.rejected:
            ref = validate_stage.raw_ref(doc)
            if ref is not None:
                invalid.add(ref)
        return resolve_stage.resolve(
            root, revision or Revision(), checked.validated, checked.repository,
            invalid=invalid, problems=problems,
        )


@dataclass
class Reconciler:
    """Plans and applies one repository against its providers."""

    state_dir: Path
    provider_names: Sequence[str] | None = None
    options: ApplyOptions = field(default_factory=ApplyOptions)
    environ: Mapping[str, str] | None = None
    builtin_policies: Sequence[Policy] = field(default_factory=policy_stage.builtin_library)
    progress: Callable[[Any, str], None] | None = None
    kv: KeyValueStore | None = None
    providers: list[Provider] = field(init=False)
    provider_warnings: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.providers, self.provider_warnings = select_providers(self.provider_names)

    def context(self, desired: DesiredState) -> ProviderContext:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {}
        if self.progress is not None:
            kwargs["progress"] = self.progress
        return ProviderContext(
            state_dir=self.state_dir, owner=desired.owner,
            secrets=Secrets(desired, self.environ), options=self.options, log=log,
            kv=self.kv, **kwargs,
        )

    def rendered(
        self, desired: DesiredState, ctx: ProviderContext
    ) -> tuple[dict[str, dict[str, Any]], list[PlanWarning]]:
        """Compose models as the providers render them, for the policy stage."""
        models: dict[str, dict[str, Any]] = {}
        warnings: list[PlanWarning] = []
        for provider in self.providers:
            if not isinstance(provider, ComposeRenderer):
                continue
            try:
                models.update(provider.render_compose(desired, ctx))
            except BosunError as exc:
                warnings.append(PlanWarning(message=(
                    f"{provider.name}: compose models could not be rendered ({exc}); "
                    "policies judged the compose files as written"
                )))
        return models, warnings

    def policy(
        self, desired: DesiredState, ctx: ProviderContext | None = None
    ) -> tuple[list[PolicyResult], list[PlanWarning]]:
        """Policy results for ``desired`` (built-ins and the repository's own).

        Raises ``ConfigError`` when the repository's policy settings are unusable.
        """
        ctx = ctx or self.context(desired)
        models, warnings = self.rendered(desired, ctx)
        return policy_stage.evaluate(desired, self.builtin_policies, models), warnings

    def plan(self, desired: DesiredState, ctx: ProviderContext | None = None) -> Plan:
        return self.observe_and_plan(desired, ctx)[0]

    def observe(self, desired: DesiredState, ctx: ProviderContext | None = None
                ) -> Observations:
        """Every provider's actual state (failures recorded, never raised)."""
        return observe_stage.observe(desired, self.providers, ctx or self.context(desired))

    def observe_and_plan(
        self, desired: DesiredState, ctx: ProviderContext | None = None
    ) -> tuple[Plan, Observations]:
        """The plan, and the observations it was made from (for health)."""
        ctx = ctx or self.context(desired)
        policy, policy_warnings = self.policy(desired, ctx)
        observations = observe_stage.observe(desired, self.providers, ctx)
        warnings = [PlanWarning(message=w) for w in self.provider_warnings] + policy_warnings
        with gc_paused():
            plan = plan_stage.make_plan(
                desired, self.providers, observations.states, dict(observations.errors), ctx,
                policy=policy, warnings=warnings,
            )
        return binding.sanitize(plan, ctx.secrets.known()), observations

    def health(
        self, desired: DesiredState, observations: Observations,
        ctx: ProviderContext | None = None,
    ) -> dict[ResourceRef, Health]:
        """Health of every desired resource a provider handles, from ``observations``.

        A provider whose state could not be read reports its resources Unknown.
        """
        ctx = ctx or self.context(desired)
        out: dict[ResourceRef, Health] = {}
        for provider in self.providers:
            mine = [r.ref for r in desired.resources if r.ref.kind in provider.kinds]
            if provider.name in observations.errors:
                message = str(observations.errors[provider.name])
                for ref in mine:
                    out[ref] = Health(state=HealthState.UNKNOWN, reason="ObserveFailed",
                                      message=message)
                continue
            try:
                out.update(provider.health(desired, observations.states[provider.name], ctx))
            except BosunError as exc:
                for ref in mine:
                    out[ref] = Health(state=HealthState.UNKNOWN, reason="HealthFailed",
                                      message=str(exc))
        return out

    def details(
        self, desired: DesiredState, observations: Observations,
        ctx: ProviderContext | None = None,
    ) -> dict[ResourceRef, ResourceDetails]:
        """What providers that describe their resources recorded (services, containers,
        upstreams), from ``observations``; a provider that fails to describe is left out."""
        ctx = ctx or self.context(desired)
        out: dict[ResourceRef, ResourceDetails] = {}
        for provider in self.providers:
            state = observations.states.get(provider.name)
            if state is None or not isinstance(provider, Describer):
                continue
            try:
                out.update(provider.describe(desired, state, ctx))
            except BosunError as exc:
                log.warning("provider %s could not describe its resources: %s",
                            provider.name, exc)
        return out

    def apply(
        self, plan: Plan, desired: DesiredState, ctx: ProviderContext | None = None,
        on_result: Callable[[ChangeResult], None] | None = None,
        should_stop: Callable[[], str | None] | None = None,
    ) -> ApplyReport:
        """Apply ``plan``. ``should_stop`` is asked before each batch starts; a reason
        from it leaves the remaining batches unapplied (skipped, with that reason).
        """
        if plan.blocked:
            rules = sorted({p.rule for p in plan.policy if p.enforced})
            raise PolicyViolation(
                f"enforced policy rules failed ({', '.join(rules)}); nothing was applied"
            )
        ctx = ctx or self.context(desired)
        return apply_plan(plan, desired, self.providers, ctx, on_result=on_result,
                          should_stop=should_stop)

    def apply_saved(
        self, saved: Plan, desired: DesiredState, ctx: ProviderContext | None = None,
        on_result: Callable[[ChangeResult], None] | None = None,
    ) -> ApplyReport:
        """Apply a saved plan exactly, if it is still fresh.

        Re-reads the engines (a plan made now, never applied) and raises
        ``StalePlanError`` when the revision, the desired digest or the
        observed digest differ from the saved plan's; nothing is applied then.
        """
        ctx = ctx or self.context(desired)
        self.check_saved(saved, desired, ctx)
        return self.apply(saved, desired, ctx, on_result=on_result)

    def check_saved(
        self, saved: Plan, desired: DesiredState, ctx: ProviderContext | None = None
    ) -> None:
        """``StalePlanError`` unless ``saved`` was made against this revision and state."""
        binding.check_fresh(saved, self.plan(desired, ctx or self.context(desired)))
