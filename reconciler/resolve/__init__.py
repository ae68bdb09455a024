"""Stage *resolve*: references, compose files, the dependency graph and the digest.

source -> load -> validate -> **resolve** -> policy -> ...

Checks every reference (Stack.host, Route.gateway, Route.to.stack and the
service inside that stack's compose model, DNSRecord.zone, secret references),
reads compose files that stacks name (they must stay inside the repository),
adds the implicit ``local`` Host, builds the dependency graph from ``dependsOn``
plus implied edges (a route after its stack and gateway, a record after its
zone, a schedule after its stack), rejects cycles, and computes a digest of the
desired state that ignores file order, key order, comments and formatting.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reconciler.documents import Validated
from reconciler.errors import ConfigError, Problem
from reconciler.model.common import Kind, ResourceRef, SecretRef
from reconciler.model.desired import DesiredResource, DesiredState
from reconciler.model.digest import digest
from reconciler.model.kinds import (
    AnyDocument,
    DNSRecord,
    DNSZone,
    Host,
    Repository,
    Route,
    Schedule,
    Secret,
    Stack,
    StackHealth,
)
from reconciler.model.source import PathKey, RawDocument, Revision
from reconciler.resolve.compose import resolve_compose
from reconciler.resolve.context import Context
from reconciler.resolve.dns import check_dns

__all__ = ["IMPLICIT_HOST", "resolve"]

IMPLICIT_HOST = Host.model_validate(
    {"apiVersion": "bosun/v1", "kind": "Host", "metadata": {"name": "local"}}
)


def _secret_refs(doc: AnyDocument) -> Iterable[tuple[PathKey, SecretRef]]:
    if isinstance(doc, Stack):
        for key, value in doc.spec.env.items():
            if isinstance(value, SecretRef):
                yield ("spec", "env", key), value
    elif isinstance(doc, Schedule):
        action = doc.spec.action
        if action.run is not None:
            for key, value in action.run.env.items():
                if isinstance(value, SecretRef):
                    yield ("spec", "action", "run", "env", key), value
        if action.http is not None:
            for key, value in action.http.headers.items():
                if isinstance(value, SecretRef):
                    yield ("spec", "action", "http", "headers", key), value
    elif isinstance(doc, DNSZone) and doc.spec.api_key is not None:
        yield ("spec", "apiKey"), doc.spec.api_key


def _check_service(ctx: Context, item: Validated, path: PathKey, stack: str, service: str) -> None:
    if not ctx.need(item, (*path[:-1], "stack"), Kind.STACK, stack):
        return
    source = ctx.compose.get(stack)
    if source is not None and service not in source.services:
        ctx.add(item, path, f"stack {stack!r} has no service {service!r} "
                f"(services: {', '.join(source.services) or 'none'})")


def _edges(ctx: Context, item: Validated) -> list[tuple[PathKey, ResourceRef]]:
    doc = item.document
    out: list[tuple[PathKey, ResourceRef]] = []

    def ref(kind: Kind, name: str) -> ResourceRef:
        return ResourceRef(kind=kind, name=name)

    if isinstance(doc, Stack):
        out.append((("spec", "host"), ref(Kind.HOST, doc.spec.host or "local")))
        for i, dep in enumerate(doc.spec.depends_on):
            try:
                target = ResourceRef.parse(dep, default_kind=Kind.STACK)
            except ValueError as exc:
                ctx.add(item, ("spec", "dependsOn", i), str(exc))
                continue
            out.append((("spec", "dependsOn", i), target))
    elif isinstance(doc, Route):
        out.append((("spec", "gateway"), ref(Kind.GATEWAY, doc.spec.gateway)))
        if doc.spec.to is not None and doc.spec.to.stack:
            out.append((("spec", "to", "stack"), ref(Kind.STACK, doc.spec.to.stack)))
        if doc.spec.dns is not None:
            out.append((("spec", "dns", "zone"), ref(Kind.DNS_ZONE, doc.spec.dns.zone)))
    elif isinstance(doc, DNSRecord):
        out.append((("spec", "zone"), ref(Kind.DNS_ZONE, doc.spec.zone)))
    elif isinstance(doc, Schedule):
        action = doc.spec.action
        used = action.run or action.exec
        if used is not None:
            key = "run" if action.run else "exec"
            out.append((("spec", "action", key, "stack"), ref(Kind.STACK, used.stack)))
    return out


def _check_refs(ctx: Context, item: Validated) -> None:
    doc = item.document
    for path, secret_ref in _secret_refs(doc):
        if not ctx.need(item, path, Kind.SECRET, secret_ref.secret):
            continue
        found = ctx.by_ref.get(ResourceRef(kind=Kind.SECRET, name=secret_ref.secret))
        secret = found.document if found is not None else None
        if isinstance(secret, Secret) and secret_ref.key not in secret.spec.keys:
            ctx.add(item, path, f"secret {secret_ref.secret!r} has no key {secret_ref.key!r} "
                    f"(keys: {', '.join(sorted(secret.spec.keys))})")
    if isinstance(doc, Route):
        if doc.spec.to is not None and doc.spec.to.stack and doc.spec.to.service:
            _check_service(ctx, item, ("spec", "to", "service"), doc.spec.to.stack,
                           doc.spec.to.service)
        if doc.spec.basic_auth is not None:
            ctx.need(item, ("spec", "basicAuth", "secret"), Kind.SECRET, doc.spec.basic_auth.secret)
    elif isinstance(doc, DNSZone) and doc.spec.tsig is not None:
        path = ("spec", "tsig", "secret")
        if ctx.need(item, path, Kind.SECRET, doc.spec.tsig.secret):
            found = ctx.by_ref.get(ResourceRef(kind=Kind.SECRET, name=doc.spec.tsig.secret))
            if found is not None and isinstance(found.document, Secret):
                lacking = [k for k in ("name", "secret") if k not in found.document.spec.keys]
                if lacking:
                    ctx.add(item, path, f"secret {doc.spec.tsig.secret!r} has no key "
                            f"{' or '.join(repr(k) for k in lacking)} (a TSIG key needs "
                            "'name' and 'secret', and may give 'algorithm')")
    elif isinstance(doc, Schedule):
        action = doc.spec.action
        if action.run is not None:
            _check_service(ctx, item, ("spec", "action", "run", "service"),
                           action.run.stack, action.run.service)
        if action.exec is not None:
            _check_service(ctx, item, ("spec", "action", "exec", "service"),
                           action.exec.stack, action.exec.service)
        if action.reconcile is not None:
            for i, text in enumerate(action.reconcile.resources):
                path = ("spec", "action", "reconcile", "resources", i)
                try:
                    target = ResourceRef.parse(text)
                except ValueError as exc:
                    ctx.add(item, path, str(exc))
                    continue
                ctx.need(item, path, target.kind, target.name)


def _cycle_check(ctx: Context, graph: dict[ResourceRef, set[ResourceRef]],
                 edge_paths: dict[tuple[ResourceRef, ResourceRef], PathKey]) -> None:
    sorter = graphlib.TopologicalSorter(graph)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        # graphlib lists the cycle from dependency to dependent, first node repeated
        # last; report it from its smallest member, at the edge that closes it.
        cycle: list[ResourceRef] = list(exc.args[1])[:-1]
        cycle.reverse()
        start = min(range(len(cycle)), key=lambda i: cycle[i].sort_key())
        cycle = cycle[start:] + cycle[:start]
        text = " -> ".join(str(r) for r in [*cycle, cycle[0]])
        item = ctx.by_ref[cycle[0]]
        nxt = cycle[1] if len(cycle) > 1 else cycle[0]
        ctx.add(item, edge_paths.get((cycle[0], nxt), ("spec",)), f"dependency cycle: {text}")


def _with_defaults(item: Validated, repository: Repository) -> Validated:
    """A Stack with the repository's stack defaults filled in."""
    doc = item.document
    if not isinstance(doc, Stack):
        return item
    defaults = repository.spec.defaults.stack
    spec = doc.spec
    update: dict[str, Any] = {}
    if spec.host is None:
        update["host"] = defaults.host
    if spec.pull is None and defaults.pull is not None:
        update["pull"] = defaults.pull
    if "health" not in spec.model_fields_set and defaults.health_timeout is not None:
        update["health"] = StackHealth(timeout=defaults.health_timeout)
    if not update:
        return item
    new = doc.model_copy(update={"spec": spec.model_copy(update=update)})
    return Validated(item.raw, new)


def resolve(
    root: Path,
    revision: Revision,
    validated: list[Validated],
    repository: Repository,
    *,
    invalid: Iterable[ResourceRef] = (),
    problems: Iterable[Problem] = (),
) -> DesiredState:
    """Link and check the validated documents; raise ``ConfigError`` on any problem.

    ``problems`` found by earlier stages are raised together with this stage's;
    ``invalid`` names resources that exist but failed validation, so that
    references to them are not reported a second time.
    """
    items = [_with_defaults(i, repository) for i in validated]
    local = ResourceRef(kind=Kind.HOST, name="local")
    if not any(i.ref == local for i in items):
        raw = RawDocument(file="(implicit)", index=0, data={})
        items.append(Validated(raw, IMPLICIT_HOST))
    ctx = Context(root, items, frozenset(invalid))
    ctx.problems.extend(problems)

    for item in items:
        if isinstance(item.document, Stack):
            resolve_compose(ctx, item, item.document)

    graph: dict[ResourceRef, set[ResourceRef]] = {i.ref: set() for i in items}
    edge_paths: dict[tuple[ResourceRef, ResourceRef], PathKey] = {}
    for item in items:
        for path, target in _edges(ctx, item):
            if target == item.ref:
                ctx.add(item, path, "a resource cannot depend on itself")
                continue
            if ctx.need(item, path, target.kind, target.name) and target in ctx.by_ref:
                graph[item.ref].add(target)
                edge_paths.setdefault((item.ref, target), path)
        _check_refs(ctx, item)
    check_dns(ctx)
    _cycle_check(ctx, graph, edge_paths)
    if ctx.problems:
        raise ConfigError(ctx.problems)

    resources: list[DesiredResource] = []
    for item in sorted(items, key=lambda i: i.ref.sort_key()):
        source = ctx.compose.get(item.ref.name) if item.ref.kind is Kind.STACK else None
        body: dict[str, Any] = {"document": item.document}
        if source is not None:
            body["compose"] = list(source.raw)
        resources.append(
            DesiredResource(
                ref=item.ref,
                document=item.document,
                position=item.raw.start,
                depends_on=tuple(sorted(graph[item.ref], key=ResourceRef.sort_key)),
                compose=source,
                digest=digest(body),
            )
        )
    total = digest(
        {"repository": repository, "resources": [[str(r.ref), r.digest] for r in resources]}
    )
    return DesiredState(
        root=str(root), revision=revision, repository=repository,
        resources=tuple(resources), digest=total,
    )
