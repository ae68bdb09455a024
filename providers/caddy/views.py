"""What plans show of Caddy objects: per-resource views and their field diffs.

Part of the Caddy provider; no I/O. A view is the part of the owned objects
that belongs to one Gateway or Route, shaped for people: route entries by
``<listener>.<hosts>`` with handlers keyed by name, TLS policies by ``tls``.
Password hashes never reach a view: accounts show as a fingerprint that the
plan marks sensitive, so a changed password is a change, rendered
``(sensitive)``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from providers.caddy.config import Owned
from providers.caddy.ids import ObjectId, Slot, parse_local
from reconciler.model.diff import diff_values
from reconciler.model.plan import FieldDiff

ACCOUNTS = "handle.authentication.providers.http_basic.accounts"


def _part(oid: ObjectId) -> str:
    if oid.slot is Slot.SERVER:
        assert oid.listener is not None
        return oid.listener.value
    if oid.slot is Slot.POLICY:
        return "tls"
    assert oid.listener is not None and oid.group is not None
    return f"{oid.listener.value}.{oid.group.value}"


def _accounts(accounts: Any) -> Any:
    if not isinstance(accounts, list):
        return accounts
    out = []
    for account in accounts:
        if isinstance(account, dict):
            secret = str(account.get("password", ""))
            out.append({"username": account.get("username"),
                        "password": "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:16]})
        else:
            out.append(account)
    return out


def _entry_view(entry: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {k: v for k, v in entry.items() if k not in ("@id", "handle")}
    match = view.get("match")
    if isinstance(match, list) and len(match) == 1:
        view["match"] = match[0]
    handlers: dict[str, Any] = {}
    for i, handler in enumerate(entry.get("handle") or []):
        if not isinstance(handler, dict):
            handlers[str(i)] = handler
            continue
        name = str(handler.get("handler", i))
        body = {k: v for k, v in handler.items() if k != "handler"}
        if name == "authentication":
            basic = ((body.get("providers") or {}).get("http_basic")) or {}
            if "accounts" in basic:
                basic = {**basic, "accounts": _accounts(basic["accounts"])}
                body = {**body, "providers": {**body["providers"], "http_basic": basic}}
        handlers[name if name not in handlers else f"{name}.{i}"] = body
    view["handle"] = handlers
    return view


def view(objects: Owned) -> dict[str, Any]:
    """The view of some owned objects (all of one resource)."""
    out: dict[str, Any] = {}
    for local, obj in objects.items():
        oid = parse_local(local)
        if oid is None:
            continue
        if oid.slot is Slot.ENTRY:
            out[_part(oid)] = _entry_view(obj)
        else:
            out[_part(oid)] = {k: v for k, v in obj.items() if k != "@id"}
    return out


def sensitive_paths(view_: dict[str, Any]) -> frozenset[str]:
    return frozenset(f"{part}.{ACCOUNTS}" for part in view_)


def diffs(before: dict[str, Any], after: dict[str, Any]) -> list[FieldDiff]:
    secret = sensitive_paths(before) | sensitive_paths(after)
    return diff_values(before, after, sensitive=secret)


def summary(found: list[FieldDiff], limit: int = 3) -> str:
    paths = [d.path for d in found]
    text = ", ".join(paths[:limit])
    return text + (f" and {len(paths) - limit} more" if len(paths) > limit else "")
