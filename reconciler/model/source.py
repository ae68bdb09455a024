"""What the source and load stages hand on: revisions and raw documents.

Part of the model layer. A ``RawDocument`` is one YAML document as plain data
plus the position of every node in it, so that later stages can point at the
file, line and column of any field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field, PrivateAttr

from reconciler.model.common import Frozen

PathKey = tuple[str | int, ...]


class Position(Frozen):
    file: str = Field(description="Path relative to the repository root.")
    line: int = Field(description="1-based line.")
    column: int = Field(description="1-based column.")

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Revision(Frozen):
    """What was read: a Git commit on a ref, or a plain working folder."""

    ref: str = Field(default="local", description="Branch, tag or 'local'.")
    sha: str | None = Field(default=None, description="Commit id, None for a working folder.")
    tree: str | None = None
    message: str | None = None

    def __str__(self) -> str:
        if self.sha is None:
            return f"{self.ref}@working-tree"
        return f"{self.ref}@sha1:{self.sha}"

    @property
    def short(self) -> str:
        return self.sha[:7] if self.sha else "working-tree"


class RawDocument(Frozen):
    file: str = Field(description="Path relative to the repository root.")
    index: int = Field(description="0-based index of the document in its file.")
    data: Any
    positions: dict[PathKey, Position] = Field(default_factory=dict)
    _more_positions: Callable[[], dict[PathKey, Position]] | None = PrivateAttr(default=None)

    @classmethod
    def deferred(
        cls, file: str, index: int, data: Any, start: Position,
        positions: Callable[[], dict[PathKey, Position]],
    ) -> RawDocument:
        """A document whose node positions are read (by ``positions()``) when first asked for.

        Most documents are never wrong, so most never need more than their start.
        """
        doc = cls.model_construct(file=file, index=index, data=data, positions={(): start})
        doc._more_positions = positions
        return doc

    @property
    def start(self) -> Position:
        found = self.positions.get(())
        return found if found is not None else Position(file=self.file, line=1, column=1)

    def position_of(self, path: PathKey) -> Position:
        """Position of the deepest node on ``path`` that the file holds."""
        if self._more_positions is not None and tuple(path) not in self.positions:
            more, self._more_positions = self._more_positions, None
            for key, value in more().items():
                self.positions.setdefault(key, value)
        for end in range(len(path), -1, -1):
            found = self.positions.get(tuple(path[:end]))
            if found is not None:
                return found
        return self.start
