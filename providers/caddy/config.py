"""Owned objects in and out of a whole Caddy config.

Part of the Caddy provider; no I/O. ``extract`` finds this owner's objects in a
live config (keyed by local id); ``render`` puts a set of owned objects back
into the live config and leaves everything else as it is: the ``admin`` block,
other servers, other apps, other TLS policies, and routes added by hand to
bosun's own servers (kept before or after bosun's routes, where they were).

``render(live, owner, extract(live, owner)) == live`` holds for any config bosun
wrote itself, which is what makes a second apply send nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from providers.caddy.ids import ObjectId, Slot, full, parse, parse_local

Owned = dict[str, dict[str, Any]]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _servers(config: dict[str, Any]) -> dict[str, Any]:
    return _dict(_dict(_dict(config.get("apps")).get("http")).get("servers"))


def _policies(config: dict[str, Any]) -> list[Any]:
    tls = _dict(_dict(config.get("apps")).get("tls"))
    policies = _dict(tls.get("automation")).get("policies")
    return policies if isinstance(policies, list) else []


def extract(config: dict[str, Any], owner: str) -> Owned:
    """This owner's objects in ``config``; servers without their ``routes``."""
    owned: Owned = {}
    for key, server in _servers(config).items():
        sid = parse(owner, key)
        if sid is None or sid.slot is not Slot.SERVER or not isinstance(server, dict):
            continue
        owned[sid.local] = {k: v for k, v in server.items() if k != "routes"}
        for route in server.get("routes") or []:
            rid = parse(owner, route.get("@id")) if isinstance(route, dict) else None
            if rid is not None and rid.slot is Slot.ENTRY and rid.server == sid:
                owned[rid.local] = route
    for policy in _policies(config):
        pid = parse(owner, policy.get("@id")) if isinstance(policy, dict) else None
        if pid is not None and pid.slot is Slot.POLICY:
            owned[pid.local] = policy
    return owned


def entry_sort_key(local: str, entry: dict[str, Any]) -> tuple[int, int, int, str]:
    """Exact hosts before wildcards (narrower wildcards first), longer paths first."""
    match = entry.get("match") or [{}]
    first = match[0] if isinstance(match[0], dict) else {}
    hosts = [h for h in first.get("host") or [] if isinstance(h, str)]
    wild = any(h.startswith("*") for h in hosts)
    labels = max((h.count(".") for h in hosts), default=0)
    paths = [p for p in first.get("path") or [] if isinstance(p, str)]
    length = max((len(p.removesuffix("*").rstrip("/")) for p in paths), default=0)
    return (1 if wild else 0, -labels if wild else 0, -length, local)


def _is_owned_entry(owner: str, sid: ObjectId, route: Any) -> bool:
    rid = parse(owner, route.get("@id")) if isinstance(route, dict) else None
    return rid is not None and rid.slot is Slot.ENTRY and rid.server == sid


def _render_servers(live: dict[str, Any], owner: str, target: dict[ObjectId, dict[str, Any]],
                    changed: list[bool]) -> dict[str, Any]:
    live_servers = _servers(live)
    servers: dict[str, Any] = {}
    for key, server in live_servers.items():
        sid = parse(owner, key)
        if sid is not None and sid.slot is Slot.SERVER:
            if sid not in target:
                changed[0] = True  # a server of ours goes away
            continue
        servers[key] = server
    entries: dict[ObjectId, list[tuple[str, dict[str, Any]]]] = {}
    for oid, obj in target.items():
        if oid.slot is Slot.ENTRY:
            entries.setdefault(oid.server, []).append((oid.local, obj))
    for sid, skeleton in sorted(target.items(), key=lambda kv: kv[0].local):
        if sid.slot is not Slot.SERVER:
            continue
        key = full(owner, sid)
        front: list[Any] = []
        back: list[Any] = []
        seen_owned = False
        old = live_servers.get(key)
        for route in (old.get("routes") or []) if isinstance(old, dict) else []:
            if _is_owned_entry(owner, sid, route):
                seen_owned = True
            elif seen_owned:
                back.append(route)
            else:
                front.append(route)
        own = [obj for _, obj in sorted(entries.get(sid, []),
                                        key=lambda kv: entry_sort_key(kv[0], kv[1]))]
        body = dict(skeleton)
        routes = front + own + back
        if routes:
            body["routes"] = routes
        servers[key] = body
    return servers


def _render_policies(live: dict[str, Any], owner: str,
                     target: dict[ObjectId, dict[str, Any]]) -> tuple[list[Any], bool]:
    """Policies in order, and whether any of ours was removed from the list."""
    hand: list[Any] = []
    insert_at: int | None = None
    removed = False
    for policy in _policies(live):
        pid = parse(owner, policy.get("@id")) if isinstance(policy, dict) else None
        if pid is not None and pid.slot is Slot.POLICY:
            if insert_at is None:
                insert_at = len(hand)
            removed = True
            continue
        hand.append(policy)
    if insert_at is None:
        # Before the first catch-all policy (one without subjects), else at the end.
        insert_at = next((i for i, p in enumerate(hand)
                          if isinstance(p, dict) and not p.get("subjects")), len(hand))
    own = [obj for oid, obj in sorted(target.items(), key=lambda kv: kv[0].local)
           if oid.slot is Slot.POLICY]
    return hand[:insert_at] + own + hand[insert_at:], removed


def render(live: dict[str, Any], owner: str, owned: Owned,
           install_trust: bool | None = False) -> dict[str, Any]:
    """``live`` with this owner's objects replaced by ``owned``.

    Only the containers that lead to owned objects are copied; everything else
    is shared with ``live`` (callers must not mutate the result in place).
    ``install_trust``: the value for ``apps.pki.certificate_authorities.local``
    (None leaves it alone).
    """
    target: dict[ObjectId, dict[str, Any]] = {}
    for local, obj in owned.items():
        oid = parse_local(local)
        if oid is None:
            raise ValueError(f"not a bosun object id: {local!r}")
        target[oid] = obj
    config = dict(live)
    apps = dict(_dict(config.get("apps")))

    removed_server = [False]
    servers = _render_servers(live, owner, target, removed_server)
    http = dict(_dict(apps.get("http")))
    if servers or "servers" in http:
        http["servers"] = servers
    if not servers and removed_server[0]:
        http.pop("servers", None)
    if http or "http" in apps:
        apps["http"] = http
    if not http and removed_server[0]:
        apps.pop("http", None)

    policies, removed_policy = _render_policies(live, owner, target)
    tls = dict(_dict(apps.get("tls")))
    automation = dict(_dict(tls.get("automation")))
    if policies or "policies" in automation:
        automation["policies"] = policies
    if not policies and removed_policy:
        automation.pop("policies", None)
    if automation or "automation" in tls:
        tls["automation"] = automation
    if not automation and removed_policy:
        tls.pop("automation", None)
    if tls or "tls" in apps:
        apps["tls"] = tls
    if not tls and removed_policy:
        apps.pop("tls", None)

    if install_trust is not None:
        pki = dict(_dict(apps.get("pki")))
        cas = dict(_dict(pki.get("certificate_authorities")))
        local_ca = dict(_dict(cas.get("local")))
        local_ca["install_trust"] = install_trust
        cas["local"] = local_ca
        pki["certificate_authorities"] = cas
        apps["pki"] = pki
    if apps or "apps" in config:
        config["apps"] = apps
    return config


def in_place(config: dict[str, Any], owner: str) -> bool:
    """Whether ``render(config, owner, extract(config, owner)) == config``, cheaply.

    True when this owner's route entries sit together and in order in each of
    its servers, its policies sit together and in order, and the local CA's
    ``install_trust`` is false: exactly what ``render`` would leave untouched.
    """
    if install_trust_of(config) is not False:
        return False
    for key, server in _servers(config).items():
        sid = parse(owner, key)
        if sid is None or sid.slot is not Slot.SERVER:
            continue
        if not isinstance(server, dict) or server.get("routes") == []:
            return False
        owned: list[tuple[int, tuple[int, int, int, str]]] = []
        for index, route in enumerate(server.get("routes") or []):
            rid = parse(owner, route.get("@id")) if isinstance(route, dict) else None
            if rid is not None and rid.slot is Slot.ENTRY and rid.server == sid:
                owned.append((index, entry_sort_key(rid.local, route)))
        if owned and owned[-1][0] - owned[0][0] != len(owned) - 1:
            return False  # a hand route sits between two of ours
        keys = [key for _, key in owned]
        if keys != sorted(keys):
            return False
    seen: list[tuple[int, str]] = []
    for index, policy in enumerate(_policies(config)):
        pid = parse(owner, policy.get("@id")) if isinstance(policy, dict) else None
        if pid is not None and pid.slot is Slot.POLICY:
            seen.append((index, pid.local))
    if seen and seen[-1][0] - seen[0][0] != len(seen) - 1:
        return False
    return [local for _, local in seen] == sorted(local for _, local in seen)


def install_trust_of(config: dict[str, Any]) -> Any:
    pki = _dict(_dict(config.get("apps")).get("pki"))
    return _dict(_dict(pki.get("certificate_authorities")).get("local")).get("install_trust")


def replace_scope(live_owned: Owned, wanted: Owned,
                  in_scope: Callable[[ObjectId], bool]) -> Owned:
    """Owned objects after applying ``wanted`` to the objects ``in_scope``.

    Objects out of scope keep their live form (or stay absent): apply changes
    only what the plan said.
    """
    out: Owned = {}
    for local, obj in live_owned.items():
        oid = parse_local(local)
        if oid is not None and not in_scope(oid):
            out[local] = obj
    for local, obj in wanted.items():
        oid = parse_local(local)
        if oid is not None and in_scope(oid):
            out[local] = obj
    return out

