"""Stage *apply*: carry out a plan's changes through their providers.

... -> plan -> **apply** -> record

Changes are grouped into batches (``Provider.batch_key``: all routes of one
gateway go in one Caddy request, all records of one zone in one UPDATE).
Batches run in dependency order, independent ones concurrently up to a bound.
A failed batch stops the batches that depend on it and nothing else; every
change gets a result.
"""

from __future__ import annotations

import graphlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime

from reconciler.errors import BosunError, TemporaryError
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.plan import (
    ApplyReport,
    Change,
    ChangeAction,
    ChangeOutcome,
    ChangeResult,
    Plan,
)
from reconciler.provider import Provider, ProviderContext

_DELETE_BEFORE = {
    Kind.STACK: (Kind.ROUTE, Kind.SCHEDULE),
    Kind.GATEWAY: (Kind.ROUTE,),
    Kind.DNS_ZONE: (Kind.DNS_RECORD,),
}


@dataclass
class _Batch:
    key: tuple[str, str]
    provider: Provider
    changes: list[Change] = field(default_factory=list)


def _closure(desired: DesiredState) -> dict[ResourceRef, set[ResourceRef]]:
    """Every resource each resource depends on, directly or not."""
    direct = {r.ref: set(r.depends_on) for r in desired.resources}
    out: dict[ResourceRef, set[ResourceRef]] = {}

    def visit(ref: ResourceRef) -> set[ResourceRef]:
        if ref in out:
            return out[ref]
        out[ref] = set()
        acc: set[ResourceRef] = set()
        for dep in direct.get(ref, ()):
            acc.add(dep)
            acc |= visit(dep)
        out[ref] = acc
        return acc

    for ref in direct:
        visit(ref)
    return out


def _change_deps(changes: Sequence[Change], desired: DesiredState) -> dict[int, set[int]]:
    closure = _closure(desired)
    by_ref: dict[ResourceRef, list[int]] = defaultdict(list)
    deletes_by_kind: dict[Kind, list[int]] = defaultdict(list)
    for i, change in enumerate(changes):
        by_ref[change.ref].append(i)
        if change.action is ChangeAction.DELETE:
            deletes_by_kind[change.ref.kind].append(i)
    deps: dict[int, set[int]] = {i: set() for i in range(len(changes))}
    for i, change in enumerate(changes):
        if change.action is ChangeAction.DELETE:
            for kind in _DELETE_BEFORE.get(change.ref.kind, ()):
                deps[i].update(deletes_by_kind.get(kind, ()))
            continue
        for dep in closure.get(change.ref, ()):
            deps[i].update(j for j in by_ref.get(dep, ()) if j != i)
    return deps


def _batches(
    changes: Sequence[Change], providers: dict[str, Provider], desired: DesiredState
) -> tuple[list[_Batch], dict[int, set[int]]]:
    change_deps = _change_deps(changes, desired)
    batches: dict[tuple[str, str], _Batch] = {}
    member: dict[int, tuple[str, str]] = {}
    for i, change in enumerate(changes):
        provider = providers[change.provider]
        key = (provider.name, provider.batch_key(change))
        batches.setdefault(key, _Batch(key, provider)).changes.append(change)
        member[i] = key
    keys = list(batches)
    index = {k: n for n, k in enumerate(keys)}
    deps: dict[int, set[int]] = {n: set() for n in range(len(keys))}
    for i, ds in change_deps.items():
        for j in ds:
            a, b = index[member[i]], index[member[j]]
            if a != b:
                deps[a].add(b)
    try:
        graphlib.TopologicalSorter(deps).prepare()
    except graphlib.CycleError:
        # Batching joined changes that depend on each other across batches:
        # fall back to one change per batch, which follows the resource graph.
        singles = [
            _Batch((c.provider, f"{c.ref}#{c.action}"), providers[c.provider], [c])
            for c in changes
        ]
        return singles, change_deps
    return [batches[k] for k in keys], deps


def _run_batch(batch: _Batch, desired: DesiredState, ctx: ProviderContext) -> list[ChangeResult]:
    started = datetime.now(UTC)
    try:
        for change in batch.changes:
            ctx.progress(change.ref, f"applying {change.action.value}")
        results = batch.provider.apply(batch.changes, desired, ctx)
    except TemporaryError as exc:
        return _failed(batch, f"temporary error (will retry): {exc.message}", started,
                       retry_after=exc.delay)
    except BosunError as exc:
        return _failed(batch, str(getattr(exc, "message", exc)), started)
    except Exception as exc:
        ctx.log.exception("provider %s failed to apply", batch.provider.name)
        return _failed(batch, f"internal error: {type(exc).__name__}: {exc}", started)
    if len(results) != len(batch.changes):
        return _failed(batch, "provider returned the wrong number of results", started)
    return list(results)


def _failed(batch: _Batch, message: str, started: datetime,
            retry_after: float | None = None) -> list[ChangeResult]:
    data = {"retry_after": retry_after} if retry_after is not None else {}
    return [
        ChangeResult(
            ref=c.ref, action=c.action, outcome=ChangeOutcome.FAILED, message=message,
            started_at=started, finished_at=datetime.now(UTC), data=data,
        )
        for c in batch.changes
    ]


def apply_plan(
    plan: Plan,
    desired: DesiredState,
    providers: Sequence[Provider],
    ctx: ProviderContext,
    on_result: Callable[[ChangeResult], None] | None = None,
    should_stop: Callable[[], str | None] | None = None,
) -> ApplyReport:
    """Apply every change of ``plan``; never raises for a provider failure.

    ``should_stop`` is asked before each batch is started: when it gives a
    reason (a newer revision arrived, bosun is stopping), no further batch is
    started, the running ones finish, and the rest are skipped with that reason.
    """
    by_name = {p.name: p for p in providers}
    changes = [c for c in plan.changes if c.provider in by_name]
    results: dict[ResourceRef, list[ChangeResult]] = defaultdict(list)
    unknown = [c for c in plan.changes if c.provider not in by_name]
    for c in unknown:
        results[c.ref].append(ChangeResult(
            ref=c.ref, action=c.action, outcome=ChangeOutcome.SKIPPED,
            message=f"provider {c.provider!r} is not loaded"))
    batches, deps = _batches(changes, by_name, desired)
    failed: set[int] = set()
    done: set[int] = set()
    running: dict[Future[list[ChangeResult]], int] = {}
    pending = set(range(len(batches)))
    limit = max(1, ctx.options.concurrency)

    def record(n: int, batch_results: list[ChangeResult]) -> None:
        for r in batch_results:
            results[r.ref].append(r)
            if on_result is not None:
                on_result(r)
        if any(r.outcome is not ChangeOutcome.APPLIED for r in batch_results):
            failed.add(n)
        done.add(n)

    with ThreadPoolExecutor(max_workers=limit) as pool:
        while pending or running:
            stop = should_stop() if should_stop is not None and pending else None
            if stop:
                for n in sorted(pending):
                    record(n, [
                        ChangeResult(ref=c.ref, action=c.action, outcome=ChangeOutcome.SKIPPED,
                                     message=f"not applied: {stop}")
                        for c in batches[n].changes
                    ])
                pending.clear()
            for n in sorted(pending):
                if not deps[n] <= done:
                    continue
                blocked = deps[n] & failed
                pending.discard(n)
                if blocked:
                    names = sorted({str(c.ref) for b in blocked for c in batches[b].changes})
                    record(n, [
                        ChangeResult(ref=c.ref, action=c.action, outcome=ChangeOutcome.SKIPPED,
                                     message=f"not applied: dependency failed ({', '.join(names)})")
                        for c in batches[n].changes
                    ])
                    continue
                if len(running) >= limit:
                    pending.add(n)
                    break
                running[pool.submit(_run_batch, batches[n], desired, ctx)] = n
            if not running:
                if pending and not any(deps[n] <= done for n in pending):
                    break  # cannot happen with an acyclic graph; never spin
                continue
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in finished:
                n = running.pop(fut)
                record(n, fut.result())

    ordered: list[ChangeResult] = []
    for change in plan.changes:
        bucket = results.get(change.ref, [])
        match = next((r for r in bucket if r.action is change.action), None)
        if match is not None:
            bucket.remove(match)
            ordered.append(match)
    return ApplyReport(plan_digest=plan.digest(), revision=plan.revision, results=tuple(ordered))
