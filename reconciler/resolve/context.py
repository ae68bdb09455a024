"""The working state of one resolve run, and the repository boundary.

Part of stage *resolve* (see ``reconciler.resolve``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from reconciler.documents import Validated, format_path
from reconciler.errors import Problem
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import ComposeSource
from reconciler.model.source import PathKey


class Context:
    """Documents by reference, the problems found so far, compose models read."""

    def __init__(self, root: Path, items: list[Validated],
                 invalid: frozenset[ResourceRef] = frozenset()) -> None:
        self.root = root
        self.invalid = invalid
        self.real_root = Path(os.path.realpath(root))
        self.items = items
        self.by_ref: dict[ResourceRef, Validated] = {i.ref: i for i in items}
        # (kind, name) pairs: cheaper to build and hash than ResourceRefs
        self.names: set[tuple[Kind, str]] = {(r.kind, r.name) for r in self.by_ref}
        self.names.update((r.kind, r.name) for r in invalid)
        self.problems: list[Problem] = []
        self.compose: dict[str, ComposeSource] = {}
        self._real_dirs: dict[str, str] = {}

    def real_path(self, path: str) -> str:
        """``os.path.realpath`` with the folders' answers remembered (a stack per folder)."""
        parent, name = os.path.split(path)
        real_parent = self._real_dirs.get(parent)
        if real_parent is None:
            real_parent = self._real_dirs[parent] = os.path.realpath(parent)
        candidate = os.path.join(real_parent, name)  # noqa: PTH118 (strings: hot path)
        return os.path.realpath(candidate) if os.path.islink(candidate) else candidate  # noqa: PTH114

    def add(self, item: Validated, path: PathKey, message: str) -> None:
        self.problems.append(
            Problem(message, item.raw.position_of(path), ref=str(item.ref),
                    field=format_path(path) or None)
        )

    def exists(self, kind: Kind, name: str) -> bool:
        return (kind, name) in self.names

    def need(self, item: Validated, path: PathKey, kind: Kind, name: str) -> bool:
        if self.exists(kind, name):
            return True
        known = sorted(r.name for r in self.by_ref if r.kind is kind)
        hint = f" (known: {', '.join(known[:8])}{', ...' if len(known) > 8 else ''})" \
            if known else ""
        self.add(item, path, f"{kind.value} {name!r} does not exist{hint}")
        return False


_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def inside(ctx: Context, base: str, rel: str) -> tuple[Path | None, str | None]:
    """``rel`` resolved against the repository folder ``base``, if it stays inside."""
    if not rel:
        return None, "path is empty"
    if "\0" in rel:
        return None, f"{rel!r} contains a NUL character"
    if rel.startswith(("/", "\\", "~")) or _DRIVE.match(rel):
        return None, f"{rel!r} is an absolute path; use a path inside the repository"
    joined = os.path.normpath(f"{base}/{rel}" if base else rel)
    if joined == ".." or joined.startswith(("../", "..\\")):
        return None, f"{rel!r} leads outside the repository"
    path = ctx.root / joined
    try:
        real = ctx.real_path(str(path))
    except (OSError, ValueError) as exc:
        return None, f"{rel!r} cannot be resolved: {exc}"
    root = str(ctx.real_root)
    if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        return None, f"{rel!r} is a symlink that leads outside the repository"
    return path, None


