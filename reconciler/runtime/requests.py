"""Work requests: what triggers put on the runtime's queue.

Part of the runtime. Triggers (poll timer, webhook, file watcher, API,
schedule) build one of these and hand it to ``Runtime.submit``; they never
reconcile themselves. Every request has a ``key``: requests with the same key
collapse while they wait (the newer one wins, see ``merge``) and never run
concurrently. New kinds of work (a schedule run, a one-resource sync) add a
request type here and register a handler with ``Runtime.register_handler``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import ClassVar

from reconciler.model.common import ResourceRef


class Trigger(StrEnum):
    STARTUP = "startup"
    POLL = "poll"
    WEBHOOK = "webhook"
    WATCH = "watch"
    API = "api"
    CONTROL = "control"      # a resource was suspended or resumed
    RETRY = "retry"
    SCHEDULE = "schedule"


@dataclass(frozen=True)
class Request:
    """Base of every request. Subclasses set ``key`` and may refine ``merge``."""

    trigger: Trigger
    reason: str = ""
    created: float = field(default_factory=time.monotonic, compare=False)

    @property
    def key(self) -> str:
        raise NotImplementedError

    def merge(self, newer: Request) -> Request:
        """The one request that stands for ``self`` (waiting) and ``newer`` (just put)."""
        return newer

    def supersedes(self, running: Request, running_revision: str | None) -> bool:
        """True when this waiting request makes the running one (same key) pointless
        to finish: it stops starting new changes and this one runs next."""
        return False


@dataclass(frozen=True)
class ReconcileRequest(Request):
    """Fetch the source and bring every resource to the repository's revision.

    ``sha`` is what the trigger says the branch now points at (a webhook's
    ``after``), when it knows; the reconcile fetches and reads the source
    anyway. ``attempt`` counts retries after temporary failures.
    """

    KEY: ClassVar[str] = "reconcile"

    sha: str | None = None
    attempt: int = 0
    resources: frozenset[ResourceRef] = frozenset()
    """Apply changes to these resources only (a schedule's ``reconcile`` action); empty: all."""

    @property
    def key(self) -> str:
        return self.KEY

    def merge(self, newer: Request) -> Request:
        if not isinstance(newer, ReconcileRequest):
            return newer
        # Selections add up; a request for everything covers any selection.
        resources = (self.resources | newer.resources
                     if self.resources and newer.resources else frozenset())
        if newer.trigger is Trigger.RETRY and self.trigger is not Trigger.RETRY:
            return replace(self, resources=resources)  # a fresh request covers the retry
        sha = newer.sha or self.sha
        attempt = newer.attempt if newer.trigger is Trigger.RETRY else 0
        return replace(newer, sha=sha, attempt=attempt, resources=resources)

    def supersedes(self, running: Request, running_revision: str | None) -> bool:
        if self.trigger is Trigger.WATCH:
            return True  # the working folder changed under the running reconcile
        if self.sha is None or running_revision is None:
            return False  # a poll tick: let the running reconcile finish
        return not running_revision.endswith(self.sha)


@dataclass(frozen=True)
class PlanPullRequest(Request):
    """Plan a pull (merge) request's head against the running state and report it.

    Built by the webhook receivers from GitHub ``pull_request`` and GitLab
    ``Merge Request Hook`` events. Handled by whatever the change-control
    code registers with ``Runtime.register_handler(PlanPullRequest, ...)``;
    without a handler the runtime records an event and does nothing else.
    """

    forge: str = ""              # github | gitlab
    repository: str = ""         # owner/name or group/project
    number: int = 0              # pull request number / merge request iid
    action: str = ""             # opened, synchronize, reopened, closed, open, update, ...
    head_ref: str = ""
    head_sha: str = ""
    base_ref: str = ""
    base_sha: str | None = None
    url: str = ""                # the pull request's web page
    title: str = ""
    clone_url: str = ""          # the head repository (forks differ from the base)
    delivery: str = ""

    @property
    def key(self) -> str:
        return f"pull-request:{self.forge}:{self.repository}:{self.number}"

    def supersedes(self, running: Request, running_revision: str | None) -> bool:
        return isinstance(running, PlanPullRequest) and running.head_sha != self.head_sha
