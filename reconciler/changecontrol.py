"""Pull requests as change control inside ``bosun serve``.

Part of the runtime's extensions: ``ChangeControl.install`` registers
- the handler of ``PlanPullRequest`` (GitHub ``pull_request`` opened,
  synchronize, reopened; GitLab ``Merge Request Hook`` open, update, reopen,
  as the webhook receivers enqueue them): fetch the pull request's head and
  base into the source cache, plan the head merged into the base against the
  running state, post or edit the one comment and set ``bosun/plan``;
- a reconcile-result hook that reports ``bosun/apply`` on each revision the
  runtime applies (the merge commit, after a merge): pending at once, then,
  through a ``ReportApply`` request on its own worker, success only once every
  resource is healthy (waiting up to the stacks' health timeouts), failure
  when the apply failed, was blocked by policy or health did not pass.

Which forge: the pull request's own (its web page gives the API, unless
``bosun.yaml`` sets ``spec.forge.api``); for ``bosun/apply``, ``spec.forge``
(``type``, ``project``, ``api``) or else the repository of the last pull
request seen. Tokens: ``spec.forge.token`` or ``BOSUN_GITHUB_TOKEN`` /
``BOSUN_GITLAB_TOKEN``. Without a token, nothing is posted and an event says so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import pygit2

from reconciler.errors import BosunError, SourceError
from reconciler.forge import CommitState, Forge, ForgeError, client_for, token_from
from reconciler.model.common import Kind, duration_seconds
from reconciler.model.desired import DesiredState
from reconciler.model.kinds import ForgeKind, RepositoryForge, Stack
from reconciler.pullrequests import (
    PullRequest,
    api_for,
    apply_finished,
    apply_started,
    plan_pull_request,
    wait_healthy,
)
from reconciler.runtime import CycleResult, PlanPullRequest, Request, Runtime, Trigger
from reconciler.secrets import Secrets
from reconciler.source import GitSource
from reconciler.state import EventLevel, RunState

log = logging.getLogger("bosun.changecontrol")

StopCheck = Callable[[], str | None]
DEFAULT_HEALTH_TIMEOUT = 120.0
HEAD_REFS = {
    ForgeKind.GITHUB: "refs/pull/{n}/head",
    ForgeKind.GITLAB: "refs/merge-requests/{n}/head",
}


@dataclass(frozen=True)
class ReportApply(Request):
    """Report ``bosun/apply`` for revision ``sha``, which a reconcile ended in ``state``.

    Succeeded: pending, then success once every resource is healthy (failure
    if health does not pass in time); failed: failure; superseded or stopped:
    error. Runs on its own worker so that waiting for health never holds up
    the next reconcile.
    """

    KEY: ClassVar[str] = "report-apply"

    sha: str = ""
    state: RunState = RunState.SUCCEEDED
    message: str = ""

    @property
    def key(self) -> str:
        return self.KEY

    def supersedes(self, running: Request, running_revision: str | None) -> bool:
        return isinstance(running, ReportApply) and running.sha != self.sha


@dataclass(frozen=True)
class _Target:
    kind: ForgeKind
    project: str
    api: str | None


class ChangeControl:
    """Plans on pull requests and ``bosun/apply`` statuses for one running bosun."""

    def __init__(self, runtime: Runtime, environ: Mapping[str, str] | None = None,
                 health_interval: float = 2.0) -> None:
        self.runtime = runtime
        self.environ = environ
        self.health_interval = health_interval
        self._lock = threading.Lock()
        self._learned: _Target | None = None
        self._reported: dict[str, CommitState] = {}

    def install(self) -> ChangeControl:
        self.runtime.register_handler(PlanPullRequest, self.plan)
        self.runtime.register_handler(ReportApply, self.report_apply)
        self.runtime.on_result.append(self.on_result)
        return self

    # -- forge access -----------------------------------------------------------

    def _desired(self) -> DesiredState | None:
        return self.runtime.cycle.last_desired

    def _settings(self) -> RepositoryForge | None:
        desired = self._desired()
        return desired.repository.spec.forge if desired is not None else None

    def _event(self, message: str, level: EventLevel = EventLevel.INFO) -> None:
        self.runtime.store.add_event("pull-request", message, level=level)

    def _client(self, target: _Target) -> Forge | None:
        desired = self._desired()
        settings = self._settings()
        secrets = Secrets(desired, self.environ) if desired is not None else None
        try:
            token = token_from(target.kind, settings, secrets, self.environ)
        except BosunError as exc:
            self._event(f"cannot report to {target.kind.value} {target.project}: {exc}",
                        EventLevel.WARNING)
            return None
        return client_for(target.kind, target.project, token, target.api)

    def _pr_target(self, request: PlanPullRequest, kind: ForgeKind) -> _Target:
        settings = self._settings()
        api = settings.api if settings is not None and settings.api and \
            settings.type in (None, kind) else api_for(kind, request.url, request.repository)
        return _Target(kind, request.repository, api)

    def _apply_target(self) -> _Target | None:
        settings = self._settings()
        with self._lock:
            learned = self._learned
        kind = (settings.type if settings else None) or (learned.kind if learned else None)
        if kind is None:
            return None
        project = (settings.project if settings else None) or \
            (learned.project if learned and learned.kind is kind else None)
        if project is None:
            return None
        api = (settings.api if settings else None) or \
            (learned.api if learned and learned.kind is kind else None)
        return _Target(kind, project, api)

    # -- pull requests -------------------------------------------------------------

    def _fetch(self, source: GitSource, kind: ForgeKind,
               request: PlanPullRequest) -> tuple[Path, str]:
        """Fetch the head and base into the source cache: (cache repository, base commit)."""
        head_ref = HEAD_REFS[kind].format(n=request.number)
        mine = f"refs/bosun/pull/{request.number}"
        repo_path = source.fetch_refs([
            f"+{head_ref}:{mine}/head",
            f"+refs/heads/{request.base_ref}:{mine}/base",
        ])
        repo = pygit2.Repository(str(repo_path))
        base = repo.references[f"{mine}/base"].peel(pygit2.Commit)
        if repo.get(request.head_sha) is None:
            raise SourceError(f"commit {request.head_sha[:12]} is not the head of "
                              f"{head_ref} any more")
        return repo_path, str(base.id)

    def plan(self, request: PlanPullRequest, should_stop: StopCheck) -> None:
        """The ``PlanPullRequest`` handler (a worker thread; one per pull request)."""
        where = f"{request.forge} {request.repository}#{request.number}"
        source = self.runtime.cycle.source
        try:
            kind = ForgeKind(request.forge)
        except ValueError:
            self._event(f"{where}: unknown forge", EventLevel.WARNING)
            return
        if not isinstance(source, GitSource):
            self._event(f"{where}: pull requests are planned only when following a Git "
                        "repository (bosun serve --repo)", EventLevel.WARNING)
            return
        target = self._pr_target(request, kind)
        with self._lock:
            self._learned = target
        client = self._client(target)
        if client is None:
            return
        try:
            try:
                repo_path, base_sha = self._fetch(source, kind, request)
            except (SourceError, KeyError, pygit2.GitError) as exc:
                if should_stop() is not None:
                    return  # a newer push of the same pull request is waiting
                self._event(f"{where}: cannot fetch the pull request: {exc}", EventLevel.ERROR)
                client.set_status(request.head_sha, "bosun/plan", CommitState.ERROR,
                                  f"could not fetch the pull request: {exc}")
                return
            if should_stop() is not None:
                return
            pr = PullRequest(
                forge=kind, api=target.api or "", project=request.repository,
                number=request.number, base_ref=request.base_ref, base_sha=base_sha,
                head_ref=request.head_ref, head_sha=request.head_sha, url=request.url,
            )
            desired = self._desired()
            result = plan_pull_request(
                pr, repo_path, client, reconciler=self.runtime.cycle.reconciler,
                subdir=source.spec.subdir or None,
                key=desired.owner if desired is not None else "bosun",
            )
            outcome = "could not be planned" if result is None else (
                "planned: " + (result.plan.summary() if result.plan is not None
                               else f"{len(result.problems)} problem(s)"))
            self._event(f"{where} at {request.head_sha[:7]} {outcome}")
        except ForgeError as exc:
            self._event(f"{where}: {exc}", EventLevel.ERROR)
            if exc.retry_after is not None and not self.runtime.stopping:
                self.runtime.submit(replace(request, trigger=Trigger.RETRY,
                                            created=time.monotonic()), delay=exc.retry_after)
        finally:
            client.close()

    # -- bosun/apply -------------------------------------------------------------------

    def _report(self, target: _Target, sha: str, action: Callable[[Forge], object]) -> None:
        client = self._client(target)
        if client is None:
            return
        try:
            action(client)
        except ForgeError as exc:
            self._event(f"bosun/apply on {sha[:12]}: {exc}", EventLevel.ERROR)
        finally:
            client.close()

    def on_result(self, result: CycleResult) -> None:
        """After each reconcile (on its worker): queue the report of the revision it applied.

        Once per commit and outcome: polls of a revision already reported
        healthy, with nothing to change, send nothing.
        """
        revision = result.revision
        if revision is None or revision.sha is None or self._apply_target() is None:
            return
        if result.state not in (RunState.SUCCEEDED, RunState.FAILED, RunState.SUPERSEDED,
                                RunState.STOPPED):
            return
        with self._lock:
            known = self._reported.get(revision.sha)
        if result.state is RunState.SUCCEEDED and known is CommitState.SUCCESS \
                and result.changes == 0:
            return
        if result.state is RunState.FAILED and known is CommitState.FAILURE:
            return
        self.runtime.submit(ReportApply(
            Trigger.CONTROL, reason=f"bosun/apply of {revision.sha[:12]}", sha=revision.sha,
            state=result.state, message=result.message,
        ))

    def _mark(self, sha: str, state: CommitState) -> None:
        with self._lock:
            self._reported[sha] = state
            while len(self._reported) > 100:
                self._reported.pop(next(iter(self._reported)))

    def report_apply(self, request: ReportApply, should_stop: StopCheck) -> None:
        """The ``ReportApply`` handler."""
        target = self._apply_target()
        if target is None:
            return
        sha = request.sha
        if request.state is not RunState.SUCCEEDED:
            state = CommitState.FAILURE if request.state is RunState.FAILED \
                else CommitState.ERROR
            message = request.message or request.state.value
            self._mark(sha, state)
            self._report(target, sha, lambda f: f.set_status(
                sha, "bosun/apply", state, f"not applied: {message}"))
            return
        desired = self._desired()
        if desired is None or desired.revision.sha != sha:
            return  # a newer revision is being applied; it reports for itself
        self._mark(sha, CommitState.PENDING)
        self._report(target, sha, lambda f: apply_started(f, sha))
        reconciler = self.runtime.cycle.reconciler
        stacks = [r.document for r in desired.of_kind(Kind.STACK) if isinstance(r.document, Stack)]
        timeout = max((duration_seconds(s.spec.health.timeout) for s in stacks),
                      default=DEFAULT_HEALTH_TIMEOUT)
        try:
            health = wait_healthy(
                lambda: reconciler.health(desired, reconciler.observe(desired)),
                timeout=timeout, interval=self.health_interval, stop=should_stop,
            )
        except BosunError as exc:
            log.warning("health of %s could not be read: %s", sha[:12], exc)
            health = None
        stopped = should_stop()
        if stopped is not None:
            # A newer revision reports for itself; this one never got a verdict.
            self._mark(sha, CommitState.ERROR)
            self._report(target, sha, lambda f: f.set_status(
                sha, "bosun/apply", CommitState.ERROR, f"health not awaited: {stopped}"))
            return
        outcome: list[CommitState] = []
        self._report(target, sha, lambda f: outcome.append(apply_finished(f, sha, health)))
        if outcome:
            self._mark(sha, outcome[0])
