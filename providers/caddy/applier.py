"""Apply: one guarded write per gateway batch, re-planned on conflict.

Part of the Caddy provider (apply). For the changes of one Gateway on one
Caddy: read the config and its ETag, read the routes' containers again, build
the objects the changed resources want, put them into the config read
(objects of resources not in the batch keep their live form), and send the
whole config once with ``If-Match``. A 412 means someone else wrote in
between: read again and rebuild on top of their change, a few times. When the
result equals what Caddy has, nothing is sent.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from providers.caddy import inputs
from providers.caddy.build import Built, build_gateway
from providers.caddy.client import AdminClient, ConfigConflict
from providers.caddy.config import extract, render, replace_scope
from providers.caddy.embedded import Announce, EmbeddedCaddy
from providers.caddy.ids import ObjectId, Slot, parse_local
from providers.caddy.state import remember_endpoint
from providers.caddy.upstreams import HostContainers, observe_containers
from providers.engine import EngineClients
from reconciler import gcpause
from reconciler.errors import ObserveError, TemporaryError
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.kinds import RouteTarget
from reconciler.model.plan import Change, ChangeAction, ChangeOutcome, ChangeResult
from reconciler.provider import ProviderContext, SecretResolver

MAX_ATTEMPTS = 5

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _endpoint_lock(url: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(url, threading.Lock())


class Outcome:
    """What one batch did: requests sent and routes left out."""

    def __init__(self) -> None:
        self.writes = 0
        self.attempts = 0
        self.left_out: dict[str, str] = {}


@dataclass(frozen=True)
class Batch:
    """What one apply call is about: one gateway on one Caddy, some of its resources."""

    endpoint: str
    gateway: str
    refs: frozenset[ResourceRef]
    deleting_gateway: bool = False

    @classmethod
    def of(cls, changes: Sequence[Change]) -> Batch:
        gateway = str(changes[0].payload["gateway"])
        gw_ref = ResourceRef(kind=Kind.GATEWAY, name=gateway)
        return cls(
            endpoint=str(changes[0].payload["endpoint"]), gateway=gateway,
            refs=frozenset(c.ref for c in changes),
            deleting_gateway=any(c.ref == gw_ref and c.action is ChangeAction.DELETE
                                 for c in changes),
        )

    def stacks_needed(self, desired: DesiredState) -> list[RouteTarget]:
        return [r.spec.to for r in inputs.routes(desired, self.gateway)
                if r.spec.to is not None and r.spec.to.stack
                and ResourceRef(kind=Kind.ROUTE, name=r.name) in self.refs]


def next_config(
    live: dict[str, Any], desired: DesiredState, batch: Batch, owner: str,
    hosts: dict[str, HostContainers], host_failures: list[tuple[ResourceRef | None, str]],
    secrets: SecretResolver,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The whole config to send for ``batch``, and the routes left out (with why).

    Objects of resources outside the batch keep their live form; everything
    that is not this owner's stays as it is in ``live``.
    """
    live_owned = extract(live, owner)
    live_g = {k: v for k, v in live_owned.items()
              if (o := parse_local(k)) is not None and o.gateway == batch.gateway}
    doc = inputs.gateways(desired).get(batch.gateway)
    built, left_out = Built(), {}
    if doc is not None and not batch.deleting_gateway:
        found = inputs.route_inputs(desired, batch.gateway, live_g, hosts,
                                    {ref.name for ref, _ in host_failures if ref is not None},
                                    secrets)
        left_out = dict(found.unresolved)
        for name in found.skipped:
            left_out[name] = "its host's containers could not be listed: " + "; ".join(
                m for _, m in host_failures)
        routes = [r for r in found.routes if r.name not in left_out]
        built = build_gateway(owner, inputs.gateway_input(desired, doc), routes, live_g)
    left = {ResourceRef(kind=Kind.ROUTE, name=n) for n in left_out}

    def in_scope(oid: ObjectId) -> bool:
        if oid.gateway != batch.gateway:
            return False
        return batch.deleting_gateway or (oid.ref in batch.refs and oid.ref not in left)

    owned = replace_scope(live_owned, built.objects, in_scope)
    _keep_servers(owned, built, batch.gateway)
    return render(live, owner, owned), left_out


def apply_batch(changes: Sequence[Change], desired: DesiredState, ctx: ProviderContext,
                engines: EngineClients, announce: Announce) -> Outcome:
    batch = Batch.of(changes)
    url = batch.endpoint
    gw_ref = ResourceRef(kind=Kind.GATEWAY, name=batch.gateway)
    embedded = EmbeddedCaddy(ctx.state_dir)
    outcome = Outcome()
    with _endpoint_lock(url):
        if url == embedded.url:
            pid, started = embedded.ensure(announce=announce)
            if not started:
                announce(f"using the running embedded Caddy (pid {pid})")
        with AdminClient(url, ref=gw_ref) as client:
            for _ in range(MAX_ATTEMPTS):
                outcome.attempts += 1
                try:
                    snap = client.read()
                except ObserveError as exc:
                    raise TemporaryError(exc.message, gw_ref) from None
                hosts, failures = observe_containers(
                    desired, batch.stacks_needed(desired), engines)
                with gcpause.paused():
                    config, outcome.left_out = next_config(
                        snap.config, desired, batch, ctx.owner, hosts, failures, ctx.secrets)
                if config == snap.config:
                    break
                try:
                    client.replace(config, snap.etag)
                except ConfigConflict:
                    ctx.log.warning("Caddy at %s changed while bosun was writing (412); "
                                    "reading it again", url)
                    continue
                finally:
                    outcome.writes = client.writes
                break
            else:
                raise TemporaryError(
                    f"Caddy's config at {url} kept changing during {MAX_ATTEMPTS} attempts",
                    gw_ref, delay=5.0)
        if url != embedded.url:
            remember_endpoint(ctx.state_dir, url, bool(extract(config, ctx.owner)))
    return outcome


def _keep_servers(owned: dict[str, dict[str, Any]], built: Built, gateway: str) -> None:
    """Route entries need their gateway's servers even when the Gateway was not in
    the batch (its servers were removed by hand since the plan)."""
    for local in list(owned):
        oid = parse_local(local)
        if oid is None or oid.slot is not Slot.ENTRY or oid.gateway != gateway:
            continue
        server = oid.server.local
        if server not in owned and server in built.objects:
            owned[server] = built.objects[server]


def results(changes: Sequence[Change], outcome: Outcome,
            started: datetime) -> list[ChangeResult]:
    out: list[ChangeResult] = []
    writes = outcome.writes
    for change in changes:
        finished = datetime.now(UTC)
        why = outcome.left_out.get(change.ref.name) if change.ref.kind is Kind.ROUTE else None
        if why is not None and change.action is not ChangeAction.DELETE:
            out.append(ChangeResult(
                ref=change.ref, action=change.action, outcome=ChangeOutcome.FAILED,
                message=f"not applied: upstream not resolvable: {why}", started_at=started,
                finished_at=finished, data={"retry_after": 10.0}))
            continue
        message = "" if writes or outcome.writes else "already as planned on Caddy"
        out.append(ChangeResult(
            ref=change.ref, action=change.action, outcome=ChangeOutcome.APPLIED,
            message=message, started_at=started, finished_at=finished, writes=writes,
            data={"requests": outcome.writes, "attempts": outcome.attempts,
                  "batch": len(changes)}))
        writes = 0  # the request is counted once, on the batch's first result
    return out


def apply(changes: Sequence[Change], desired: DesiredState, ctx: ProviderContext,
          engines: EngineClients, announce: Announce) -> list[ChangeResult]:
    """``announce`` says whether the embedded Caddy was started or found running."""
    started = datetime.now(UTC)
    if not changes:
        return []
    outcome = apply_batch(changes, desired, ctx, engines, announce)
    return results(changes, outcome, started)
