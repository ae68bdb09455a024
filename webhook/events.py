"""What a verified webhook asks for, independent of the forge that sent it.

Part of the webhook receivers (a trigger). Each forge module turns its
payload into one of these; ``receiver`` decides whether it matters and
enqueues a request.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.runtime.requests import PlanPullRequest

ZERO_SHA = "0" * 40


class PayloadError(ValueError):
    """The body is signed but not the payload this event should carry."""


@dataclass(frozen=True)
class Push:
    """A push: ``ref`` moved from ``before`` to ``after``.

    ``paths`` are the files the pushed commits touched, or None when the
    payload does not list them all (then every push counts as relevant).
    """

    ref: str
    before: str
    after: str
    paths: tuple[str, ...] | None
    repository: str = ""

    @property
    def deleted(self) -> bool:
        return self.after == ZERO_SHA


@dataclass(frozen=True)
class Ping:
    """The forge checks that the hook works; nothing to do."""

    message: str = ""


@dataclass(frozen=True)
class PullRequest:
    """A pull (merge) request changed; ``request`` is what to enqueue if it matters."""

    request: PlanPullRequest
    relevant: bool
    reason: str = ""


@dataclass(frozen=True)
class Ignored:
    """A verified event bosun has no use for."""

    reason: str


Event = Push | Ping | PullRequest | Ignored


def text(payload: dict[str, object], *path: str, default: str = "") -> str:
    """A string deep in a payload, or ``default``."""
    node: object = payload
    for key in path:
        if not isinstance(node, dict):
            return default
        node = node.get(key)
    return node if isinstance(node, str) else default


def changed_paths(commits: object) -> list[str]:
    """Every added, modified or removed path of a push's ``commits`` list."""
    paths: list[str] = []
    if not isinstance(commits, list):
        return paths
    for commit in commits:
        if not isinstance(commit, dict):
            continue
        for key in ("added", "modified", "removed"):
            values = commit.get(key)
            if isinstance(values, list):
                paths.extend(v for v in values if isinstance(v, str))
    return paths
