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
from reconciler.model.sensitive import REDACTED, Sensitive, redact

SAVED_KIND = "bosun/saved-plan"


def _scrub(value: Any, values: tuple[str, ...]) -> Any:
    """``value`` with every secret in ``values`` (longest first) replaced, as ``redact`` does."""
    cls = value.__class__
    if cls is str:
        for secret in values:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if cls is dict:
        return {_scrub(k, values): _scrub(v, values) for k, v in value.items()}
    if cls is list:
        return [_scrub(v, values) for v in value]
    if isinstance(value, str):
        return redact(value, [Sensitive(v) for v in values])
    if isinstance(value, dict):
        return {_scrub(k, values): _scrub(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, values) for v in value]
    return value


def _secret_texts(secrets: Sequence[Sensitive]) -> tuple[str, ...]:
    """The values ``redact`` replaces, in its order: longest first, three characters or more."""
    ordered = sorted(secrets, key=lambda s: -len(s.reveal()))
    return tuple(s.reveal() for s in ordered if len(s.reveal()) >= 3)


def _shows_verbatim(value: str) -> bool:
    """True when JSON writes ``value`` as it is (printable ASCII, no quote or backslash)."""
    return value.isascii() and value.isprintable() and '"' not in value and "\\" not in value


def _redact_diff(diff: FieldDiff) -> FieldDiff:
    if not diff.sensitive:
        return diff
    before, after = diff.shown()
    return diff.model_copy(update={"before": before, "after": after})


def sanitize(plan: Plan, secrets: Sequence[Sensitive] = ()) -> Plan:
    """The plan with sensitive diff values redacted and known secret values scrubbed."""
    changes = tuple(
        c.model_copy(update={"diffs": tuple(_redact_diff(d) for d in c.diffs)})
        if any(d.sensitive for d in c.diffs) else c
        for c in plan.changes
    )
    clean = plan.model_copy(update={"changes": changes})
    if not secrets:
        return clean
    values = _secret_texts(secrets)
    if all(_shows_verbatim(v) for v in values):
        # Every string of the plan is in its JSON as it is: when no secret is in
        # there, there is nothing to scrub (the plan as made, as without secrets).
        text = clean.model_dump_json()
        if not any(v in text for v in values):
            return clean
    body = _scrub(clean.model_dump(mode="json"), values)
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


def _same_changes(saved: Plan, fresh: Plan) -> bool:
    """Whether both plans make exactly the same changes (payloads included)."""
    return (len(saved.changes) == len(fresh.changes)
            and all(a.model_dump(mode="json") == b.model_dump(mode="json")
                    for a, b in zip(saved.changes, fresh.changes, strict=True)))


def check_fresh(saved: Plan, fresh: Plan) -> None:
    """Raise ``StalePlanError`` unless ``fresh`` was made against what ``saved`` was."""
    moved: list[str] = []
    if saved.revision != fresh.revision:
        moved.append(f"the revision moved from {saved.revision} to {fresh.revision}")
    if saved.desired_digest != fresh.desired_digest:
        moved.append(f"the repository changed (desired {short(saved.desired_digest)} -> "
                     f"{short(fresh.desired_digest)})")
    if saved.observed_digest != fresh.observed_digest and not _same_changes(saved, fresh):
        # The engines report more than a plan rests on (uptimes, other owners'
        # projects): only a running state that changes the plan makes it stale.
        moved.append(f"the running state changed (observed {short(saved.observed_digest)} "
                     f"-> {short(fresh.observed_digest)}) and the plan with it")
    known = {(e.provider, str(e.ref)) for e in saved.errors}
    unread = [e for e in fresh.errors if (e.provider, str(e.ref)) not in known]
    if unread:
        moved.append("the running state could not be read: "
                     + "; ".join(e.message for e in unread))
    if moved:
        raise StalePlanError(
            "stale plan: " + "; ".join(moved) + ". Nothing was applied; run bosun plan again."
        )
