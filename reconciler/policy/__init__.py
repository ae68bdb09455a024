"""Stage *policy*: Policy manifests evaluated against the desired state.

... -> resolve -> **policy** -> observe -> ...

A rule's ``deny`` is a JSON Schema: a resource that validates against it
violates the rule. A resource is presented to the schema as its manifest
(``apiVersion``, ``kind``, ``metadata``, ``spec``); a Stack also carries
``compose``, its compose model in long syntax (``subject.py``), rendered by the
compose provider when the pipeline passes ``rendered``. A rule with ``each``
is evaluated against every node its path selects, and each violation points
at that node's file and line.

The policies are the repository's own plus the built-in library
(``policies/``, shipped with bosun), which the repository can turn off, tune
(``actions``, ``disable``) and parameterise (``params``) in ``bosun.yaml``.
Enforced violations block apply.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib.resources
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from reconciler.errors import ConfigError, Problem
from reconciler.model.common import Kind
from reconciler.model.desired import DesiredResource, DesiredState
from reconciler.model.kinds import (
    Policy,
    PolicyAction,
    PolicyMatch,
    PolicyRule,
    PolicySelector,
)
from reconciler.model.plan import PolicyResult
from reconciler.model.source import Position
from reconciler.policy import params as param_subst
from reconciler.policy.locate import Locator
from reconciler.policy.subject import focus, format_path, select, source_path, subject
from reconciler.yamlnodes import YAMLSyntaxError, parse_documents

__all__ = ["builtin_library", "evaluate", "subject"]

BUILTIN_PACKAGE = "policies"


def builtin_library() -> list[Policy]:
    """The built-in policies shipped in ``policies/`` (sorted by file name)."""
    out: list[Policy] = []
    folder = importlib.resources.files(BUILTIN_PACKAGE)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith((".yaml", ".yml")):
            continue
        try:
            docs = parse_documents(entry.read_text(encoding="utf-8"), entry.name)
        except YAMLSyntaxError as exc:  # a packaging bug, not the user's
            raise RuntimeError(f"built-in policy {entry.name}: {exc.message}") from None
        out.extend(Policy.model_validate(doc.data) for doc in docs)
    return out


def _selects(selector: PolicyMatch | PolicySelector, res: DesiredResource) -> bool:
    if selector.names and not any(
        fnmatch.fnmatchcase(res.ref.name, pattern) for pattern in selector.names
    ):
        return False
    labels = res.document.metadata.labels
    return all(
        key in labels and (want == "*" or labels[key] == want)
        for key, want in selector.labels.items()
    )


def _matches(policy: Policy, res: DesiredResource) -> bool:
    match = policy.spec.match
    if match.kinds and res.ref.kind not in match.kinds:
        return False
    if not _selects(match, res):
        return False
    exclude = match.exclude
    return exclude is None or not (exclude.names or exclude.labels) or not _selects(exclude, res)


@dataclass
class _Rule:
    policy: Policy
    rule: PolicyRule
    schema: dict[str, Any]
    validator: Draft202012Validator
    enforced: bool
    required: frozenset[str] = frozenset()  # keys an object must have to match deny


def _settings_position(desired: DesiredState, *path: str | int) -> Position | None:
    """Where ``spec.policies...`` is in bosun.yaml, when the file says it."""
    locator = Locator(desired.root)
    for name in ("bosun.yaml", "bosun.yml"):
        found = locator.find(name, ("spec", "policies", *path), kind=Kind.REPOSITORY.value)
        if found is not None:
            return found
    return None


def _compile(
    desired: DesiredState, policies: Sequence[Policy], problems: list[Problem]
) -> list[_Rule]:
    settings = desired.repository.spec.policies
    declared: dict[str, Any] = {}
    rule_ids: set[str] = set()
    for policy in policies:
        declared.update({name: param for name, param in policy.spec.params.items()})
        rule_ids.update(rule.id for rule in policy.spec.rules)
    names = {p.name for p in policies}

    def unknown(section: str, key: str, known: set[str], what: str) -> None:
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(Problem(
            f"{key!r} is not {what}{hint}", _settings_position(desired, section, key)
            or _settings_position(desired, section), ref="Repository",
            field=f"spec.policies.{section}",
        ))

    for key in settings.params:
        if key not in declared:
            unknown("params", key, set(declared), "a parameter of any policy in use")
    for section, keys in (("disable", settings.disable), ("actions", list(settings.actions))):
        for key in keys:
            if key not in names and key not in rule_ids:
                unknown(section, key, names | rule_ids, "a policy name or rule id")

    values: dict[str, Any] = {}
    for name, param in declared.items():
        value = settings.params.get(name, param.default)
        if value is not None and param.schema_ is not None:
            error = next(iter(Draft202012Validator(param.schema_).iter_errors(value)), None)
            if error is not None:
                where = format_path(tuple(error.absolute_path))
                problems.append(Problem(
                    f"{error.message}" + (f" (at {where})" if where else ""),
                    _settings_position(desired, "params", name), ref="Repository",
                    field=f"spec.policies.params.{name}",
                ))
                continue
        values[name] = value

    rules: list[_Rule] = []
    for policy in policies:
        if policy.name in settings.disable:
            continue
        for rule in policy.spec.rules:
            if rule.id in settings.disable:
                continue
            try:
                schema = param_subst.substitute(rule.deny, values)
                Draft202012Validator.check_schema(schema)
            except param_subst.MissingParam:
                continue  # a parameter nobody set: the rule is inactive
            except (SchemaError, ValueError) as exc:
                message = exc.message if isinstance(exc, SchemaError) else str(exc)
                problems.append(Problem(
                    f"rule {rule.id}: deny is not a valid JSON Schema once its parameters "
                    f"are filled in: {message}", ref=f"Policy/{policy.name}", field="spec.rules",
                ))
                continue
            action = settings.actions.get(rule.id) or settings.actions.get(policy.name) \
                or policy.spec.action
            required = schema.get("required") if isinstance(schema, dict) else None
            rules.append(_Rule(
                policy, rule, schema, Draft202012Validator(schema),
                action is PolicyAction.ENFORCE,
                frozenset(required) if isinstance(required, list) else frozenset(),
            ))
    return rules


def evaluate(
    desired: DesiredState,
    policies: Sequence[Policy] = (),
    rendered: dict[str, dict[str, Any]] | None = None,
) -> list[PolicyResult]:
    """Every violation of the repository's policies and of ``policies`` (the built-ins).

    ``policies`` are left out when the repository sets ``policies.builtin: false``.
    ``rendered`` maps stack names to compose models as the compose provider
    renders them; stacks without one are judged by the model read from the
    repository. Raises ``ConfigError`` for unusable settings or parameters.
    """
    settings = desired.repository.spec.policies
    own = [r.document for r in desired.of_kind(Kind.POLICY) if isinstance(r.document, Policy)]
    # A repository Policy named like a built-in one replaces it.
    names = {p.name for p in own}
    builtin = [p for p in policies if p.name not in names] if settings.builtin else []
    in_use = builtin + own
    problems: list[Problem] = []
    rules = _compile(desired, in_use, problems)
    if problems:
        raise ConfigError(problems)
    locator = Locator(desired.root)
    results: list[PolicyResult] = []
    subjects: dict[str, dict[str, Any]] = {}
    for res in desired.resources:
        if res.ref.kind in (Kind.POLICY, Kind.REPOSITORY):
            continue
        if res.position.file.startswith("("):
            continue  # implicit resources (the local Host) are not the repository's
        for compiled in rules:
            if not _matches(compiled.policy, res):
                continue
            key = str(res.ref)
            if key not in subjects:
                compose = (rendered or {}).get(res.ref.name) \
                    if res.ref.kind is Kind.STACK else None
                subjects[key] = subject(res, compose)
            body = subjects[key]
            rule = compiled.rule
            nodes = select(body, rule.each) if rule.each else [((), body)]
            for where, node in nodes:
                if isinstance(node, dict) and not compiled.required <= node.keys():
                    continue  # an object without a required key cannot match
                enforced, message = compiled.enforced, rule.message
                try:
                    if not compiled.validator.is_valid(node):
                        continue
                    exact = (*where, *focus(compiled.schema, node))
                except Exception as exc:  # a user's schema: RecursionError, Unresolvable...
                    # The model rejects the known causes (remote or looping $refs);
                    # a rule that still cannot be evaluated must not pass silently.
                    enforced, exact = True, where
                    message = f"rule could not be evaluated: {type(exc).__name__}"
                results.append(PolicyResult(
                    rule=rule.id, policy=compiled.policy.name, ref=res.ref,
                    message=message, enforced=enforced,
                    position=str(locator.position(res, exact) if exact else res.position),
                    path=format_path(source_path(res.ref.kind, where)) if where else None,
                ))
    results.sort(key=lambda r: (not r.enforced, r.rule, r.ref.sort_key(), r.path or ""))
    return results

