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


def push(payload: dict[str, object], listed: bool, repository: str) -> Push:
    """A forge's push payload (``ref``, ``before``, ``after``, ``commits``); ``listed``
    says whether ``commits`` holds every pushed commit (else paths are unknown)."""
    ref, after = text(payload, "ref"), text(payload, "after")
    if not ref or not after:
        raise PayloadError("a push payload needs 'ref' and 'after'")
    paths = tuple(changed_paths(payload.get("commits"))) if listed else None
    return Push(ref=ref, before=text(payload, "before"), after=after, paths=paths,
                repository=repository)


def pull_request(request: PlanPullRequest, plan_actions: frozenset[str],
                 followed_branch: str | None, noun: str = "pull request") -> PullRequest:
    """Whether a pull (merge) request event asks for a new plan of the followed branch."""
    if request.action not in plan_actions:
        return PullRequest(request, False, f"{noun} action {request.action!r} changes no plan")
    if followed_branch is not None and request.base_ref != followed_branch:
        return PullRequest(request, False, f"{noun} into {request.base_ref!r}; bosun follows "
                           f"{followed_branch!r}")
    return PullRequest(request, True)
