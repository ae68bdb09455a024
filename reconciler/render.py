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
        lines.append(f"{len(plan.errors)} error(s) above (state that could not be read, or a "
                     "stack that could not be rendered): nothing is planned for the resources "
                     "concerned.")
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


MARKDOWN_LIMIT = 60000  # GitHub refuses comments over 65536 characters
_FENCE = "`" * 3


def _md_policy(plan: Plan) -> list[str]:
    if not plan.policy:
        return []
    enforced = sum(1 for p in plan.policy if p.enforced)
    warned = len(plan.policy) - enforced
    lines = [f"**Policy:** {enforced} enforced violation(s), {warned} warning(s)", "",
             "| | rule | resource | where | message |", "|---|---|---|---|---|"]
    for p in plan.policy:
        icon = "❌" if p.enforced else "⚠️"
        node = f" `{p.path}`" if p.path else ""
        where = f"`{p.position}`" if p.position else ""
        lines.append(f"| {icon} | `{p.rule}` | `{p.ref}`{node} | {where} | "
                     f"{_md_escape(p.message)} |")
    return [*lines, ""]


def _md_changes(plan: Plan) -> list[str]:
    body: list[str] = []
    for change in plan.changes:
        lines = _change_lines(change, False, 20)
        body.append(lines[0].removeprefix("  "))  # the mark first: diff colouring
        body.extend(lines[1:])
    return [line.replace(_FENCE, "'''") for line in body]


def render_markdown(
    plan: Plan, limit: int = MARKDOWN_LIMIT, context: list[str] | None = None,
    title: str = "bosun",
) -> str:
    """The plan for a pull-request comment.

    The summary line comes first, then ``context`` lines (e.g. base and head),
    the revision and digests, unreadable state, the policy results, the
    changes in a collapsible block and the warnings. Past ``limit`` characters
    the change list is cut first, then the policy table, with a note.
    """
    counts = plan.counts()
    status = "❌" if plan.errors or plan.blocked else ("✅" if plan.empty else "📝")
    head = [f"### {status} {title}: {plan.summary()}", ""]
    if plan.blocked:
        head += ["**Enforced policy violations: this plan will not be applied.**", ""]
    for line in context or []:
        head += [line, ""]
    head += [f"Revision `{plan.revision}` · desired `{short(plan.desired_digest)}` · "
             f"plan `{plan.digest()}`", ""]
    if plan.errors:
        head.append("**State could not be read** (nothing is planned for these):")
        head.extend(f"- `{e.ref or e.provider}`: {_md_escape(e.message)}" for e in plan.errors)
        head.append("")
    policy = _md_policy(plan)
    body = _md_changes(plan)
    tail: list[str] = []
    if plan.warnings:
        tail += ["**Warnings**", ""]
        tail.extend(f"- ⚠️ {f'`{w.ref}` ' if w.ref else ''}{_md_escape(w.message)}"
                    for w in plan.warnings)
        tail.append("")

    def assemble(policy_rows: list[str], body_rows: list[str], note: str) -> str:
        lines = [*head, *policy_rows]
        if plan.changes:
            lines += [
                f"<details><summary>{len(plan.changes)} change(s): "
                f"{counts[ChangeAction.CREATE]} create, {counts[ChangeAction.UPDATE]} update, "
                f"{counts[ChangeAction.REPLACE]} replace, {counts[ChangeAction.DELETE]} delete"
                "</summary>", "", _FENCE + "diff", *body_rows, _FENCE, "", "</details>", "",
            ]
        lines += tail
        if note:
            lines += [note, ""]
        return "\n".join(lines).rstrip("\n") + "\n"

    text = assemble(policy, body, "")
    if len(text) <= limit:
        return text
    note = (f"> Truncated: the full plan is {len(text)} characters; "
            "run `bosun plan` for all of it.")
    kept = _fit(body, limit - len(assemble(policy, [], note)) - 100)
    if len(kept) < len(body):
        kept.append(f"... {len(body) - len(kept)} more line(s)")
    text = assemble(policy, kept, note)
    if len(text) <= limit:
        return text
    rows = policy[:4]  # the heading, a blank line and the table's header
    rows += _fit(policy[4:-1], limit - len(assemble(rows, kept[-1:], note)) - 100)
    rows += [f"| | | | | ... {len(policy) - 1 - len(rows)} more result(s) |", ""]
    text = assemble(rows, kept[-1:], note)
    return text if len(text) <= limit else text[: limit - len(note) - 2] + "\n" + note + "\n"


def _fit(lines: list[str], budget: int) -> list[str]:
    kept: list[str] = []
    for line in lines:
        budget -= len(line) + 1
        if budget < 0:
            break
        kept.append(line)
    return kept


def render(plan: Plan, fmt: str, color: bool = False) -> str:
    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan)
    return render_text(plan, color=color)
