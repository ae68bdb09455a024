"""Checks of the JSON Schemas that Policy rules carry in ``deny``.

Part of the model layer. bosun never fetches a schema: every ``$ref`` must point
inside the rule's own schema, and no chain of references may lead back to itself
without reading deeper into the resource (jsonschema would recurse forever).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote


def schema_refs(schema: Any) -> list[str]:
    out: list[str] = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                out.append(value)
            elif key not in ("const", "enum", "default", "examples"):
                out.extend(schema_refs(value))
    elif isinstance(schema, list):
        for item in schema:
            out.extend(schema_refs(item))
    return out


def _anchors(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in ("$anchor", "$dynamicAnchor") and isinstance(value, str):
                found.add(value)
            else:
                found |= _anchors(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= _anchors(item)
    return found


NOWHERE = object()


def _find_anchor(schema: Any, name: str) -> Any:
    if isinstance(schema, dict):
        if name in (schema.get("$anchor"), schema.get("$dynamicAnchor")):
            return schema
        children: list[Any] = list(schema.values())
    elif isinstance(schema, list):
        children = schema
    else:
        return NOWHERE
    for child in children:
        found = _find_anchor(child, name)
        if found is not NOWHERE:
            return found
    return NOWHERE


def resolve_ref(schema: dict[str, Any], ref: str) -> Any:
    """The part of ``schema`` a local ``$ref`` points at, or ``NOWHERE``."""
    if not ref.startswith("#"):
        return NOWHERE
    fragment = unquote(ref[1:])
    if not fragment.startswith("/"):
        return schema if fragment == "" else _find_anchor(schema, fragment)
    node: Any = schema
    for raw_token in fragment[1:].split("/"):
        token = raw_token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return NOWHERE
    return node


_IN_PLACE = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas")


def _in_place_refs(node: Any) -> list[str]:
    """References applied to the same instance as ``node`` (no descent into its values)."""
    if not isinstance(node, dict):
        return []
    out = [node[k] for k in ("$ref", "$dynamicRef") if isinstance(node.get(k), str)]
    for key in _IN_PLACE:
        sub = node.get(key)
        subs = sub if isinstance(sub, list) else list(sub.values()) \
            if key == "dependentSchemas" and isinstance(sub, dict) else [sub]
        for item in subs:
            out.extend(_in_place_refs(item))
    return out


def ref_loop(schema: dict[str, Any]) -> str | None:
    """A reference that leads back to itself without reading deeper into the data."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(ref: str, node: Any) -> str | None:
        state[ref] = 1
        for nxt in _in_place_refs(node):
            if state.get(nxt) == 1:
                return nxt
            if nxt not in state:
                found = visit(nxt, resolve_ref(schema, nxt))
                if found:
                    return found
        state[ref] = 2
        return None

    return visit("#", schema)
