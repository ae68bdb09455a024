"""Stage *validate*: raw documents to typed models, every problem at once.

source -> load -> **validate** -> resolve -> ...

Each document is validated against its kind's pydantic model (the same models
the JSON Schemas in ``schemas/`` are generated from). Problems are reported as
``path:line:col: Kind/name: spec.field: message``. Duplicate names of a kind
are reported with both places.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from typing import Any

from pydantic import BaseModel, ValidationError

from reconciler.documents import Validated, doc_label, format_path
from reconciler.errors import ConfigError, Problem
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.kinds import KIND_MODELS, AnyDocument, Repository
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


def _model_fields_at(model: type[BaseModel], path: PathKey) -> list[str]:
    """Field names (aliases) accepted at ``path`` inside ``model``, for suggestions."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        found = None
        for name, info in current.model_fields.items():
            if (info.alias or name) == part:
                found = info.annotation
                break
        if found is None:
            return []
        current = _unwrap_model(found)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [info.alias or name for name, info in current.model_fields.items()]
    return []


def _unwrap_model(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if args:
        for arg in args:
            inner = _unwrap_model(arg)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return annotation


def _message(err: dict[str, Any]) -> str:
    msg: str = err["msg"]
    kind = err["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "literal_error" and "expected" in err.get("ctx", {}):
        return f"must be {err['ctx']['expected']}"
    if kind == "enum":
        return f"must be {err.get('ctx', {}).get('expected', msg)}"
    if kind in _TYPE_WORDS:
        return f"must be {_TYPE_WORDS[kind]}"
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
    problems: list[Problem] = []
    for path, errors in grouped.items():
        type_errors = [e for e in errors if e["type"] in _TYPE_WORDS]
        other = [e for e in errors if e["type"] not in _TYPE_WORDS]
        if path in deep and not other:
            continue
        messages: list[str] = []
        if type_errors and not other:
            words = sorted({_TYPE_WORDS[e["type"]] for e in type_errors})
            messages.append("must be " + " or ".join(words))
        for err in other:
            text = _message(err)
            if err["type"] == "extra_forbidden" and model is not None:
                allowed = _model_fields_at(model, path[len(prefix):-1])
                close = difflib.get_close_matches(str(path[-1]), allowed, n=1)
                if close:
                    text += f" (did you mean {close[0]!r}?)"
                elif allowed:
                    text += f" (expected one of: {', '.join(allowed)})"
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


def validate(
    documents: list[RawDocument], repository: RawDocument | None = None
) -> tuple[list[Validated], Repository]:
    """Validate every document; raise ``ConfigError`` with all problems if any."""
    problems: list[Problem] = []
    validated: list[Validated] = []
    repo = Repository.model_validate({"apiVersion": "bosun/v1", "metadata": {"name": "repository"}})
    if repository is not None:
        doc, found = validate_document(repository)
        problems.extend(found)
        if isinstance(doc, Repository):
            repo = doc
    first: dict[ResourceRef, RawDocument] = {}
    for raw in documents:
        doc, found = validate_document(raw)
        problems.extend(found)
        if doc is None:
            continue
        item = Validated(raw, doc)
        if item.ref in first:
            other = first[item.ref]
            problems.append(
                Problem(
                    f"duplicate {item.ref.kind.value} name {item.ref.name!r}, "
                    f"first defined at {other.position_of(('metadata', 'name'))}",
                    raw.position_of(("metadata", "name")),
                    ref=str(item.ref),
                    field="metadata.name",
                )
            )
            continue
        first[item.ref] = raw
        validated.append(item)
    if problems:
        raise ConfigError(problems)
    return validated, repo
