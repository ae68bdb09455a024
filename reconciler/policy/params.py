"""Policy parameters: ``{$param: name}`` in a rule's ``deny`` schema.

Part of the policy stage. A Policy declares its parameters (``spec.params``:
description, default, a JSON Schema for the value); the repository sets them
in ``bosun.yaml`` (``spec.policies.params``). Substitution is structural:

- ``{$param: name}`` becomes the parameter's value;
- ``{$param: name, each: TEMPLATE}`` becomes a list, TEMPLATE once per element
  of the (list) value, with ``{$item: key}`` standing for ``element[key]`` and
  ``{$item: null}`` for the element itself.

A rule that uses a parameter with neither a value nor a default is inactive.
"""

from __future__ import annotations

from typing import Any


class MissingParam(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def used(schema: Any) -> set[str]:
    """Names of the parameters a schema refers to."""
    out: set[str] = set()
    if isinstance(schema, dict):
        name = schema.get("$param")
        if isinstance(name, str):
            out.add(name)
        for value in schema.values():
            out |= used(value)
    elif isinstance(schema, list):
        for value in schema:
            out |= used(value)
    return out


def _item(template: Any, item: Any) -> Any:
    if isinstance(template, dict):
        if "$item" in template and len(template) == 1:
            key = template["$item"]
            if key is None:
                return item
            if isinstance(item, dict) and key in item:
                return item[key]
            raise ValueError(f"{{$item: {key}}}: element {item!r} has no {key!r}")
        return {k: _item(v, item) for k, v in template.items()}
    if isinstance(template, list):
        return [_item(v, item) for v in template]
    return template


def substitute(schema: Any, values: dict[str, Any]) -> Any:
    """``schema`` with every parameter replaced; ``MissingParam`` when one has no value."""
    if isinstance(schema, dict):
        name = schema.get("$param")
        if isinstance(name, str):
            value = values.get(name)
            if value is None:
                raise MissingParam(name)
            if "each" not in schema:
                return value
            if not isinstance(value, list):
                raise ValueError(f"parameter {name!r} must be a list to be used with 'each'")
            return [_item(schema["each"], element) for element in value]
        return {k: substitute(v, values) for k, v in schema.items()}
    if isinstance(schema, list):
        return [substitute(v, values) for v in schema]
    return schema
