"""bosun's exceptions. Every error raised above ``providers/`` is one of these.

::

    BosunError
    ├── ConfigError          the repository is wrong; every problem at once, with positions
    ├── SourceError          Git or the working folder could not be read
    ├── ProviderError        an engine, gateway or DNS server said no
    │   ├── TemporaryError   retried with backoff (``delay`` says how soon)
    │   ├── PermanentError   reported, not retried
    │   └── ObserveError     actual state could not be read: never treated as "nothing exists"
    ├── UnsafePlanError      a safety threshold was crossed: ``--force``/``--allow-empty``
    ├── StalePlanError       a saved plan no longer matches the revision or observed state
    └── PolicyViolation      an enforced policy rule failed; nothing is applied

Providers translate engine exceptions at their boundary; nothing above
``providers/`` sees a docker, httpx or dnspython exception.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.model.common import ResourceRef
from reconciler.model.source import Position


class BosunError(Exception):
    """Root of bosun's errors."""


class Problem:
    """One problem in the repository: where, which resource, which field, what."""

    __slots__ = ("field", "message", "position", "ref")

    def __init__(
        self,
        message: str,
        position: Position | None = None,
        ref: ResourceRef | str | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.position = position
        self.ref = ref
        self.field = field

    def __str__(self) -> str:
        parts = []
        if self.position is not None:
            parts.append(str(self.position))
        if self.ref is not None:
            parts.append(str(self.ref))
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)

    def sort_key(self) -> tuple[str, int, int, str]:
        p = self.position
        return (p.file, p.line, p.column, str(self)) if p else ("", 0, 0, str(self))

    def __repr__(self) -> str:
        return f"Problem({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


class ConfigError(BosunError):
    """The repository is not valid. ``problems`` holds every one found, sorted."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        unique = sorted(set(problems), key=Problem.sort_key)
        self.problems: list[Problem] = unique
        super().__init__("\n".join(str(p) for p in unique) or "invalid configuration")

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class SourceError(BosunError):
    """The source could not be read (clone, fetch, checkout, missing folder)."""


class ProviderError(BosunError):
    def __init__(self, message: str, ref: ResourceRef | None = None) -> None:
        self.ref = ref
        super().__init__(f"{ref}: {message}" if ref else message)
        self.message = message


class TemporaryError(ProviderError):
    """Worth retrying: a timeout, a busy engine, a conflict."""

    def __init__(self, message: str, ref: ResourceRef | None = None, delay: float = 5.0) -> None:
        super().__init__(message, ref)
        self.delay = delay


class PermanentError(ProviderError):
    """Retrying will not help until the repository or the host changes."""


class ObserveError(ProviderError):
    """Actual state could not be read. Plans that depend on it must not delete anything."""


class UnsafePlanError(BosunError):
    """The plan crosses a safety threshold; ``hint`` names the flag that allows it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(f"{message} (pass {hint} to go ahead)")
        self.hint = hint


class StalePlanError(BosunError):
    """A saved plan was made against a revision or observed state that moved on."""


class PolicyViolation(BosunError):
    """Enforced policy rules failed; nothing was applied."""
