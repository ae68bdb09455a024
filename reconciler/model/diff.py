"""Field-level diffs between two JSON-like values, shared by every provider.

Part of the model layer. Mappings are compared key by key; lists and scalars
as wholes. Paths are dotted (``spec.env.TOKEN``, ``services.web.image``).
"""

from __future__ import annotations

from typing import Any

from reconciler.model.plan import FieldDiff

_MISSING = object()


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def diff_values(
    before: Any, after: Any, prefix: str = "", sensitive: frozenset[str] = frozenset()
) -> list[FieldDiff]:
    """Differences from ``before`` to ``after``; ``sensitive`` lists paths to redact."""
    out: list[FieldDiff] = []
    _diff(before, after, prefix, sensitive, out)
    return out


def _diff(before: Any, after: Any, path: str, sensitive: frozenset[str],
          out: list[FieldDiff]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            _diff(before.get(key, _MISSING), after.get(key, _MISSING), _join(path, str(key)),
                  sensitive, out)
        return
    if before == after:
        return
    out.append(
        FieldDiff(
            path=path,
            before=None if before is _MISSING else before,
            after=None if after is _MISSING else after,
            sensitive=bool(sensitive) and (
                path in sensitive or any(path.startswith(s + ".") for s in sensitive)
            ),
        )
    )
