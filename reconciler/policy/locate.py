"""Where a policy violation is: the file, line and column of the offending node.

Part of the policy stage. Only called for violations, so files are parsed on
demand (and once per evaluation). A node of a Stack's compose model is looked
up in the compose files (the last file that holds the deepest part of the
path wins: later files override earlier ones) or, for an inline model, in the
manifest; derived ``x-bosun`` nodes point at what they were derived from.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.model.common import Kind
from reconciler.model.desired import DesiredResource
from reconciler.model.source import PathKey, Position
from reconciler.policy.subject import EXT, source_path
from reconciler.yamlnodes import ParsedDocument, YAMLSyntaxError, parse_documents


class Locator:
    def __init__(self, root: str) -> None:
        self.root = Path(root)
        self._files: dict[str, list[ParsedDocument]] = {}

    def _docs(self, rel: str) -> list[ParsedDocument]:
        if rel not in self._files:
            try:
                text = (self.root / rel).read_text(encoding="utf-8")
                self._files[rel] = parse_documents(text, rel)
            except (OSError, UnicodeDecodeError, YAMLSyntaxError):
                self._files[rel] = []
        return self._files[rel]

    @staticmethod
    def _deepest(doc: ParsedDocument, path: PathKey) -> tuple[int, Position | None]:
        for end in range(len(path), -1, -1):
            found = doc.positions.get(tuple(path[:end]))
            if found is not None:
                return end, found
        return -1, None

    def find(self, rel: str, path: PathKey, kind: str) -> Position | None:
        """Position of ``path`` in the document of ``kind`` in file ``rel``, if any."""
        for doc in self._docs(rel):
            if isinstance(doc.data, dict) and doc.data.get("kind") == kind:
                return self._deepest(doc, path)[1]
        return None

    def _manifest(self, res: DesiredResource, path: PathKey) -> Position:
        start = res.position
        if start.file.startswith("("):
            return start
        for doc in self._docs(start.file):
            top = doc.positions.get(())
            if top is not None and top.line == start.line:
                return self._deepest(doc, path)[1] or start
        return start

    def position(self, res: DesiredResource, path: PathKey) -> Position:
        """Position of ``path`` (a path into the policy subject) for ``res``."""
        path = tuple(p for p in source_path(res.ref.kind, path) if p != EXT)
        if res.ref.kind is not Kind.STACK or not path or path[0] != "compose":
            return self._manifest(res, path)
        source = res.compose
        inner = path[1:]
        if source is None or source.inline:
            return self._manifest(res, ("spec", "compose", *inner))
        best: tuple[int, Position | None] = (-1, None)
        for file in source.files:
            try:
                rel = Path(file).relative_to(self.root).as_posix()
            except ValueError:
                continue
            for doc in self._docs(rel)[:1]:
                depth, found = self._deepest(doc, inner)
                if found is not None and depth >= best[0]:
                    best = (depth, found)
        return best[1] or self._manifest(res, ("spec", "compose"))
