"""Plan: desired Gateways and Routes against each Caddy's live config.

Part of the Caddy provider (plan). Per admin endpoint: build the objects each
desired Gateway wants, extract the owned objects Caddy has, and compare them
per resource (``views``). Owned objects of Gateways or Routes that are no
longer wanted there are deletes. When every resource matches but bosun's
objects sit out of bosun's order (a hand edit), the first Gateway there gets
an update, so that "No changes." always means "apply sends nothing".
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from providers.caddy import inputs, views
from providers.caddy.build import build_gateway
from providers.caddy.config import Owned, extract, in_place, install_trust_of, render
from providers.caddy.ids import parse_local
from providers.caddy.state import CaddyObservation, EndpointState
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.diff import diff_values
from reconciler.model.plan import Change, ChangeAction
from reconciler.provider import ProviderContext

PROVIDER = "caddy"


def by_resource(owned: Owned) -> dict[tuple[str, ResourceRef], Owned]:
    """Owned objects grouped by (gateway, owning resource)."""
    out: dict[tuple[str, ResourceRef], Owned] = defaultdict(dict)
    for local, obj in owned.items():
        oid = parse_local(local)
        if oid is not None:
            out[(oid.gateway, oid.ref)][local] = obj
    return out


def _gateway_view(objects: Owned, install_trust: Any) -> dict[str, Any]:
    out = views.view(objects)
    out["pki"] = {"install_trust": install_trust}
    return out


def _change(action: ChangeAction, ref: ResourceRef, reason: str, before: dict[str, Any],
            after: dict[str, Any], payload: dict[str, Any],
            details: tuple[str, ...] = ()) -> Change:
    return Change(action=action, ref=ref, provider=PROVIDER, reason=reason,
                  diffs=tuple(views.diffs(before, after)), details=details, payload=payload)


def plan_endpoint(desired: DesiredState, state: EndpointState, observed: CaddyObservation,
                  ctx: ProviderContext, embedded_url: str) -> list[Change]:
    owner = ctx.owner
    live_owned = extract(state.config, owner)
    live = by_resource(live_owned)
    here = {name: gw for name, gw in inputs.gateways(desired).items()
            if inputs.endpoint_of(gw, embedded_url) == state.url}
    where = "embedded Caddy" if state.embedded else f"Caddy at {state.url}"
    changes: list[Change] = []
    for name, gateway in sorted(here.items()):
        payload = {"endpoint": state.url, "gateway": name}
        gw_ref = ResourceRef(kind=Kind.GATEWAY, name=name)
        live_g = {k: v for (g, _), objs in live.items() if g == name for k, v in objs.items()}
        found = inputs.route_inputs(desired, name, live_g, observed.hosts,
                                    set(observed.unreadable_hosts), ctx.secrets)
        built = build_gateway(owner, inputs.gateway_input(desired, gateway), found.routes,
                              live_g)
        if built.objects == live_g and install_trust_of(state.config) is False:
            continue  # the common case of a steady state: nothing to compare in detail
        wanted = by_resource(built.objects)
        before = _gateway_view(live.get((name, gw_ref), {}), install_trust_of(state.config))
        after = _gateway_view(wanted[(name, gw_ref)], False)
        if (name, gw_ref) not in live:
            changes.append(_change(ChangeAction.CREATE, gw_ref,
                                   f"its servers are not on the {where} yet", {}, after,
                                   payload))
        elif before != after:
            found_diffs = views.diffs(before, after)
            changes.append(_change(ChangeAction.UPDATE, gw_ref,
                                   f"changed: {views.summary(found_diffs)}", before, after,
                                   payload))
        desired_routes = {r.name for r in inputs.routes(desired, name)}
        for route in found.routes:
            ref = ResourceRef(kind=Kind.ROUTE, name=route.name)
            notes = tuple(built.notes.get(route.name, ()))
            if route.name in found.unresolved:
                notes = (f"upstream: {found.unresolved[route.name]}", *notes)
            r_after = views.view(wanted.get((name, ref), {}))
            if (name, ref) not in live:
                changes.append(_change(ChangeAction.CREATE, ref,
                                       f"not on gateway {name} yet", {}, r_after, payload,
                                       notes))
                continue
            r_before = views.view(live[(name, ref)])
            if r_before != r_after:
                found_diffs = views.diffs(r_before, r_after)
                changes.append(_change(ChangeAction.UPDATE, ref,
                                       f"changed: {views.summary(found_diffs)}", r_before,
                                       r_after, payload, notes))
        for (g, ref), objs in sorted(live.items(), key=lambda kv: (kv[0][0], kv[0][1].name)):
            if g != name or ref.kind is not Kind.ROUTE or ref.name in desired_routes:
                continue
            reason = ("moved to another gateway" if desired.get(ref) is not None
                      else "removed from the repository")
            changes.append(_change(ChangeAction.DELETE, ref, reason, views.view(objs), {},
                                   payload))
    for (g, ref), objs in sorted(live.items(), key=lambda kv: (kv[0][0], kv[0][1].name)):
        if g in here:
            continue
        payload = {"endpoint": state.url, "gateway": g}
        if ref.kind is Kind.GATEWAY:
            moved = desired.get(ref) is not None
            reason = ("its admin endpoint changed" if moved else "removed from the repository")
            changes.append(_change(ChangeAction.DELETE, ref, reason,
                                   _gateway_view(objs, install_trust_of(state.config)), {},
                                   payload))
        else:
            changes.append(_change(ChangeAction.DELETE, ref, f"gateway {g} is removed here",
                                   views.view(objs), {}, payload))
    if state.embedded and not state.running:
        changes = _start_embedded(changes, sorted(here), state.url)
    if not changes and here and not in_place(state.config, owner):
        canonical = render(state.config, owner, live_owned)
        if canonical != state.config:
            name = sorted(here)[0]
            changes.append(Change(
                action=ChangeAction.UPDATE, ref=ResourceRef(kind=Kind.GATEWAY, name=name),
                provider=PROVIDER,
                reason="bosun's routes or TLS policies are out of order on Caddy",
                diffs=tuple(diff_values(_placement(state.config), _placement(canonical))),
                payload={"endpoint": state.url, "gateway": name}))
    return changes


def _start_embedded(changes: list[Change], names: list[str], url: str) -> list[Change]:
    """A stopped embedded Caddy serves nothing: each of its Gateways needs apply,
    which starts it (and writes only if its config differs)."""
    note = "the embedded Caddy is not running: apply starts it"
    out = list(changes)
    for name in names:
        ref = ResourceRef(kind=Kind.GATEWAY, name=name)
        at = next((i for i, c in enumerate(out) if c.ref == ref), None)
        if at is not None:
            out[at] = out[at].model_copy(update={"details": (note, *out[at].details)})
        else:
            out.append(Change(action=ChangeAction.UPDATE, ref=ref, provider=PROVIDER,
                              reason=note, payload={"endpoint": url, "gateway": name}))
    return out


def _placement(config: dict[str, Any]) -> dict[str, Any]:
    apps = config.get("apps") or {}
    servers = ((apps.get("http") or {}).get("servers")) or {}
    order: dict[str, Any] = {}
    for key, server in sorted(servers.items()):
        if isinstance(server, dict):
            order[f"servers.{key}.routes"] = [
                r.get("@id", "(no @id)") if isinstance(r, dict) else "?"
                for r in server.get("routes") or []]
    policies = (((apps.get("tls") or {}).get("automation") or {}).get("policies")) or []
    order["tls.policies"] = [p.get("@id", "(no @id)") if isinstance(p, dict) else "?"
                             for p in policies]
    return order


def plan(desired: DesiredState, observed: CaddyObservation, ctx: ProviderContext,
         embedded_url: str) -> list[Change]:
    changes: list[Change] = []
    for _url, state in sorted(observed.endpoints.items()):
        changes.extend(plan_endpoint(desired, state, observed, ctx, embedded_url))
    return changes
