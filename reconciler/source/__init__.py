"""Stage *source*: where the repository comes from.

**source** -> load -> validate -> resolve -> policy -> observe -> plan -> apply -> record

A source turns "what to follow" into a ``Revision`` (``fetch``) and a folder
the load stage reads (``checkout``). ``GitSource`` follows a Git remote through
a cache under the state folder; ``LocalSource`` reads a working folder in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from reconciler.model.source import Revision
from reconciler.source.git import GitSource
from reconciler.source.local import LocalSource
from reconciler.source.spec import (
    TOKEN_ENV,
    GitAuth,
    GitSourceSpec,
    RefKind,
    Transport,
    display_url,
    scrub,
    token_from,
)


@runtime_checkable
class Source(Protocol):
    """What the runtime needs of a source."""

    @property
    def display_url(self) -> str:
        """Where it reads from, with every credential removed."""
        ...

    def describe(self) -> str:
        """One line for people: URL, ref and sub-folder."""
        ...

    def fetch(self) -> Revision:
        """Read the latest revision; raises ``SourceError`` (scrubbed) on failure."""
        ...

    def checkout(self, revision: Revision) -> Path:
        """The folder holding ``revision``, ready for the load stage."""
        ...


__all__ = [
    "TOKEN_ENV",
    "GitAuth",
    "GitSource",
    "GitSourceSpec",
    "LocalSource",
    "RefKind",
    "Source",
    "Transport",
    "display_url",
    "scrub",
    "token_from",
]
