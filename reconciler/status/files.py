"""The files of the status branch: one YAML file per resource and a STATUS.md table.

Part of stage *record*. ``status_file`` turns a ``ResourceStatus`` into the
text of ``status/<agent>/<kind>/<name>.yaml``; it holds only what changes
when the status changes (no "checked at" times), so that an unchanged
reconcile writes identical files and the branch gets no commit.
``status_table`` renders STATUS.md from every agent's files, and
``change_lines`` says what changed between two versions of a file, for the
commit message (``blog: Healthy -> Degraded at 1a2b3c4``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML

from reconciler.logs import scrub
from reconciler.model.common import Kind
from reconciler.model.status import ResourceStatus

HISTORY_IN_FILE = 5
FORMAT = "bosun/v1"


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.width = 4096
    return yaml


def status_body(status: ResourceStatus, agent: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": FORMAT,
        "kind": "ResourceStatus",
        "resource": {"kind": status.ref.kind.value, "name": status.ref.name},
        "agent": agent,
        "sync": status.sync.value,
        "health": status.health.state.value,
    }
    if status.health.reason:
        body["healthReason"] = status.health.reason
    if status.health.message:
        body["healthMessage"] = status.health.message
    body["conditions"] = [
        {"type": c.type.value, "status": "True" if c.status else "False", "reason": c.reason,
         "message": c.message,
         "lastTransitionTime": c.last_transition.isoformat() if c.last_transition else None}
        for c in status.conditions
    ]
    body["lastAppliedRevision"] = status.last_applied_revision
    body["lastAttemptedRevision"] = status.last_attempted_revision
    if status.digest:
        body["digest"] = status.digest
    details = status.details
    if details is not None:
        shown: dict[str, Any] = {}
        if details.services:
            shown["services"] = [
                {k: v for k, v in s.model_dump(mode="json").items() if v not in (None, [], "")}
                for s in details.services
            ]
        if details.containers:
            # Name, state and health only: Docker's "Up 5 minutes" would change every time.
            shown["containers"] = [
                {k: v for k, v in c.model_dump(mode="json", include={"name", "service", "state",
                                                                    "health"}).items()
                 if v is not None}
                for c in details.containers
            ]
        if details.hosts:
            shown["hosts"] = list(details.hosts)
        if details.upstreams:
            shown["upstreams"] = [u.address for u in details.upstreams]
        if details.facts:
            shown["facts"] = dict(sorted(details.facts.items()))
        if shown:
            body["details"] = shown
    body["history"] = [
        {"revision": h.revision, "digest": h.digest, "started": h.started_at.isoformat(),
         "finished": h.finished_at.isoformat() if h.finished_at else None,
         "result": h.result, "changes": list(h.changes)}
        for h in status.history[:HISTORY_IN_FILE]
    ]
    return body


def status_file(status: ResourceStatus, agent: str) -> str:
    out = io.StringIO()
    _yaml().dump(status_body(status, agent), out)
    return scrub(out.getvalue())


def read_status_file(text: bytes | str) -> dict[str, Any]:
    """A status file as data; an unreadable one gives an empty mapping."""
    try:
        data = _yaml().load(text)
    except Exception:
        return {}
    return data if isinstance(data, dict) else {}


def file_path(agent: str, kind: Kind | str, name: str) -> str:
    return f"status/{agent}/{kind}/{name}.yaml"


def _label(body: Mapping[str, Any], path: str) -> str:
    resource = body.get("resource") or {}
    kind = resource.get("kind") if isinstance(resource, dict) else None
    name = resource.get("name") if isinstance(resource, dict) else None
    if not kind or not name:
        parts = path.removesuffix(".yaml").split("/")
        kind, name = parts[-2], parts[-1]
    # Stacks are what people name most: "blog"; everything else says its kind.
    return str(name) if kind == Kind.STACK.value else f"{kind}/{name}"


def change_lines(old: Mapping[str, bytes], new: Mapping[str, bytes], short: str) -> list[str]:
    """One line per file that changed: ``blog: Healthy -> Degraded at 1a2b3c4``."""
    lines: list[str] = []
    for path in sorted(set(old) | set(new)):
        if old.get(path) == new.get(path):
            continue
        before = read_status_file(old[path]) if path in old else None
        after = read_status_file(new[path]) if path in new else None
        label = _label(after or before or {}, path)
        if after is None:
            lines.append(f"{label}: removed at {short}")
            continue
        now = f"{after.get('sync', '?')}/{after.get('health', '?')}"
        if before is None:
            lines.append(f"{label}: new, {now} at {short}")
            continue
        parts = []
        for key in ("health", "sync"):
            if before.get(key) != after.get(key):
                parts.append(f"{before.get(key)} -> {after.get(key)}")
        if parts:
            lines.append(f"{label}: {', '.join(parts)} at {short}")
            continue
        changed = _what_changed(before, after)
        lines.append(f"{label}: {after.get('health', '?')}, {changed} at {short}")
    return lines


def _what_changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    if before.get("lastAppliedRevision") != after.get("lastAppliedRevision"):
        return "applied"
    names = [k for k in ("conditions", "healthMessage", "healthReason", "details", "history",
                         "lastAttemptedRevision", "digest") if before.get(k) != after.get(k)]
    return (names[0] if names else "status") + " changed"


def status_table(files: Mapping[str, bytes]) -> str:
    """STATUS.md: every agent's resources, failing ones first."""
    rows = []
    for path in sorted(files):
        body = read_status_file(files[path])
        if not body:
            continue
        resource = body.get("resource") or {}
        rows.append((
            str(body.get("agent") or path.split("/")[1]),
            f"{resource.get('kind', '?')}/{resource.get('name', '?')}",
            str(body.get("sync", "Unknown")),
            str(body.get("health", "Unknown")),
            _short(body.get("lastAppliedRevision")),
            str(body.get("healthMessage") or "").replace("|", "\\|").replace("\n", " ")[:120],
        ))
    order = {"Degraded": 0, "Missing": 1, "Unknown": 2, "Progressing": 3, "Suspended": 4,
             "Healthy": 5}
    rows.sort(key=lambda r: (order.get(r[3], 2), r[2] == "Synced", r[0], r[1]))
    healthy = sum(1 for r in rows if r[3] == "Healthy")
    synced = sum(1 for r in rows if r[2] == "Synced")
    lines = [
        "# bosun status",
        "",
        f"{len(rows)} resources: {synced} synced, {healthy} healthy. "
        "Written by bosun; every agent keeps its files under `status/<agent>/`.",
        "",
        "| Agent | Resource | Sync | Health | Applied | Message |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {' | '.join(r)} |" for r in rows]
    return scrub("\n".join(lines) + "\n")


def _short(revision: object) -> str:
    if not isinstance(revision, str) or not revision:
        return "-"
    ref, _, sha = revision.partition("@sha1:")
    return f"`{ref}@{sha[:7]}`" if sha else f"`{revision}`"
