"""Stage *source* for a plain working folder: the edit loop of ``bosun serve --path``.

**source** -> load -> ...

Nothing is fetched: the folder is read as it is on disk, and its revision is
``local@working-tree``. The runtime watches the folder (watchdog) and
enqueues a reconcile shortly after a save.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.errors import SourceError
from reconciler.model.source import Revision


class LocalSource:
    """A working folder, read in place."""

    def __init__(self, path: Path) -> None:
        self.path = path.expanduser().resolve()

    def describe(self) -> str:
        return f"{self.path} (working folder)"

    @property
    def display_url(self) -> str:
        return str(self.path)

    def fetch(self) -> Revision:
        if not self.path.is_dir():
            raise SourceError(f"{self.path} is not a folder")
        return Revision(ref="local")

    def checkout(self, revision: Revision) -> Path:
        if not self.path.is_dir():
            raise SourceError(f"{self.path} is not a folder")
        return self.path
