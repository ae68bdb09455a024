"""Saved plans: ``bosun plan --out plan.json`` and ``bosun apply --plan plan.json``.

Not a stage: the pipeline calls it between plan and apply. A saved plan is
bound to what it was made against (the revision, the desired digest and the
observed digest); applying it re-reads the repository and the engines and
refuses with ``StalePlanError`` when any of the three moved on. A fresh plan
is applied exactly as saved: its changes, not a new plan's.

Saved plans never hold secret values: sensitive diffs are redacted when the
plan is made (``sanitize``), and any value the secrets resolver handed out is
scrubbed from every string of the plan.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.errors import BosunError, StalePlanError
from reconciler.model.digest import short
from reconciler.model.plan import PLAN_FORMAT_VERSION, FieldDiff, Plan
from reconciler.model.sensitive import Sensitive, redact

SAVED_KIND = "bosun/saved-plan"


def _scrub(value: Any, secrets: Sequence[Sensitive]) -> Any:
    if isinstance(value, str):
        return redact(value, list(secrets))
    if isinstance(value, dict):
        return {_scrub(k, secrets): _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value


def _redact_diff(diff: FieldDiff) -> FieldDiff:
    if not diff.sensitive:
        return diff
    before, after = diff.shown()
    return diff.model_copy(update={"before": before, "after": after})


def sanitize(plan: Plan, secrets: Sequence[Sensitive] = ()) -> Plan:
    """The plan with sensitive diff values redacted and known secret values scrubbed."""
    changes = tuple(
        c.model_copy(update={"diffs": tuple(_redact_diff(d) for d in c.diffs)})
        for c in plan.changes
    )
    clean = plan.model_copy(update={"changes": changes})
    if not secrets:
        return clean
    body = _scrub(clean.model_dump(mode="json"), secrets)
    return Plan.model_validate(body)


def dumps(plan: Plan, providers: Sequence[str] = ()) -> str:
    """The saved form: the plan, its digest and the providers that observed."""
    envelope = {
        "kind": SAVED_KIND,
        "format_version": PLAN_FORMAT_VERSION,
        "digest": plan.digest(),
        "providers": list(providers),
        "plan": plan.model_dump(mode="json"),
    }
    return json.dumps(envelope, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def save(plan: Plan, path: Path, providers: Sequence[str] = ()) -> None:
    """Write the plan (sanitized again: a no-op for plans the pipeline made)."""
    text = dumps(sanitize(plan), providers)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".plan-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class SavedPlan:
    def __init__(self, plan: Plan, providers: list[str]) -> None:
        self.plan = plan
        self.providers = providers


def load(path: Path) -> SavedPlan:
    """Read a saved plan; ``BosunError`` when it is not one, or was altered."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BosunError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise BosunError(f"{path} is not JSON: {exc}") from None
    if not isinstance(body, dict) or body.get("kind") != SAVED_KIND:
        raise BosunError(f"{path} is not a saved bosun plan (bosun plan --out)")
    if body.get("format_version") != PLAN_FORMAT_VERSION:
        raise BosunError(
            f"{path} has plan format {body.get('format_version')}; this bosun reads "
            f"{PLAN_FORMAT_VERSION}: make the plan again"
        )
    try:
        plan = Plan.model_validate(body.get("plan"))
    except ValidationError as exc:
        raise BosunError(f"{path}: not a valid plan: {str(exc).splitlines()[0]}") from None
    if plan.digest() != body.get("digest"):
        raise BosunError(f"{path} was changed after it was saved (digest mismatch)")
    providers = body.get("providers") or []
    return SavedPlan(plan, [str(p) for p in providers])


def check_fresh(saved: Plan, fresh: Plan) -> None:
    """Raise ``StalePlanError`` unless ``fresh`` was made against what ``saved`` was."""
    moved: list[str] = []
    if saved.revision != fresh.revision:
        moved.append(f"the revision moved from {saved.revision} to {fresh.revision}")
    if saved.desired_digest != fresh.desired_digest:
        moved.append(f"the repository changed (desired {short(saved.desired_digest)} -> "
                     f"{short(fresh.desired_digest)})")
    if saved.observed_digest != fresh.observed_digest:
        moved.append(f"the running state changed (observed {short(saved.observed_digest)} "
                     f"-> {short(fresh.observed_digest)})")
    known = {(e.provider, str(e.ref)) for e in saved.errors}
    unread = [e for e in fresh.errors if (e.provider, str(e.ref)) not in known]
    if unread:
        moved.append("the running state could not be read: "
                     + "; ".join(e.message for e in unread))
    if moved:
        raise StalePlanError(
            "stale plan: " + "; ".join(moved) + ". Nothing was applied; run bosun plan again."
        )
