"""Stage *plan*: providers diff desired against observed into one ordered ``Plan``.

... -> observe -> **plan** -> apply -> record

Changes are ordered deterministically: creates and updates in dependency order
(a stack before its routes, a zone before its records), then deletes, dependents
first. A provider whose state could not be read contributes an error and no
change: a failed read never turns into a delete.
"""

from __future__ import annotations

import graphlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from reconciler.errors import BosunError, UnsafePlanError
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.digest import digest
from reconciler.model.plan import (
    Change,
    ChangeAction,
    Plan,
    PlanError,
    PlanWarning,
    PolicyResult,
)
from reconciler.provider import (
    DetailedPlanner,
    PartialObservation,
    Provider,
    ProviderContext,
    observed_digest_part,
)

# Deletes run dependents first: routes and schedules before the stacks they use.
DELETE_RANK = {
    Kind.SCHEDULE: 0,
    Kind.ROUTE: 1,
    Kind.DNS_RECORD: 2,
    Kind.STACK: 3,
    Kind.GATEWAY: 4,
    Kind.DNS_ZONE: 5,
}


def dependency_order(desired: DesiredState) -> dict[ResourceRef, int]:
    """Position of each desired resource in a stable topological order."""
    graph = {r.ref: set(r.depends_on) for r in desired.resources}
    sorter = graphlib.TopologicalSorter(graph)
    sorter.prepare()
    order: dict[ResourceRef, int] = {}
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=ResourceRef.sort_key)
        for ref in ready:
            order[ref] = len(order)
        sorter.done(*ready)
    return order


def order_changes(changes: Sequence[Change], desired: DesiredState) -> tuple[Change, ...]:
    if not changes:
        return ()  # the steady state: no graph to sort
    order = dependency_order(desired)
    last = len(order)

    def key(change: Change) -> tuple[int, int, tuple[str, str, str]]:
        if change.action is ChangeAction.DELETE:
            return (1, DELETE_RANK.get(change.ref.kind, 9), change.sort_key())
        return (0, order.get(change.ref, last), change.sort_key())

    return tuple(sorted(changes, key=key))


def make_plan(
    desired: DesiredState,
    providers: Sequence[Provider],
    states: dict[str, Any],
    errors: dict[str, BosunError],
    ctx: ProviderContext,
    policy: Sequence[PolicyResult] = (),
    warnings: Sequence[PlanWarning] = (),
) -> Plan:
    """Ask each provider for its changes and assemble the plan.

    ``UnsafePlanError`` from a provider propagates: a plan that crosses a safety
    threshold is not made at all without ``--force``/``--allow-empty``.
    """
    changes: list[Change] = []
    plan_errors: list[PlanError] = []
    plan_warnings: list[PlanWarning] = list(warnings)
    for provider in providers:
        if provider.name in errors:
            plan_errors.append(
                PlanError(provider=provider.name, message=str(errors[provider.name]))
            )
            continue
        state = states[provider.name]
        if isinstance(state, PartialObservation):
            for ref, message in state.failures():
                plan_errors.append(PlanError(ref=ref, provider=provider.name, message=message))
        try:
            if isinstance(provider, DetailedPlanner):
                outcome = provider.plan_detailed(desired, state, ctx)
                changes.extend(outcome.changes)
                plan_warnings.extend(outcome.warnings)
                plan_errors.extend(outcome.errors)
            else:
                changes.extend(provider.plan(desired, state, ctx))
        except UnsafePlanError:
            raise
        except BosunError as exc:
            plan_errors.append(PlanError(provider=provider.name, message=str(exc)))
    observed = digest(
        {name: observed_digest_part(states[name]) for name in sorted(states)}
    )
    return Plan(
        revision=str(desired.revision),
        desired_digest=desired.digest,
        observed_digest=observed,
        changes=order_changes(changes, desired),
        warnings=tuple(plan_warnings),
        errors=tuple(plan_errors),
        policy=tuple(policy),
        created_at=datetime.now(UTC),
    )
