"""Deletes of stacks: removed from the repository, declared absent, or moved to another host.

observe -> plan (**deletes**) -> apply

Only projects this owner deployed as that stack (``bosun.owner`` and
``bosun.resource`` labels) are deleted, and only on hosts that were read. A
stack removed from the repository keeps its volumes: only a ``state: absent``
stack with ``prune: {volumes: true}`` removes them, since a manifest gone
from a repository may be a mistake and data cannot be put back.

A stack whose ``host`` changed still runs on the old host (bosun remembers
every host it deployed a stack to, so that host is read). The plan deletes
that old deployment, with ``moved_to`` in the payload; apply removes it only
once the deployment on the new host is healthy (its create in the same batch
succeeded, or a read at apply time finds it healthy), and keeps its volumes:
data does not move with a stack. A ``state: absent`` stack found on a host
other than its own is deleted there as well.

Safety: deleting every stack of a host whose repository declares none needs
``--allow-empty`` (moves do not count); deleting more than ``MAX_DELETES``
stacks at once needs ``--force``.
"""

from __future__ import annotations

from providers.compose.health import evaluate
from providers.compose.hosts import stack_host
from providers.compose.observed import RESOURCE, ComposeObservation, Project
from providers.compose.render import Renderer, stack_input
from providers.compose.store import StackStore
from reconciler.errors import BosunError, UnsafePlanError
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredResource, DesiredState
from reconciler.model.kinds import Stack, StackState
from reconciler.model.plan import Change, ChangeAction, PlanWarning
from reconciler.model.status import HealthState
from reconciler.provider import PlanOutcome, ProviderContext

PROVIDER = "compose"
# Deleting more stacks than this in one plan needs --force.
MAX_DELETES = 5
SETTLED = (HealthState.HEALTHY, HealthState.SUSPENDED)


def delete_change(ref: ResourceRef, project: Project, reason: str, *, prune: bool,
                  payload: dict[str, str]) -> Change:
    details = [f"container {c.name}" for c in project.containers]
    details += [f"network {n.name}" for n in project.networks]
    details += [f"swarm service {s.name}" for s in project.services]
    if prune:
        details += [f"volume {v.name} (prune: volumes)" for v in project.volumes]
    elif project.volumes:
        details.append(f"kept: volumes {', '.join(v.name for v in project.volumes)}")
    return Change(action=ChangeAction.DELETE, ref=ref, provider=PROVIDER, reason=reason,
                  details=tuple(details), payload={**payload, "prune_volumes": prune})


def plan_deletes(desired: DesiredState, observed: ComposeObservation, ctx: ProviderContext,
                 declared: dict[str, set[str]], outcome: PlanOutcome, renderer: Renderer,
                 store: StackStore) -> None:
    deletes: list[Change] = []
    per_host: dict[str, int] = {}
    stacks = {r.ref.name: r for r in desired.of_kind(Kind.STACK) if isinstance(r.document, Stack)}
    for host_name, host in sorted(observed.hosts.items()):
        names = declared.get(host_name, set())
        for project in host.projects.values():
            if project.name in names or not project.exists or not project.owned_by(ctx.owner):
                continue
            resources = {c.labels.get(RESOURCE) for c in project.containers}
            resources |= {n.labels.get(RESOURCE) for n in project.networks}
            resources |= {s.labels.get(RESOURCE) for s in project.services}
            if resources != {f"Stack/{project.name}"}:
                continue
            res = stacks.get(project.name)
            if res is not None:  # declared, on another host
                change = _elsewhere(res, host_name, project, desired, observed, ctx,
                                    renderer, store, outcome)
                if change is not None:
                    deletes.append(change)
                continue
            deletes.append(delete_change(
                ResourceRef(kind=Kind.STACK, name=project.name), project,
                f"removed from the repository (was on host {host_name})", prune=False,
                payload={"host": host_name}))
            per_host[host_name] = per_host.get(host_name, 0) + 1
    for host_name, count in sorted(per_host.items()):
        if not declared.get(host_name) and not ctx.options.allow_empty:
            raise UnsafePlanError(
                f"the repository declares no stack on host {host_name}: the plan would "
                f"delete all {count} of bosun's stacks there", "--allow-empty")
    total = len(deletes) + sum(1 for c in outcome.changes if c.action is ChangeAction.DELETE)
    if total > MAX_DELETES and not ctx.options.force:
        raise UnsafePlanError(
            f"the plan deletes {total} stacks at once (more than {MAX_DELETES})", "--force")
    outcome.changes.extend(deletes)


def _elsewhere(res: DesiredResource, old: str, project: Project, desired: DesiredState,
               observed: ComposeObservation, ctx: ProviderContext, renderer: Renderer,
               store: StackStore, outcome: PlanOutcome) -> Change | None:
    """The delete of a deployment of ``res`` on a host other than its own, if due now."""
    stack = res.document
    assert isinstance(stack, Stack)
    if stack.spec.state is StackState.ABSENT:
        return delete_change(res.ref, project, f"state: absent in the repository (found on "
                             f"host {old})", prune=stack.spec.prune.volumes,
                             payload={"host": old})
    new = stack_host(stack)
    if new not in observed.hosts or any(e.ref == res.ref for e in outcome.errors):
        return None  # nothing is known of the new deployment: the old one stays
    failure = store.get(stack.name).failure
    if failure is not None and failure.digest == res.digest and not ctx.options.force:
        outcome.warnings.append(PlanWarning(ref=res.ref, message=(
            f"moved to host {new}, where revision {failure.revision} failed: the deployment "
            f"on host {old} is kept")))
        return None
    if not any(c.ref == res.ref for c in outcome.changes):
        # Nothing to apply on the new host: it must be healthy already.
        try:
            facts = renderer.facts(stack_input(res, desired.root, ctx.secrets))
        except BosunError:
            return None
        health = evaluate(observed.hosts[new].project(stack.name), facts.services,
                          stopped=stack.spec.state is StackState.STOPPED)
        if health.state not in SETTLED:
            outcome.warnings.append(PlanWarning(ref=res.ref, message=(
                f"moved to host {new}: the deployment on host {old} is kept until the one "
                f"on {new} is healthy ({health.message or health.reason})")))
            return None
    return delete_change(res.ref, project, f"moved to host {new}: removed from host {old} "
                         f"once healthy there", prune=False,
                         payload={"host": old, "moved_to": new})
