"""Pull requests as change control: plan comments and commit statuses.

Not a stage: ``bosun serve`` calls these from its worker when a pull request
is opened, reopened or pushed to (``plan_pull_request``), and around applying
a merged revision (``apply_started``/``apply_finished``). The plan is made by
``reconciler.review`` (the head merged into the base, against the running
state); the forge shows it as one comment, created once and edited on every
push, and as the commit status ``bosun/plan``: pending while planning, then
success, or failure when the head does not validate, an enforced policy
fails or state could not be read. ``bosun/apply`` on the commit applied after
a merge turns success only once every resource is healthy, failure otherwise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reconciler.errors import BosunError
from reconciler.forge import APPLY_CONTEXT, PLAN_CONTEXT, CommitState, Forge, upsert_comment
from reconciler.model.common import ResourceRef
from reconciler.model.kinds import ForgeKind
from reconciler.model.plan import ApplyReport, ChangeOutcome
from reconciler.model.status import Health, HealthState
from reconciler.pipeline import Reconciler
from reconciler.provider import ApplyOptions
from reconciler.review import Review, markdown, review

log = logging.getLogger("bosun.pullrequests")

PLAN_ACTIONS = {
    ForgeKind.GITHUB: frozenset({"opened", "synchronize", "reopened"}),
    ForgeKind.GITLAB: frozenset({"open", "update", "reopen"}),
}
SETTLED = frozenset({HealthState.HEALTHY, HealthState.SUSPENDED})


@dataclass(frozen=True)
class PullRequest:
    """One pull request (GitHub) or merge request (GitLab) at one head commit."""

    forge: ForgeKind
    api: str = ""
    project: str = ""
    number: int = 0
    base_ref: str = ""
    base_sha: str = ""
    head_ref: str = ""
    head_sha: str = ""
    url: str | None = None

    @property
    def key(self) -> tuple[str, str, str, int]:
        """Events with the same key supersede each other: only the newest head matters."""
        return (self.forge.value, self.api, self.project, self.number)

    @property
    def base(self) -> str:
        """The base as a revision: its commit when the event names it, else the branch."""
        return self.base_sha or self.base_ref

    @classmethod
    def from_github(cls, payload: Mapping[str, Any]) -> PullRequest:
        """From a ``pull_request`` webhook payload."""
        pull = payload["pull_request"]
        repo = payload["repository"]
        api = str(repo["url"]).rsplit("/repos/", 1)[0]
        return cls(
            forge=ForgeKind.GITHUB, api=api, project=str(repo["full_name"]),
            number=int(payload["number"]), base_ref=str(pull["base"]["ref"]),
            base_sha=str(pull["base"]["sha"]), head_ref=str(pull["head"]["ref"]),
            head_sha=str(pull["head"]["sha"]), url=pull.get("html_url"),
        )

    @classmethod
    def from_gitlab(cls, payload: Mapping[str, Any]) -> PullRequest:
        """From a ``Merge Request Hook`` payload (it names no base commit: the branch is used)."""
        attrs = payload["object_attributes"]
        project = payload["project"]
        web = str(project["web_url"])
        path = str(project["path_with_namespace"])
        root = web[: -len(path) - 1] if web.endswith("/" + path) else web.rsplit("/", 2)[0]
        return cls(
            forge=ForgeKind.GITLAB, api=f"{root}/api/v4", project=str(project["id"]),
            number=int(attrs["iid"]), base_ref=str(attrs["target_branch"]), base_sha="",
            head_ref=str(attrs["source_branch"]), head_sha=str(attrs["last_commit"]["id"]),
            url=attrs.get("url"),
        )


def api_for(forge: ForgeKind, web_url: str, repository: str = "") -> str:
    """The REST API base of the forge a pull request's web page is on.

    github.com is served by api.github.com; GitHub Enterprise by
    ``https://host/api/v3``; GitLab by ``<root>/api/v4``, where the root is the
    page's URL before ``/<group>/<project>/-/merge_requests/...``.
    """
    parts = urlsplit(web_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if forge is ForgeKind.GITHUB:
        return "https://api.github.com" if parts.netloc == "github.com" else f"{origin}/api/v3"
    path = parts.path.split("/-/", 1)[0]
    if repository and path.endswith("/" + repository):
        path = path[: -len(repository) - 1]
    elif not repository:
        path = path.rsplit("/", 2)[0]
    return f"{origin}{path}/api/v4"


def plan_status(result: Review) -> tuple[CommitState, str]:
    """The ``bosun/plan`` state and its one-line description."""
    if result.plan is None:
        return CommitState.FAILURE, f"the head does not validate: {len(result.problems)} problem(s)"
    plan = result.plan
    if plan.blocked:
        rules = sorted({p.rule for p in plan.policy if p.enforced})
        return CommitState.FAILURE, "enforced policy failed: " + ", ".join(rules)
    if plan.errors:
        return CommitState.FAILURE, (f"{len(plan.errors)} error(s): nothing planned for some "
                                     "resources")
    return CommitState.SUCCESS, plan.summary()


def _error_body(pr: PullRequest, error: BosunError) -> str:
    reason = str(error).replace("`", "'")
    return (f"### ❌ bosun: could not plan this change\n\nMerging `{pr.head_ref}` "
            f"({pr.head_sha[:7]}) into `{pr.base_ref}`\n\n{reason}\n")


def plan_pull_request(
    pr: PullRequest,
    repo_path: Path,
    forge: Forge,
    *,
    state_dir: Path | None = None,
    providers: Sequence[str] | None = None,
    offline: bool = False,
    options: ApplyOptions | None = None,
    environ: Mapping[str, str] | None = None,
    key: str = "bosun",
    target_url: str | None = None,
    reconciler: Reconciler | None = None,
    subdir: str | None = None,
) -> Review | None:
    """Plan the head of ``pr`` (its commits present in the repository at ``repo_path``).

    Sets ``bosun/plan`` pending, plans, posts or edits the comment, then sets
    success or failure. Forge errors propagate (the caller may retry later);
    a change that cannot be planned is reported on the pull request.
    """
    forge.set_status(pr.head_sha, PLAN_CONTEXT, CommitState.PENDING,
                     "bosun is planning this change", target_url)
    try:
        result = review(repo_path, pr.base, pr.head_sha, state_dir=state_dir,
                        providers=providers, offline=offline, options=options, environ=environ,
                        reconciler=reconciler, subdir=subdir)
    except BosunError as exc:
        log.warning("pull request %s: cannot plan: %s", pr.number, exc)
        upsert_comment(forge, pr.number, _error_body(pr, exc), key)
        forge.set_status(pr.head_sha, PLAN_CONTEXT, CommitState.FAILURE,
                         f"could not plan: {exc}", target_url)
        return None
    result = _with_refs(result, pr)
    upsert_comment(forge, pr.number, markdown(result), key)
    state, description = plan_status(result)
    forge.set_status(pr.head_sha, PLAN_CONTEXT, state, description, target_url)
    return result


def _with_refs(result: Review, pr: PullRequest) -> Review:
    """Name the revisions by their branches (the review knows only commit ids)."""
    if pr.base_ref:
        result.base = result.base.model_copy(update={"ref": pr.base_ref})
    if pr.head_ref:
        result.head = result.head.model_copy(update={"ref": pr.head_ref})
    if result.plan is not None:
        result.plan = result.plan.model_copy(update={"revision": str(result.head)})
    return result


def apply_started(forge: Forge, sha: str, target_url: str | None = None) -> None:
    forge.set_status(sha, APPLY_CONTEXT, CommitState.PENDING, "bosun is applying this commit",
                     target_url)


def apply_finished(
    forge: Forge, sha: str, health: Mapping[ResourceRef, Health] | None,
    failed: Sequence[str] = (), error: str | None = None, target_url: str | None = None,
) -> CommitState:
    """``bosun/apply``: success only when every change applied and everything is healthy.

    ``failed`` names the changes that were not applied; ``error`` says why the
    revision was not applied at all; ``health`` is None when it could not be read.
    """
    state, description = CommitState.SUCCESS, "applied and healthy"
    sick = sorted(str(ref) for ref, h in (health or {}).items() if h.state not in SETTLED)
    if error is not None:
        state, description = CommitState.FAILURE, f"not applied: {error}"
    elif failed:
        state = CommitState.FAILURE
        description = f"{len(failed)} change(s) not applied: " + ", ".join(failed[:5])
    elif health is None:
        state, description = CommitState.FAILURE, "health could not be read"
    elif sick:
        state = CommitState.FAILURE
        description = "not healthy: " + ", ".join(sick[:5])
    forge.set_status(sha, APPLY_CONTEXT, state, description, target_url)
    return state


def failed_changes(report: ApplyReport | None) -> list[str]:
    """The changes of ``report`` that were not applied, as ``Kind/name``."""
    if report is None:
        return []
    return [str(r.ref) for r in report.results if r.outcome is not ChangeOutcome.APPLIED]


def wait_healthy(
    read: Callable[[], Mapping[ResourceRef, Health]], timeout: float, interval: float = 2.0,
    sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
    stop: Callable[[], object] = lambda: None,
) -> dict[ResourceRef, Health]:
    """Read health until every resource settles (healthy or suspended), ``timeout``
    passes or ``stop()`` gives a reason."""
    deadline = clock() + timeout
    while True:
        health = dict(read())
        if all(h.state in SETTLED for h in health.values()) or clock() >= deadline or stop():
            return health
        sleep(interval)


__all__ = [
    "PLAN_ACTIONS",
    "PullRequest",
    "apply_finished",
    "apply_started",
    "failed_changes",
    "plan_pull_request",
    "plan_status",
    "wait_healthy",
]
