"""Stage *validate*: raw documents to typed models, every problem at once.

source -> load -> **validate** -> resolve -> ...

Each document is validated against its kind's pydantic model (the same models
the JSON Schemas in ``schemas/`` are generated from). Problems are reported as
``path:line:col: Kind/name: spec.field: message``. Duplicate names of a kind
are reported with both places.
"""

from __future__ import annotations

import difflib
import re
import types
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from reconciler.documents import Validated, doc_label, format_path
from reconciler.errors import ConfigError, Problem
from reconciler.model.common import DNS_LABEL_PATTERN, DURATION_PATTERN, Kind, ResourceRef
from reconciler.model.kinds import ENV_NAME_PATTERN, KIND_MODELS, AnyDocument, Repository
from reconciler.model.source import PathKey, RawDocument

_TYPE_WORDS = {
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "float_type": "a number",
    "tuple_type": "a list",
}
_KINDS = {k.value for k in Kind}
_WORD_ORDER = {"a string": 0, "an integer": 1, "a number": 2, "true or false": 3,
               "a list": 4, "a mapping": 5}


def _data_path(data: Any, loc: tuple[int | str, ...], error_type: str) -> PathKey:
    """The part of pydantic's ``loc`` that names nodes of ``data`` (union tags dropped)."""
    path: list[str | int] = []
    current = data
    for i, part in enumerate(loc):
        if isinstance(current, dict) and isinstance(part, str) and part in current:
            path.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            path.append(part)
            current = current[part]
        elif i == len(loc) - 1 and error_type == "missing" and isinstance(part, str):
            path.append(part)
        elif i == len(loc) - 1 and error_type == "extra_forbidden":
            path.append(part)
    return tuple(path)


def _candidates(annotation: Any) -> list[Any]:
    """The alternatives an annotation allows (``Annotated`` and unions unwrapped)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _candidates(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [c for arg in get_args(annotation) for c in _candidates(arg)]
    return [annotation]


def _step(annotation: Any, part: str | int) -> list[Any]:
    out: list[Any] = []
    for cand in _candidates(annotation):
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            if isinstance(part, str):
                out.extend(info.annotation for name, info in cand.model_fields.items()
                           if (info.alias or name) == part)
            continue
        origin, args = get_origin(cand), get_args(cand)
        if origin is dict and isinstance(part, str) and len(args) == 2:
            out.append(args[1])
        elif origin in (list, tuple) and isinstance(part, int) and args:
            out.append(args[0])
    return out


def _model_fields_at(model: type[BaseModel], path: PathKey) -> list[str]:
    """Field names (aliases) accepted at ``path`` inside ``model``, for suggestions."""
    current: list[Any] = [model]
    for part in path:
        current = [nxt for ann in current for nxt in _step(ann, part)]
    names: list[str] = []
    for ann in current:
        for cand in _candidates(ann):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                names.extend(info.alias or name for name, info in cand.model_fields.items())
    return list(dict.fromkeys(names))


def _given(value: Any) -> str:
    """``not ...``: what was given instead, in words."""
    if value is None:
        return "but it is empty"
    if isinstance(value, bool):
        return f"not {str(value).lower()}"
    if isinstance(value, str):
        return f"not the string {_short(value)}"
    if isinstance(value, int | float):
        return f"not the number {value!r}"
    if isinstance(value, dict):
        return "not a mapping"
    if isinstance(value, list):
        return "not a list"
    return f"not {type(value).__name__}"


def _words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# Patterns of the model, in words.
_PATTERNS = {
    DNS_LABEL_PATTERN: "is not a DNS label (lower-case letters, digits and '-', "
    "starting and ending with a letter or digit)",
    DURATION_PATTERN: "is not a duration (use forms like 90s, 15m, 1h30m)",
    ENV_NAME_PATTERN: "is not a valid environment variable name (letters, digits and '_', "
    "not starting with a digit)",
}


def _message(err: dict[str, Any]) -> str:
    msg: str = err["msg"]
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind in ("literal_error", "enum") and "expected" in ctx:
        expected = str(ctx["expected"])
        text = f"must be {expected}"
        options = re.findall(r"'([^']*)'", expected)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            text = f"{_short(value)} is not allowed; must be {expected}"
        if isinstance(value, str) and options:
            close = difflib.get_close_matches(value, options, n=1)
            if close:
                text += f" (did you mean {close[0]!r}?)"
        return text
    if kind in _TYPE_WORDS:
        return f"must be {_TYPE_WORDS[kind]}, {_given(value)}"
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        return f"{_short(value)} {_PATTERNS.get(pattern, f'does not match {pattern}')}"
    if kind == "string_too_long":
        length = len(value) if isinstance(value, str) else "too many"
        return f"is {length} characters long; at most {ctx.get('max_length')} are allowed"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"needs at least {n} items"
    if kind == "too_long":
        return f"has more than {ctx.get('max_length')} items"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return f"{_short(value)} is too small; must be {'at least' if 'ge' in ctx else 'above'} " \
               f"{bound}"
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        return f"{_short(value)} is too large; must be {'at most' if 'le' in ctx else 'below'} " \
               f"{bound}"
    if kind == "int_from_float":
        return f"must be a whole number, not {value!r}"
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return msg[0].lower() + msg[1:] if msg else kind


def problems_from_validation(
    raw: RawDocument, exc: ValidationError, model: type[BaseModel] | None = None,
    prefix: PathKey = (),
) -> list[Problem]:
    label = doc_label(raw)
    data: Any = raw.data
    for part in prefix:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int):
            data = data[part]
        else:
            data = None
    grouped: dict[PathKey, list[dict[str, Any]]] = defaultdict(list)
    details: list[dict[str, Any]] = [dict(e) for e in exc.errors(include_url=False)]
    for err in details:
        path = _data_path(data, tuple(err["loc"]), err["type"])
        grouped[(*prefix, *path)].append(err)
    # A union member that failed deep inside tells more than "must be a string".
    deep = {p for p in grouped for q in grouped if len(q) > len(p) and q[: len(p)] == p}
    # An unknown field that is a misspelt required one: say so once, not twice.
    hints: dict[PathKey, str] = {}
    misspelt: set[PathKey] = set()
    for path, errors in grouped.items():
        if model is not None and path and any(e["type"] == "extra_forbidden" for e in errors):
            allowed = _model_fields_at(model, path[len(prefix):-1])
            close = difflib.get_close_matches(str(path[-1]), allowed, n=1)
            hints[path] = f" (did you mean {close[0]!r}?)" if close else \
                f" (expected one of: {', '.join(allowed)})" if allowed else ""
            sibling = (*path[:-1], close[0]) if close else None
            if sibling in grouped and all(e["type"] == "missing" for e in grouped[sibling]):
                misspelt.add(sibling)
    problems: list[Problem] = []
    for path, errors in grouped.items():
        if path in misspelt:
            continue
        type_errors = [e for e in errors if e["type"] in _TYPE_WORDS]
        other = [e for e in errors if e["type"] not in _TYPE_WORDS]
        if path in deep and not other:
            continue
        messages: list[str] = []
        if type_errors and not other:
            words = sorted({_TYPE_WORDS[e["type"]] for e in type_errors},
                           key=lambda w: _WORD_ORDER.get(w, 9))
            messages.append(f"must be {_words(words)}, {_given(type_errors[0].get('input'))}")
        for err in other:
            text = _message(err)
            if err["type"] == "extra_forbidden":
                text += hints.get(path, "")
            messages.append(text)
        for text in dict.fromkeys(messages):
            problems.append(
                Problem(text, raw.position_of(path), ref=label, field=format_path(path) or None)
            )
    return problems


def validate_document(raw: RawDocument) -> tuple[AnyDocument | None, list[Problem]]:
    kind = Kind(raw.data["kind"])
    model = KIND_MODELS[kind]
    try:
        doc = model.model_validate(raw.data)
    except ValidationError as exc:
        return None, problems_from_validation(raw, exc, model)
    return doc, []  # type: ignore[return-value]


DEFAULT_REPOSITORY = Repository.model_validate(
    {"apiVersion": "bosun/v1", "metadata": {"name": "repository"}}
)


@dataclass
class ValidationResult:
    """Every document that passed, the repository settings, and every problem found."""

    validated: list[Validated] = field(default_factory=list)
    repository: Repository = field(default_factory=lambda: DEFAULT_REPOSITORY)
    problems: list[Problem] = field(default_factory=list)
    invalid: set[ResourceRef] = field(default_factory=set)
    """Resources that exist in the repository but failed validation: references to
    them are not reported again as missing."""


def raw_ref(raw: RawDocument) -> ResourceRef | None:
    """The reference a raw document would have, when its kind and name can be told."""
    data = raw.data if isinstance(raw.data, dict) else {}
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    kind = data.get("kind")
    if not isinstance(name, str) or not isinstance(kind, str) or kind not in _KINDS:
        return None
    return ResourceRef(kind=Kind(kind), name=name)


def validate_all(
    documents: list[RawDocument], repository: RawDocument | None = None
) -> ValidationResult:
    """Validate every document; problems are collected, never raised."""
    out = ValidationResult()
    if repository is not None:
        doc, found = validate_document(repository)
        out.problems.extend(found)
        if isinstance(doc, Repository):
            out.repository = doc
    first: dict[ResourceRef, RawDocument] = {}
    for raw in documents:
        doc, found = validate_document(raw)
        out.problems.extend(found)
        ref = raw_ref(raw) if doc is None else ResourceRef(kind=doc.kind, name=doc.name)
        if ref is not None and ref in first:
            other = first[ref]
            out.problems.append(
                Problem(
                    f"duplicate {ref.kind.value} name {ref.name!r}, "
                    f"first defined at {other.position_of(('metadata', 'name'))}",
                    raw.position_of(("metadata", "name")),
                    ref=str(ref),
                    field="metadata.name",
                )
            )
            continue
        if ref is not None:
            first[ref] = raw
        if doc is None:
            if ref is not None:
                out.invalid.add(ref)
            continue
        out.validated.append(Validated(raw, doc))
    return out


def validate(
    documents: list[RawDocument], repository: RawDocument | None = None
) -> tuple[list[Validated], Repository]:
    """Validate every document; raise ``ConfigError`` with all problems if any."""
    result = validate_all(documents, repository)
    if result.problems:
        raise ConfigError(result.problems)
    return result.validated, result.repository
