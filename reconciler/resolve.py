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
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

import dns.name

from reconciler.errors import ConfigError, Problem
from reconciler.model.common import Kind, ResourceRef, SecretRef
from reconciler.model.desired import ComposeSource, DesiredResource, DesiredState
from reconciler.model.digest import digest
from reconciler.model.dnsvalues import canonical_text
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
)
from reconciler.model.source import PathKey, Position, RawDocument, Revision
from reconciler.validate import Validated, format_path
from reconciler.yamlnodes import YAMLSyntaxError, parse_documents

IMPLICIT_HOST = Host.model_validate(
    {"apiVersion": "bosun/v1", "kind": "Host", "metadata": {"name": "local"}}
)


class _Ctx:
    def __init__(self, root: Path, items: list[Validated]) -> None:
        self.root = root
        self.real_root = Path(os.path.realpath(root))
        self.items = items
        self.by_ref: dict[ResourceRef, Validated] = {i.ref: i for i in items}
        self.problems: list[Problem] = []
        self.compose: dict[str, ComposeSource] = {}
        self.origins: dict[str, dns.name.Name | None] = {}

    def add(self, item: Validated, path: PathKey, message: str) -> None:
        self.problems.append(
            Problem(message, item.raw.position_of(path), ref=str(item.ref),
                    field=format_path(path) or None)
        )

    def exists(self, kind: Kind, name: str) -> bool:
        return ResourceRef(kind=kind, name=name) in self.by_ref

    def need(self, item: Validated, path: PathKey, kind: Kind, name: str) -> bool:
        if self.exists(kind, name):
            return True
        known = sorted(r.name for r in self.by_ref if r.kind is kind)
        hint = f" (known: {', '.join(known[:8])}{', ...' if len(known) > 8 else ''})" \
            if known else ""
        self.add(item, path, f"{kind.value} {name!r} does not exist{hint}")
        return False


def _inside(ctx: _Ctx, base: str, rel: str) -> tuple[Path | None, str | None]:
    """``rel`` resolved against the repository folder ``base``, if it stays inside."""
    if not rel:
        return None, "path is empty"
    if rel.startswith(("/", "\\")) or PurePosixPath(rel).is_absolute() or ":" in rel[:3]:
        return None, f"{rel!r} is an absolute path; use a path inside the repository"
    joined = os.path.normpath(f"{base}/{rel}" if base else rel)
    if joined == ".." or joined.startswith(("../", "..\\")):
        return None, f"{rel!r} leads outside the repository"
    path = ctx.root / joined
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(ctx.real_root):
        return None, f"{rel!r} is a symlink that leads outside the repository"
    return path, None


def _merge_compose(raws: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for raw in raws:
        for key, value in raw.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                section = dict(merged[key])
                for name, body in value.items():
                    if isinstance(body, dict) and isinstance(section.get(name), dict):
                        section[name] = {**section[name], **body}
                    else:
                        section[name] = body
                merged[key] = section
            else:
                merged[key] = value
    return merged


def _check_compose_paths(
    ctx: _Ctx, item: Validated, model: dict[str, Any], project_dir: str, path: PathKey
) -> None:
    services = model.get("services")
    if not isinstance(services, dict):
        return
    for name, svc in services.items():
        if not isinstance(svc, dict):
            continue
        build = svc.get("build")
        context = build if isinstance(build, str) else (
            build.get("context", ".") if isinstance(build, dict) else None
        )
        if isinstance(context, str) and "://" not in context and not context.startswith("git@"):
            _, err = _inside(ctx, project_dir, context)
            if err:
                ctx.add(item, path, f"service {name!r}: build context {err}")
        env_files = svc.get("env_file")
        files = [env_files] if isinstance(env_files, str) else env_files or []
        for entry in files if isinstance(files, list) else []:
            rel = entry.get("path") if isinstance(entry, dict) else entry
            if isinstance(rel, str):
                _, err = _inside(ctx, project_dir, rel)
                if err:
                    ctx.add(item, path, f"service {name!r}: env_file {err}")


def _resolve_compose(ctx: _Ctx, item: Validated, stack: Stack) -> None:
    compose = stack.spec.compose
    project_dir = item.raw.file.rpartition("/")[0]
    if isinstance(compose, dict):
        model = compose
        _check_compose_paths(ctx, item, model, project_dir, ("spec", "compose"))
        ctx.compose[stack.name] = ComposeSource(
            project_dir=str(ctx.root / project_dir), model=model, raw=(model,)
        )
        return
    names = [compose] if isinstance(compose, str) else compose
    files: list[str] = []
    raws: list[dict[str, Any]] = []
    for i, rel in enumerate(names):
        field_path: PathKey = ("spec", "compose") if isinstance(compose, str) \
            else ("spec", "compose", i)
        path, err = _inside(ctx, project_dir, rel)
        if err or path is None:
            ctx.add(item, field_path, err or "bad path")
            continue
        if not path.is_file():
            ctx.add(item, field_path, f"compose file {rel!r} does not exist")
            continue
        file_rel = path.relative_to(ctx.root).as_posix()
        try:
            docs = parse_documents(path.read_text(encoding="utf-8"), file_rel)
        except YAMLSyntaxError as exc:
            ctx.problems.append(
                Problem(f"invalid YAML: {exc.message}",
                        Position(file=file_rel, line=exc.line, column=exc.column),
                        ref=str(item.ref), field=format_path(field_path))
            )
            continue
        except (OSError, UnicodeDecodeError) as exc:
            ctx.add(item, field_path, f"cannot read compose file {rel!r}: {exc}")
            continue
        data = docs[0].data if docs else None
        if not isinstance(data, dict) or not isinstance(data.get("services", {}), dict):
            ctx.add(item, field_path, f"{rel!r} is not a compose file (no 'services' mapping)")
            continue
        for problem in docs[0].problems:
            ctx.problems.append(
                Problem(problem.message,
                        Position(file=file_rel, line=problem.line, column=problem.column),
                        ref=str(item.ref), field=format_path(field_path))
            )
        files.append(str(path))
        raws.append(data)
        _check_compose_paths(ctx, item, data, str(Path(file_rel).parent), field_path)
    if files and len(files) == len(names):
        model = _merge_compose(raws)
        if not model.get("services"):
            ctx.add(item, ("spec", "compose"), "the compose model defines no services")
        ctx.compose[stack.name] = ComposeSource(
            project_dir=str(ctx.root / project_dir), files=tuple(files), model=model,
            raw=tuple(raws),
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


def _check_service(ctx: _Ctx, item: Validated, path: PathKey, stack: str, service: str) -> None:
    if not ctx.need(item, (*path[:-1], "stack"), Kind.STACK, stack):
        return
    source = ctx.compose.get(stack)
    if source is not None and service not in source.services:
        ctx.add(item, path, f"stack {stack!r} has no service {service!r} "
                f"(services: {', '.join(source.services) or 'none'})")


def _edges(ctx: _Ctx, item: Validated) -> list[tuple[PathKey, ResourceRef]]:
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


def _check_refs(ctx: _Ctx, item: Validated) -> None:
    doc = item.document
    for path, secret_ref in _secret_refs(doc):
        if ctx.need(item, path, Kind.SECRET, secret_ref.secret):
            secret = ctx.by_ref[ResourceRef(kind=Kind.SECRET, name=secret_ref.secret)].document
            assert isinstance(secret, Secret)
            if secret_ref.key not in secret.spec.keys:
                ctx.add(item, path, f"secret {secret_ref.secret!r} has no key {secret_ref.key!r} "
                        f"(keys: {', '.join(sorted(secret.spec.keys))})")
    if isinstance(doc, Route):
        if doc.spec.to is not None and doc.spec.to.stack and doc.spec.to.service:
            _check_service(ctx, item, ("spec", "to", "service"), doc.spec.to.stack,
                           doc.spec.to.service)
        if doc.spec.basic_auth is not None:
            ctx.need(item, ("spec", "basicAuth", "secret"), Kind.SECRET, doc.spec.basic_auth.secret)
    elif isinstance(doc, DNSZone) and doc.spec.tsig is not None:
        ctx.need(item, ("spec", "tsig", "secret"), Kind.SECRET, doc.spec.tsig.secret)
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


def _zone_origin(ctx: _Ctx, zone_name: str) -> dns.name.Name | None:
    if zone_name not in ctx.origins:
        zone = ctx.by_ref.get(ResourceRef(kind=Kind.DNS_ZONE, name=zone_name))
        ctx.origins[zone_name] = (
            dns.name.from_text(zone.document.spec.zone)
            if zone is not None and isinstance(zone.document, DNSZone) else None
        )
    return ctx.origins[zone_name]


def _check_rdata(ctx: _Ctx, item: Validated, path: PathKey, rtype: str,
                 values: list[str]) -> None:
    # Names inside values are absolute whatever the zone (see model.dnsvalues).
    seen: dict[str, int] = {}
    for i, value in enumerate(values):
        try:
            text = canonical_text(rtype, value)
        except ValueError as exc:
            ctx.add(item, (*path, i), f"not a valid {rtype} value: {exc}")
            continue
        if text in seen:
            ctx.add(item, (*path, i), f"{value!r} is the same value as item {seen[text]}")
        seen.setdefault(text, i)


def _zone_key(ctx: _Ctx, zone_name: str) -> str:
    origin = _zone_origin(ctx, zone_name)
    return origin.to_text() if origin is not None else zone_name


def _check_record_name(ctx: _Ctx, item: Validated, path: PathKey, name: str,
                       rtype: str) -> None:
    # The provider never touches these; declaring them is a mistake worth saying early.
    if name.split(".", maxsplit=1)[0] == "_acme-challenge":
        ctx.add(item, path, f"{name!r}: _acme-challenge names belong to ACME clients; "
                "bosun never manages them")
    elif name == "@" and rtype == "NS":
        ctx.add(item, path, "the zone's own NS records at the apex are never managed by bosun")
    elif name == "@" and rtype == "CNAME":
        ctx.add(item, path, "a CNAME cannot sit at the zone apex (it would share the name "
                "with SOA and NS)")


def _check_dns(ctx: _Ctx) -> None:
    # Record sets are (zone, name, type); a CNAME owns its name alone.
    sets: dict[tuple[str, str], dict[str, Validated]] = defaultdict(dict)
    zones: dict[str, Validated] = {}
    for item in ctx.items:
        doc = item.document
        if isinstance(doc, DNSZone):
            if doc.spec.zone in zones:
                other = zones[doc.spec.zone]
                ctx.add(item, ("spec", "zone"), f"zone {doc.spec.zone!r} is also declared by "
                        f"{other.ref} at {other.raw.start}")
            zones.setdefault(doc.spec.zone, item)
        elif isinstance(doc, DNSRecord):
            _check_rdata(ctx, item, ("spec", "values"), doc.spec.type, doc.spec.values)
            _check_record_name(ctx, item, ("spec", "name"), doc.spec.name, doc.spec.type)
            key = (_zone_key(ctx, doc.spec.zone), doc.spec.name)
            if doc.spec.type in sets[key]:
                other = sets[key][doc.spec.type]
                ctx.add(item, ("spec", "type"),
                        f"record set {doc.spec.name} {doc.spec.type} is also defined by "
                        f"{other.ref} at {other.raw.start}")
                continue
            sets[key][doc.spec.type] = item
        elif isinstance(doc, Route) and doc.spec.dns is not None:
            zone = ctx.by_ref.get(ResourceRef(kind=Kind.DNS_ZONE, name=doc.spec.dns.zone))
            origin = _zone_origin(ctx, doc.spec.dns.zone)
            _check_rdata(ctx, item, ("spec", "dns", "values"), doc.spec.dns.type,
                         doc.spec.dns.values)
            if doc.spec.dns.type == "CNAME" and len(doc.spec.dns.values) != 1:
                ctx.add(item, ("spec", "dns", "values"), "a CNAME record set has exactly one value")
            if zone is None or origin is None:
                continue
            for i, host in enumerate(doc.spec.hosts):
                name = dns.name.from_text(host)
                if not name.is_subdomain(origin):
                    ctx.add(item, ("spec", "hosts", i),
                            f"host {host!r} is not inside zone {origin.to_text()!r}")
                    continue
                rel = name.relativize(origin).to_text().lower()
                _check_record_name(ctx, item, ("spec", "hosts", i), rel, doc.spec.dns.type)
                key = (origin.to_text(), rel)
                if doc.spec.dns.type in sets[key]:
                    other = sets[key][doc.spec.dns.type]
                    ctx.add(item, ("spec", "dns"),
                            f"record set {rel} {doc.spec.dns.type} is also defined by "
                            f"{other.ref} at {other.raw.start}")
                    continue
                sets[key][doc.spec.dns.type] = item
    for (_zone, record_name), by_type in sets.items():
        if "CNAME" in by_type and len(by_type) > 1:
            cname = by_type["CNAME"]
            others = ", ".join(f"{t} ({v.ref})" for t, v in sorted(by_type.items())
                               if t != "CNAME")
            path: PathKey = ("spec", "dns", "type") if isinstance(cname.document, Route) \
                else ("spec", "type")
            ctx.add(cname, path,
                    f"a CNAME at {record_name!r} cannot share its name with other records: "
                    f"{others}")


def _cycle_check(ctx: _Ctx, graph: dict[ResourceRef, set[ResourceRef]]) -> None:
    sorter = graphlib.TopologicalSorter(graph)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle: list[ResourceRef] = list(exc.args[1])
        cycle.reverse()  # graphlib lists it from dependency to dependent
        item = ctx.by_ref[cycle[0]]
        text = " -> ".join(str(r) for r in cycle)
        path: PathKey = ("spec", "dependsOn") if isinstance(item.document, Stack) else ("spec",)
        ctx.add(item, path, f"dependency cycle: {text}")


def resolve(
    root: Path,
    revision: Revision,
    validated: list[Validated],
    repository: Repository,
) -> DesiredState:
    """Link and check the validated documents; raise ``ConfigError`` on any problem."""
    items = list(validated)
    local = ResourceRef(kind=Kind.HOST, name="local")
    if not any(i.ref == local for i in items):
        raw = RawDocument(file="(implicit)", index=0, data={})
        items.append(Validated(raw, IMPLICIT_HOST))
    ctx = _Ctx(root, items)

    for item in items:
        if isinstance(item.document, Stack):
            _resolve_compose(ctx, item, item.document)

    graph: dict[ResourceRef, set[ResourceRef]] = {i.ref: set() for i in items}
    for item in items:
        for path, target in _edges(ctx, item):
            if target == item.ref:
                ctx.add(item, path, "a resource cannot depend on itself")
                continue
            if ctx.need(item, path, target.kind, target.name):
                graph[item.ref].add(target)
        _check_refs(ctx, item)
    _check_dns(ctx)
    if not ctx.problems:
        _cycle_check(ctx, graph)
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
