"""Plan for stacks: desired stacks against the observed projects, one Change per stack.

observe -> **plan** -> apply

A stack is created when nothing of it runs; updated when a service would be
recreated (its ``bosun.digest`` label, Compose's config hash, the image its
tag resolves to), started, stopped, or when a service left the model; deleted
when it left the repository or says ``state: absent``. Each change names the
services concerned and why, in one line. Drift (a container stopped, removed
or changed by hand) is put back when ``selfHeal`` is on, else reported as a
warning. An unchanged stack costs no render and no subprocess: its render
facts come from the cache and are compared with the labels of the one
container list.

Safety: a host whose read failed plans nothing. Deletes (stacks removed,
absent, moved to another host) and their thresholds are in ``deletes``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from providers.compose.deletes import PROVIDER, delete_change, plan_deletes
from providers.compose.hosts import stack_host
from providers.compose.observed import (
    CONFIG_HASH,
    DIGEST,
    IMAGE_DIGEST,
    ComposeObservation,
    HostState,
    Project,
)
from providers.compose.render import Renderer, RenderFacts, display_model, stack_input
from providers.compose.store import StackStore
from providers.compose.target import StackLabels, service_files, stack_labels
from reconciler.errors import BosunError
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredResource, DesiredState
from reconciler.model.diff import diff_values
from reconciler.model.kinds import Stack, StackState
from reconciler.model.plan import Change, ChangeAction, FieldDiff, PlanError, PlanWarning
from reconciler.provider import PlanOutcome, ProviderContext

MAX_REASON = 200

HashFn = Callable[[DesiredResource, RenderFacts, StackLabels], dict[str, str]]


@dataclass
class ServiceVerdict:
    """What plan found for one stack, service by service."""

    recreate: dict[str, str] = field(default_factory=dict)
    drift: dict[str, str] = field(default_factory=dict)
    start: list[str] = field(default_factory=list)
    stop: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)


def _short(text: str, limit: int = MAX_REASON) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _names(items: list[str]) -> str:
    return ", ".join(items[:6]) + (f" and {len(items) - 6} more" if len(items) > 6 else "")


def _field(path: str) -> str:
    """``services.web.environment.X.y`` -> ``environment.X``; other fields by their name."""
    parts = path.split(".")
    if parts[2] in ("environment", "labels", "deploy") and len(parts) > 3:
        return ".".join(parts[2:4])
    return parts[2]


def _what_changed(
    name: str, facts: RenderFacts, previous: dict[str, object] | None,
    old_files: dict[str, str], new_files: dict[str, str],
) -> tuple[str, list[FieldDiff]]:
    """Why one service's digest moved, as a short phrase and field diffs."""
    diffs: list[FieldDiff] = []
    before = previous.get(name) if isinstance(previous, dict) else None
    after = facts.model.get("services", {}).get(name)
    if isinstance(before, dict) and isinstance(after, dict):
        plain_before = {k: v for k, v in before.items() if k != "labels"}
        before_labels = {k: v for k, v in (before.get("labels") or {}).items()
                         if not k.startswith("bosun.")}
        if before_labels:
            plain_before["labels"] = before_labels
        for d in diff_values(display_model(plain_before), display_model(after),
                             prefix=f"services.{name}"):
            diffs.append(d.model_copy(update={
                "sensitive": "(sensitive" in repr(d.before) + repr(d.after)}))
    changed_files = sorted(p for p in set(old_files) | set(new_files)
                           if old_files.get(p) != new_files.get(p))
    parts: list[str] = []
    if diffs:
        fields = sorted({_field(d.path) for d in diffs if d.path.count(".") >= 2})
        shown = ", ".join(fields[:4]) + (f" and {len(fields) - 4} more" if len(fields) > 4
                                         else "")
        parts.append(f"{shown} changed")
    context = facts.services[name].build_context if name in facts.services else None
    if context in changed_files:
        parts.append(f"build context {context.rsplit('/', 1)[-1]} changed")
        changed_files.remove(context)
    if changed_files:
        shown = ", ".join(p.rsplit("/", 1)[-1] for p in changed_files[:3])
        parts.append(f"mounted file {shown} changed" if len(changed_files) == 1
                     else f"mounted files {shown} changed")
    if not parts:
        parts.append("configuration changed (bosun.digest differs)")
    return "; ".join(parts), diffs


def judge(
    res: DesiredResource, stack: Stack, facts: RenderFacts, host: HostState, project: Project,
    labels: StackLabels, hashes: Callable[[], dict[str, str] | None],
    previous: dict[str, object] | None, previous_files: dict[str, dict[str, str]], root: str,
) -> tuple[ServiceVerdict, list[FieldDiff]]:
    verdict = ServiceVerdict()
    all_diffs: list[FieldDiff] = []
    stopped = stack.spec.state is StackState.STOPPED
    if host.mode == "swarm":
        return judge_swarm(facts, project, labels, previous, previous_files, root), all_diffs
    for name, svc in facts.services.items():
        containers = project.service_containers(name)
        want = svc.replicas
        if want and not containers:
            verdict.drift[name] = "container missing (removed by hand?)"
            continue
        wanted_digest = labels.services[name][DIGEST]
        if any(c.labels.get(DIGEST) != wanted_digest for c in containers):
            why, diffs = _what_changed(name, facts, previous, previous_files.get(name, {}),
                                       service_files(svc, root))
            verdict.recreate[name] = why
            all_diffs += diffs
            continue
        expected = hashes()
        if expected is not None and name in expected and any(
                c.labels.get(CONFIG_HASH) != expected[name] for c in containers):
            verdict.drift[name] = "container configuration changed outside bosun " \
                "(Compose config hash differs)"
            continue
        current = host.image_id(svc.image) if svc.image else None
        running_image = next((c.labels.get(IMAGE_DIGEST) for c in containers
                              if c.labels.get(IMAGE_DIGEST)), None)
        if current and running_image and current != running_image:
            verdict.recreate[name] = (f"image {svc.image} now resolves to {current[:19]} "
                                      f"(running {running_image[:19]})")
            continue
        if len(containers) != want and want:
            verdict.drift[name] = f"{len(containers)} of {want} containers"
            continue
        if stopped:
            if any(c.running for c in containers):
                verdict.stop.append(name)
            continue
        idle = [c for c in containers if not c.running and not (
            c.state == "exited" and c.exit_code == 0 and svc.restart in ("no", "on-failure"))]
        if idle:
            verdict.start.append(name)
            verdict.drift[name] = f"container {idle[0].name} is {idle[0].state} " \
                "(stopped by hand?)"
    known = set(facts.services)
    verdict.orphans = sorted({c.service for c in project.containers
                              if c.service not in known and not c.oneoff})
    return verdict, all_diffs


def judge_swarm(
    facts: RenderFacts, project: Project, labels: StackLabels,
    previous: dict[str, object] | None, previous_files: dict[str, dict[str, str]], root: str,
) -> ServiceVerdict:
    """Swarm services: compared by bosun's labels on the service and its replica count."""
    verdict = ServiceVerdict()
    by_name = {s.service: s for s in project.services}
    for name, svc in facts.services.items():
        found = by_name.get(name)
        if found is None:
            verdict.drift[name] = "swarm service missing (removed by hand?)"
            continue
        if found.labels.get(DIGEST) != labels.services[name][DIGEST]:
            why, _ = _what_changed(name, facts, previous, previous_files.get(name, {}),
                                   service_files(svc, root))
            verdict.recreate[name] = why
            continue
        if found.replicas is not None and found.replicas != svc.replicas:
            verdict.drift[name] = f"{found.replicas} replicas instead of {svc.replicas} " \
                "(scaled by hand?)"
    verdict.orphans = sorted(set(by_name) - set(facts.services))
    return verdict


def plan_stacks(
    desired: DesiredState, observed: ComposeObservation, ctx: ProviderContext,
    renderer: Renderer, store: StackStore, hashes_of: HashFn,
) -> PlanOutcome:
    outcome = PlanOutcome()
    declared: dict[str, set[str]] = {}
    failed_hosts = set(observed.host_errors)
    for res in desired.of_kind(Kind.STACK):
        stack = res.document
        if not isinstance(stack, Stack):
            continue
        host_name = stack_host(stack)
        declared.setdefault(host_name, set()).add(stack.name)
        if host_name in failed_hosts or stack.name in observed.stack_errors:
            continue
        host = observed.hosts.get(host_name)
        if host is None:
            continue
        try:
            change = _plan_one(res, stack, host, desired, ctx, renderer, store, hashes_of,
                               outcome)
        except BosunError as exc:
            outcome.errors.append(PlanError(ref=res.ref, provider=PROVIDER,
                                            message=getattr(exc, "message", str(exc))))
            continue
        if change is not None:
            outcome.changes.append(change)
    plan_deletes(desired, observed, ctx, declared, outcome, renderer, store)
    outcome.warnings.extend(undeclared_hosts(observed, store))
    return outcome


def undeclared_hosts(observed: ComposeObservation, store: StackStore) -> list[PlanWarning]:
    """Hosts bosun deployed stacks to that no Host manifest declares any more.

    Without its Host manifest bosun cannot reach a host, so what it deployed
    there is neither read nor deleted: say so on every plan, rather than let the
    stacks run on unwatched.
    """
    warnings = []
    for host_name, stacks in sorted(store.deployments().items()):
        if host_name in observed.hosts or host_name in observed.host_errors:
            continue
        names = sorted(stacks)
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        warnings.append(PlanWarning(
            ref=ResourceRef(kind=Kind.HOST, name=host_name),
            message=f"no Host manifest declares host {host_name} any more, so bosun cannot "
                    f"read it: {len(names)} stack(s) it deployed there are left as they are "
                    f"({shown}); declare the Host again to have them removed, or "
                    f"'bosun forget Host/{host_name}' to leave them"))
    return warnings


def _plan_one(
    res: DesiredResource, stack: Stack, host: HostState, desired: DesiredState,
    ctx: ProviderContext, renderer: Renderer, store: StackStore, hashes_of: HashFn,
    outcome: PlanOutcome,
) -> Change | None:
    project = host.project(stack.name)
    owners = project.owners() - {""}
    if owners and owners != {ctx.owner}:
        outcome.errors.append(PlanError(
            ref=res.ref, provider=PROVIDER,
            message=f"project {stack.name!r} on host {host.name} belongs to bosun owner "
            f"{', '.join(sorted(owners))!r}; not touched"))
        return None
    if project.exists and not owners:
        # Deployed by hand (or by another tool) under the stack's name: not bosun's
        # to recreate or delete. `docker compose -p <name> down` hands it over.
        outcome.errors.append(PlanError(
            ref=res.ref, provider=PROVIDER,
            message=f"project {stack.name!r} on host {host.name} was not deployed by bosun "
            "(no bosun.owner label); not touched"))
        return None
    payload = {"host": host.name}
    if stack.spec.state is StackState.ABSENT:
        if not project.exists:
            return None
        return delete_change(res.ref, project, "state: absent in the repository",
                       prune=stack.spec.prune.volumes, payload=payload)
    inp = stack_input(res, desired.root, ctx.secrets)
    facts = renderer.facts(inp)
    services = sorted(facts.services)
    if not project.exists:
        what = "create" if stack.spec.state is StackState.RUNNING else "create (stopped)"
        return Change(
            action=ChangeAction.CREATE, ref=res.ref, provider=PROVIDER,
            reason=_short(f"not deployed on host {host.name}: {what} {_names(services)}"),
            details=tuple(f"service {s}: {facts.services[s].image or 'build'}"
                          for s in services),
            payload={**payload, "services": services},
        )
    labels = stack_labels(facts, host, project, owner=ctx.owner, resource=str(res.ref),
                          revision=str(desired.revision), root=desired.root)
    cache: dict[str, dict[str, str] | None] = {}

    def hashes() -> dict[str, str] | None:
        if "v" not in cache:
            known = facts.hashes.get(labels.digest())
            cache["v"] = known if known is not None else hashes_of(res, facts, labels)
        return cache["v"]

    entry = store.get(stack.name)
    previous = entry.healthy.model.get("services") if entry.healthy else None
    previous_files = entry.healthy.files if entry.healthy else {}
    verdict, diffs = judge(res, stack, facts, host, project, labels, hashes,
                           previous if isinstance(previous, dict) else None, previous_files,
                           desired.root)
    failure = entry.failure
    if failure is not None and failure.digest == res.digest and not ctx.options.force \
            and (verdict.recreate or verdict.orphans):
        outcome.warnings.append(PlanWarning(ref=res.ref, message=_short(
            f"revision {failure.revision} failed ({failure.reason}) and was rolled back; "
            "not retried until the stack changes (--force retries it)", 400)))
        verdict.recreate.clear()
        verdict.orphans.clear()
    if not stack.spec.self_heal and verdict.drift:
        for name, why in sorted(verdict.drift.items()):
            outcome.warnings.append(PlanWarning(
                ref=res.ref, message=f"OutOfSync: service {name}: {why} (selfHeal: false, "
                "left alone)"))
        verdict.drift.clear()
        verdict.start.clear()
    parts: list[str] = []
    details: list[str] = []
    if verdict.recreate:
        parts.append(f"recreate {_names(sorted(verdict.recreate))} "
                     f"({'; '.join(f'{k}: {v}' for k, v in sorted(verdict.recreate.items()))})")
        details += [f"service {k}: recreate: {v}" for k, v in sorted(verdict.recreate.items())]
    drift_only = {k: v for k, v in verdict.drift.items() if k not in verdict.start}
    if drift_only:
        parts.append("drift: " + "; ".join(f"{k}: {v}" for k, v in sorted(drift_only.items())))
        details += [f"service {k}: OutOfSync: {v}" for k, v in sorted(drift_only.items())]
    if verdict.start:
        why = "; ".join(f"{k}: {verdict.drift.get(k, 'not running')}" for k in verdict.start)
        parts.append(f"start {_names(verdict.start)} (drift: {why})")
        details += [f"service {k}: start" for k in verdict.start]
    if verdict.stop:
        parts.append(f"stop {_names(verdict.stop)} (state: stopped)")
        details += [f"service {k}: stop" for k in verdict.stop]
    if verdict.orphans:
        parts.append(f"remove {_names(verdict.orphans)} (no longer in the compose model)")
        details += [f"service {k}: remove" for k in verdict.orphans]
    if not parts:
        return None
    return Change(
        action=ChangeAction.UPDATE, ref=res.ref, provider=PROVIDER,
        reason=_short("; ".join(parts)), details=tuple(details), diffs=tuple(diffs),
        payload={**payload, "services": services, "recreate": sorted(verdict.recreate),
                 "drift": sorted(verdict.drift), "stop": verdict.stop},
    )
