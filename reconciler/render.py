"""Plan renderers: text (Terraform's conventions), JSON (stable), Markdown (pull requests).

The JSON form is documented in ``docs/plan-json.md``; its ``format_version``
changes only when a field changes meaning or disappears.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.model.digest import short
from reconciler.model.plan import Change, ChangeAction, FieldDiff, Plan

_COLORS = {
    ChangeAction.CREATE: "\x1b[32m",
    ChangeAction.UPDATE: "\x1b[33m",
    ChangeAction.REPLACE: "\x1b[35m",
    ChangeAction.DELETE: "\x1b[31m",
}
_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
MAX_VALUE = 120


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."


def _diff_line(diff: FieldDiff) -> str:
    before, after = diff.shown()
    if diff.before is None:
        return f"+ {diff.path} = {_value(after)}"
    if diff.after is None:
        return f"- {diff.path} = {_value(before)}"
    return f"~ {diff.path}: {_value(before)} -> {_value(after)}"


def _change_lines(change: Change, color: bool, max_diffs: int) -> list[str]:
    mark = change.action.mark
    head = f"{mark} {change.ref}"
    if color:
        head = f"{_COLORS[change.action]}{mark}{_RESET} {_BOLD}{change.ref}{_RESET}"
    lines = [f"  {head}  ({change.action.value}: {change.reason})"]
    for detail in change.details:
        lines.append(f"      {detail}")
    diffs = change.diffs if change.action is not ChangeAction.CREATE else ()
    for diff in diffs[:max_diffs]:
        lines.append(f"      {_diff_line(diff)}")
    if len(diffs) > max_diffs:
        lines.append(f"      ... and {len(diffs) - max_diffs} more fields")
    return lines


def render_text(plan: Plan, color: bool = False, max_diffs: int = 20) -> str:
    lines = [f"bosun plan for {plan.revision} (desired {short(plan.desired_digest)})", ""]
    for err in plan.errors:
        where = f"{err.ref}: " if err.ref else ""
        lines.append(f"  ! {where}{err.provider}: {err.message}")
    if plan.errors:
        lines.append("")
    for change in plan.changes:
        lines.extend(_change_lines(change, color, max_diffs))
    if plan.changes:
        lines.append("")
    for warning in plan.warnings:
        where = f"{warning.ref}: " if warning.ref else ""
        lines.append(f"Warning: {where}{warning.message}")
    for result in plan.policy:
        level = "Error" if result.enforced else "Warning"
        node = f" {result.path}" if result.path else ""
        where = f" ({result.position})" if result.position else ""
        lines.append(
            f"{level}: policy {result.rule}: {result.ref}{node}{where}: {result.message}"
        )
    if plan.warnings or plan.policy:
        lines.append("")
    lines.append(plan.summary())
    if plan.errors:
        lines.append(f"{len(plan.errors)} error(s): state could not be read; "
                     "nothing is planned for the resources concerned.")
    if plan.blocked:
        lines.append("Enforced policy violations: this plan will not be applied.")
    return "\n".join(lines) + "\n"


def plan_json(plan: Plan) -> dict[str, Any]:
    counts = plan.counts()
    return {
        "format_version": plan.format_version,
        "digest": plan.digest(),
        "revision": plan.revision,
        "desired_digest": plan.desired_digest,
        "observed_digest": plan.observed_digest,
        "created_at": plan.created_at.isoformat() if plan.created_at else None,
        "summary": {
            "text": plan.summary(),
            "create": counts[ChangeAction.CREATE],
            "update": counts[ChangeAction.UPDATE],
            "replace": counts[ChangeAction.REPLACE],
            "delete": counts[ChangeAction.DELETE],
        },
        "changes": [
            {
                "action": c.action.value,
                "resource": str(c.ref),
                "kind": c.ref.kind.value,
                "name": c.ref.name,
                "provider": c.provider,
                "reason": c.reason,
                "details": list(c.details),
                "diffs": [
                    {"path": d.path, "before": d.shown()[0], "after": d.shown()[1],
                     "sensitive": d.sensitive}
                    for d in c.diffs
                ],
            }
            for c in plan.changes
        ],
        "errors": [
            {"resource": str(e.ref) if e.ref else None, "provider": e.provider,
             "message": e.message}
            for e in plan.errors
        ],
        "warnings": [
            {"resource": str(w.ref) if w.ref else None, "message": w.message}
            for w in plan.warnings
        ],
        "policy": [
            {"rule": p.rule, "policy": p.policy, "resource": str(p.ref), "message": p.message,
             "enforced": p.enforced, "position": p.position, "path": p.path}
            for p in plan.policy
        ],
    }


def render_json(plan: Plan) -> str:
    return json.dumps(plan_json(plan), indent=2, ensure_ascii=False) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(plan: Plan, limit: int = 60000) -> str:
    counts = plan.counts()
    status = "❌" if plan.errors or plan.blocked else ("✅" if plan.empty else "📝")
    lines = [f"### {status} bosun: {plan.summary()}", ""]
    lines.append(
        f"Revision `{plan.revision}` · desired `{short(plan.desired_digest)}` · "
        f"plan `{short(plan.digest())}`"
    )
    lines.append("")
    if plan.errors:
        lines.append("**State could not be read** (nothing is planned for these):")
        for e in plan.errors:
            lines.append(f"- `{e.ref or e.provider}`: {_md_escape(e.message)}")
        lines.append("")
    enforced = [p for p in plan.policy if p.enforced]
    warned = [p for p in plan.policy if not p.enforced]
    if plan.policy:
        lines.append(f"**Policy:** {len(enforced)} enforced violation(s), {len(warned)} warning(s)")
        lines.append("")
        lines.append("| | rule | resource | message |")
        lines.append("|---|---|---|---|")
        for p in plan.policy:
            icon = "❌" if p.enforced else "⚠️"
            where = f" ({p.position})" if p.position else ""
            lines.append(f"| {icon} | `{p.rule}` | `{p.ref}`{where} | {_md_escape(p.message)} |")
        lines.append("")
    if plan.changes:
        lines.append(
            f"<details><summary>{len(plan.changes)} change(s): "
            f"{counts[ChangeAction.CREATE]} create, {counts[ChangeAction.UPDATE]} update, "
            f"{counts[ChangeAction.REPLACE]} replace, {counts[ChangeAction.DELETE]} delete"
            "</summary>"
        )
        lines.append("")
        lines.append("```diff")
        body: list[str] = []
        for change in plan.changes:
            body.extend(_change_lines(change, False, 20))
        lines.extend(line.replace("```", "'''") for line in body)
        lines.append("```")
        lines.append("</details>")
    for w in plan.warnings:
        lines.append(f"- ⚠️ {w.ref or ''} {_md_escape(w.message)}")
    text = "\n".join(lines) + "\n"
    if len(text) > limit:
        cut = text[: limit - 200].rsplit("\n", 1)[0]
        if cut.count("```") % 2 == 1:
            cut += "\n```"
        if "<details>" in cut and "</details>" not in cut:
            cut += "\n</details>"
        text = cut + (
            f"\n\n> Truncated: the full plan is {len(text)} characters; "
            "run `bosun plan` for all of it.\n"
        )
    return text


def render(plan: Plan, fmt: str, color: bool = False) -> str:
    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan)
    return render_text(plan, color=color)
