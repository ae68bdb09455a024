"""Stage *policy*: Policy manifests evaluated against the desired state.

... -> resolve -> **policy** -> observe -> ...

A rule's ``deny`` is a JSON Schema: a resource that validates against it
violates the rule. A resource is presented to the schema as its manifest
(``apiVersion``, ``kind``, ``metadata``, ``spec``); a Stack also carries
``compose``, its compose model. Enforced violations block apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.model.common import Kind
from reconciler.model.desired import DesiredResource, DesiredState
from reconciler.model.kinds import Policy, PolicyAction
from reconciler.model.plan import PolicyResult


def subject(res: DesiredResource, compose: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON document a policy rule sees for a resource."""
    body: dict[str, Any] = res.document.model_dump(mode="json", by_alias=True)
    if res.ref.kind is Kind.STACK:
        model = compose if compose is not None else (res.compose.model if res.compose else {})
        body["compose"] = model
    return body


def _matches(policy: Policy, res: DesiredResource) -> bool:
    match = policy.spec.match
    if match.kinds and res.ref.kind not in match.kinds:
        return False
    labels = res.document.metadata.labels
    return all(labels.get(k) == v for k, v in match.labels.items())


def evaluate(
    desired: DesiredState,
    policies: Sequence[Policy] = (),
    rendered: dict[str, dict[str, Any]] | None = None,
) -> list[PolicyResult]:
    """Every violation of the given policies (plus the repository's own)."""
    all_policies = list(policies) + [
        r.document for r in desired.of_kind(Kind.POLICY) if isinstance(r.document, Policy)
    ]
    results: list[PolicyResult] = []
    for policy in all_policies:
        from jsonschema import Draft202012Validator  # 30 ms of start-up: only with policies

        validators = [(rule, Draft202012Validator(rule.deny)) for rule in policy.spec.rules]
        for res in desired.resources:
            if res.ref.kind in (Kind.POLICY, Kind.REPOSITORY) or not _matches(policy, res):
                continue
            if res.position.file.startswith("("):
                continue  # implicit resources (the local Host) are not the repository's
            compose = (rendered or {}).get(res.ref.name) if res.ref.kind is Kind.STACK else None
            body = subject(res, compose)
            for rule, validator in validators:
                enforced = policy.spec.action is PolicyAction.ENFORCE
                try:
                    violated = validator.is_valid(body)
                    message = rule.message
                except Exception as exc:  # a user's schema: RecursionError, Unresolvable...
                    # The model rejects the known causes (remote or looping $refs);
                    # a rule that still cannot be evaluated must not pass silently.
                    violated, enforced = True, True
                    message = f"rule could not be evaluated: {type(exc).__name__}"
                if violated:
                    results.append(PolicyResult(
                        rule=rule.id, policy=policy.name, ref=res.ref, message=message,
                        enforced=enforced, position=str(res.position),
                    ))
    results.sort(key=lambda r: (not r.enforced, r.rule, r.ref.sort_key()))
    return results
