"""Plans for a proposed change: what merging ``head`` into ``base`` would do.

Not a stage: ``bosun plan --base/--head`` and the pull-request flow of
``bosun serve`` call it, and it runs the stages through the pipeline. Both
revisions are read from Git without touching the working copy. Online, the
head's desired state is planned against the running state (the engines);
offline, against the base revision's desired state, recorded in a throwaway
memory provider, for CI jobs that cannot reach the hosts.

What is planned is the head merged into the base (the head's own tree when it
already contains the base; an in-memory three-way merge otherwise, as a
forge's merge ref holds), so changes that landed on the base since the head
branched are not shown as reverted. A head that does not validate gives a
review with its problems and no plan. Changes to resources the merge does not
touch (the running state already differs from the base) are called out in the
plan's warnings.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from reconciler import gitrev
from reconciler.errors import ConfigError
from reconciler.model.common import ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.plan import Plan, PlanWarning
from reconciler.model.source import Revision
from reconciler.pipeline import Reconciler, load_desired
from reconciler.provider import ApplyOptions, ProviderContext
from reconciler.render import MARKDOWN_LIMIT, plan_json, render_markdown, render_text
from reconciler.state import StateStore

MAX_LISTED = 10


@runtime_checkable
class Seedable(Protocol):
    """A provider that can record a desired state as applied (the memory provider)."""

    def seed(self, desired: DesiredState, ctx: ProviderContext) -> int: ...


@dataclass
class Review:
    base: Revision
    head: Revision
    offline: bool
    plan: Plan | None = None
    problems: list[str] = field(default_factory=list)
    touched: list[ResourceRef] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Validation passed, no enforced policy failed and every state was read."""
        return self.plan is not None and not self.plan.blocked and not self.plan.errors


def touched(base: DesiredState | None, head: DesiredState) -> list[ResourceRef]:
    """Resources added, removed or changed between base and the merged head."""
    before = {r.ref: r.digest for r in base.resources} if base is not None else {}
    after = {r.ref: r.digest for r in head.resources}
    refs = {ref for ref in before.keys() | after.keys() if before.get(ref) != after.get(ref)}
    return sorted(refs, key=ResourceRef.sort_key)


def _drift_warning(plan: Plan, changed: list[ResourceRef]) -> PlanWarning | None:
    mine = set(changed)
    others = sorted({c.ref for c in plan.changes if c.ref not in mine}, key=ResourceRef.sort_key)
    if not others:
        return None
    listed = ", ".join(str(r) for r in others[:MAX_LISTED])
    more = f" and {len(others) - MAX_LISTED} more" if len(others) > MAX_LISTED else ""
    return PlanWarning(message=(
        f"not changed by this pull request, but the running state differs from the base "
        f"revision: {listed}{more}"
    ))


def _problems(exc: ConfigError) -> list[str]:
    return exc.lines()


def review(
    path: Path,
    base: str,
    head: str,
    *,
    state_dir: Path | None = None,
    providers: Sequence[str] | None = None,
    offline: bool = False,
    options: ApplyOptions | None = None,
    environ: Mapping[str, str] | None = None,
    subdir: str | None = None,
    reconciler: Reconciler | None = None,
) -> Review:
    """Plan merging ``head`` (a Git revision of the repository at ``path``) into ``base``.

    ``state_dir`` and ``providers`` are those of the running bosun (online),
    or ``reconciler`` itself; offline ignores them. ``subdir`` is the folder
    of the repository bosun reads (default: ``path`` inside its working copy).
    """
    with gitrev.checkout(path, base, subdir) as (base_root, base_rev), \
            gitrev.checkout_merge(path, base, head, subdir) as (head_root, head_rev):
        result = Review(base=base_rev, head=head_rev, offline=offline)
        try:
            base_desired: DesiredState | None = load_desired(base_root, base_rev)
        except ConfigError:
            base_desired = None  # a broken base: everything the head declares is new
        try:
            head_desired = load_desired(head_root, head_rev)
        except ConfigError as exc:
            result.problems = _problems(exc)
            return result
        result.touched = touched(base_desired, head_desired)
        scratch = Path(tempfile.mkdtemp(prefix="bosun-offline-")) if offline else None
        try:
            if scratch is not None:
                planner = Reconciler(state_dir=scratch, provider_names=["memory"],
                                     options=options or ApplyOptions(), environ=environ)
                if base_desired is not None:
                    seeder = next(p for p in planner.providers if isinstance(p, Seedable))
                    seeder.seed(base_desired, planner.context(base_desired))
            elif reconciler is not None:
                planner = reconciler
            else:
                state = state_dir or (path.resolve() / ".bosun")
                planner = Reconciler(
                    state_dir=state,
                    provider_names=list(providers) if providers else None,
                    options=options or ApplyOptions(), environ=environ,
                    kv=StateStore(state),  # as a plan of the working folder has
                )
            try:
                plan = planner.plan(head_desired)
            except ConfigError as exc:
                result.problems = _problems(exc)
                return result
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        warning = None if offline else _drift_warning(plan, result.touched)
        if warning is not None:
            plan = plan.model_copy(update={"warnings": (*plan.warnings, warning)})
        result.plan = plan
        return result


def context_lines(result: Review) -> list[str]:
    line = (f"Merging `{result.head.ref}` ({result.head.short}) into "
            f"`{result.base.ref}` ({result.base.short})")
    if result.offline:
        line += (" · offline: planned against the base revision's desired state, "
                 "not the running hosts")
    return [line]


def markdown(result: Review, limit: int = MARKDOWN_LIMIT) -> str:
    """The review for a pull-request comment (see ``render.render_markdown``)."""
    if result.plan is not None:
        return render_markdown(result.plan, limit=limit, context=context_lines(result))
    fence = "`" * 3
    head = ["### ❌ bosun: the head revision does not validate", "",
            *context_lines(result), "",
            f"{len(result.problems)} problem(s); nothing can be planned until they are fixed:",
            "", fence + "text"]
    note = "> Truncated: run `bosun validate` for every problem."
    rows: list[str] = []
    budget = limit - sum(len(x) + 1 for x in head) - len(note) - 100
    for line in result.problems:
        budget -= len(line) + 1
        if budget < 0:
            break
        rows.append(line.replace(fence, "'''"))
    tail = [fence, ""] + ([note, ""] if len(rows) < len(result.problems) else [])
    return "\n".join([*head, *rows, *tail]).rstrip("\n") + "\n"


def text(result: Review, color: bool = False) -> str:
    header = "\n".join(context_lines(result)).replace("`", "") + "\n\n"
    if result.plan is not None:
        return header + render_text(result.plan, color=color)
    return header + "\n".join(result.problems) + (
        f"\n\nbosun: {len(result.problems)} problem(s) in the head revision; "
        "nothing was planned.\n"
    )


def as_json(result: Review) -> dict[str, Any]:
    return {
        "base": result.base.model_dump(mode="json"),
        "head": result.head.model_dump(mode="json"),
        "offline": result.offline,
        "ok": result.ok,
        "touched": [str(r) for r in result.touched],
        "problems": list(result.problems),
        "plan": plan_json(result.plan) if result.plan is not None else None,
    }
