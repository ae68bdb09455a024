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

from reconciler import binding
from reconciler import load as load_stage
from reconciler import observe as observe_stage
from reconciler import plan as plan_stage
from reconciler import policy as policy_stage
from reconciler import resolve as resolve_stage
from reconciler import validate as validate_stage
from reconciler.apply import apply_plan
from reconciler.errors import BosunError, ConfigError, PolicyViolation
from reconciler.model.desired import DesiredState
from reconciler.model.kinds import Policy
from reconciler.model.plan import ApplyReport, ChangeResult, Plan, PlanWarning, PolicyResult
from reconciler.model.source import Revision
from reconciler.provider import ApplyOptions, ComposeRenderer, Provider, ProviderContext
from reconciler.registry import select_providers
from reconciler.secrets import Secrets

log = logging.getLogger("bosun")


def load_desired(root: Path, revision: Revision | None = None) -> DesiredState:
    """Load, validate and resolve the repository at ``root``.

    Raises ``ConfigError`` with every problem found; nothing else happens.
    """
    root = root.resolve()
    loaded = load_stage.load(root)
    problems = list(loaded.problems)
    try:
        validated, repository = validate_stage.validate(loaded.documents, loaded.repository)
    except ConfigError as exc:
        raise ConfigError(problems + exc.problems) from None
    if problems:
        raise ConfigError(problems)
    return resolve_stage.resolve(root, revision or Revision(), validated, repository)


@dataclass
class Reconciler:
    """Plans and applies one repository against its providers."""

    state_dir: Path
    provider_names: Sequence[str] | None = None
    options: ApplyOptions = field(default_factory=ApplyOptions)
    environ: Mapping[str, str] | None = None
    builtin_policies: Sequence[Policy] = field(default_factory=policy_stage.builtin_library)
    progress: Callable[[Any, str], None] | None = None
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
            secrets=Secrets(desired, self.environ), options=self.options, log=log, **kwargs,
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
        ctx = ctx or self.context(desired)
        policy, policy_warnings = self.policy(desired, ctx)
        observations = observe_stage.observe(desired, self.providers, ctx)
        warnings = [PlanWarning(message=w) for w in self.provider_warnings] + policy_warnings
        made = plan_stage.make_plan(
            desired, self.providers, observations.states, dict(observations.errors), ctx,
            policy=policy, warnings=warnings,
        )
        return binding.sanitize(made, ctx.secrets.known())

    def apply(
        self, plan: Plan, desired: DesiredState, ctx: ProviderContext | None = None,
        on_result: Callable[[ChangeResult], None] | None = None,
    ) -> ApplyReport:
        if plan.blocked:
            rules = sorted({p.rule for p in plan.policy if p.enforced})
            raise PolicyViolation(
                f"enforced policy rules failed ({', '.join(rules)}); nothing was applied"
            )
        ctx = ctx or self.context(desired)
        return apply_plan(plan, desired, self.providers, ctx, on_result=on_result)

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
