"""The pull-request flow on real Git repositories against the local forge server.

One comment is created on the first plan and edited on the next push; the
commit status ``bosun/plan`` goes pending then success or failure; after a
merge, ``bosun/apply`` goes pending then success only when health passes.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.forge import PLAN_CONTEXT, GitHub, GitLab, marker
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.sensitive import Sensitive
from reconciler.model.status import Health, HealthState
from reconciler.pipeline import Reconciler, load_desired
from reconciler.pullrequests import (
    PullRequest,
    apply_finished,
    apply_started,
    failed_changes,
    plan_pull_request,
    wait_healthy,
)
from tests import forge_payloads
from tests.forge_server import running
from tests.unit.gitrepo import commit, git, init

GH_TOKEN = "ghp-test-token-0001"
GL_TOKEN = "glpat-test-token-0001"


def _repo(tmp_path: Path) -> tuple[Path, str, str]:
    """main: the scaffold; blog-stack: one new, clean stack. Returns (repo, base, head)."""
    work = tmp_path / "infra"
    init(work)
    assert CliRunner().invoke(cli, ["init", str(work)]).exit_code == 0
    base = commit(work, "scaffold")
    git(work, "checkout", "-q", "-b", "blog-stack")
    (work / "stacks/blog").mkdir()
    (work / "stacks/blog/stack.yaml").write_text(
        "apiVersion: bosun/v1\nkind: Stack\nmetadata: {name: blog}\nspec:\n  compose:\n"
        "    services:\n      web:\n        image: bosun.local/busybox:1\n"
        "        healthcheck: {test: [CMD, 'true']}\n")
    head = commit(work, "blog stack")
    return work, base, head


def _push_violation(work: Path) -> str:
    """A second commit on blog-stack that runs the blog privileged."""
    stack = work / "stacks/blog/stack.yaml"
    stack.write_text(stack.read_text() + "        privileged: true\n")
    return commit(work, "blog needs privileges")


def test_github_pull_request_comment_and_statuses(tmp_path: Path) -> None:
    work, base, head = _repo(tmp_path)
    state = tmp_path / "state"
    with running() as (url, forge):
        opened = PullRequest.from_github(forge_payloads.github("opened", url, base, head))
        assert (opened.api, opened.project, opened.number) == (url, "acme/infra", 12)
        gh = GitHub(opened.project, Sensitive(GH_TOKEN), api=opened.api)
        first = plan_pull_request(opened, work, gh, state_dir=state, providers=["memory"])
        assert first is not None and first.ok
        comments = "/repos/acme/infra/issues/12/comments"
        assert forge.calls() == [
            ("POST", f"/repos/acme/infra/statuses/{head}"),
            ("GET", comments), ("POST", comments),
            ("POST", f"/repos/acme/infra/statuses/{head}"),
        ]
        assert forge.requests[0].json == {"state": "pending", "context": "bosun/plan",
                                          "description": "bosun is planning this change"}
        assert forge.requests[3].json == {"state": "success", "context": "bosun/plan",
                                          "description": "Plan: 4 to add, 0 to change, "
                                          "0 to destroy."}
        body = forge.requests[2].json["body"]
        assert body.startswith(f"{marker()}\n### 📝 bosun: Plan: 4 to add")
        assert "Merging `blog-stack`" in body and "into `main`" in body
        assert "+ Stack/blog" in body
        comment_id = forge.comments[("acme/infra", 12)][0]["id"]

        second_head = _push_violation(work)
        forge.requests.clear()
        pushed = PullRequest.from_github(
            forge_payloads.github("synchronize", url, base, second_head))
        second = plan_pull_request(pushed, work, gh, state_dir=state, providers=["memory"])
        assert second is not None and not second.ok
        assert forge.calls() == [
            ("POST", f"/repos/acme/infra/statuses/{second_head}"),
            ("GET", comments), ("PATCH", f"/repos/acme/infra/issues/comments/{comment_id}"),
            ("POST", f"/repos/acme/infra/statuses/{second_head}"),
        ]
        assert forge.requests[3].json == {"state": "failure", "context": "bosun/plan",
                                          "description": "enforced policy failed: BOSUN-S001"}
        edited = forge.requests[2].json["body"]
        assert edited.startswith(f"{marker()}\n### ❌ bosun:")
        assert "`BOSUN-S001`" in edited and "stacks/blog/stack.yaml:10:" in edited
        assert len(forge.comments[("acme/infra", 12)]) == 1
        assert forge.status_states("acme/infra", head) == [
            (PLAN_CONTEXT, "pending"), (PLAN_CONTEXT, "success")]
        assert forge.status_states("acme/infra", second_head) == [
            (PLAN_CONTEXT, "pending"), (PLAN_CONTEXT, "failure")]
    # planning wrote nothing: the running state (memory) is untouched
    assert not (state / "memory.json").exists()
    assert git(work, "status", "--porcelain") == ""


def test_gitlab_merge_request_note_and_statuses(tmp_path: Path) -> None:
    work, _, head = _repo(tmp_path)
    with running() as (url, forge):
        opened = PullRequest.from_gitlab(forge_payloads.gitlab("open", url, head))
        assert (opened.api, opened.project, opened.number, opened.base) == \
            (f"{url}/api/v4", "15", 4, "main")
        gl = GitLab(opened.project, Sensitive(GL_TOKEN), api=opened.api)
        assert plan_pull_request(opened, work, gl, offline=True) is not None
        second_head = _push_violation(work)
        updated = PullRequest.from_gitlab(forge_payloads.gitlab("update", url, second_head))
        plan_pull_request(updated, work, gl, offline=True)
        notes = "/api/v4/projects/15/merge_requests/4/notes"
        note_id = forge.comments[("15", 4)][0]["id"]
        assert forge.calls() == [
            ("POST", f"/api/v4/projects/15/statuses/{head}"), ("GET", notes), ("POST", notes),
            ("POST", f"/api/v4/projects/15/statuses/{head}"),
            ("POST", f"/api/v4/projects/15/statuses/{second_head}"), ("GET", notes),
            ("PUT", f"{notes}/{note_id}"),
            ("POST", f"/api/v4/projects/15/statuses/{second_head}"),
        ]
        assert [r.json["state"] for r in forge.requests if "statuses" in r.path] == \
            ["pending", "success", "pending", "failed"]
        assert "offline: planned against the base revision" in forge.comments[("15", 4)][0]["body"]


def test_a_head_that_cannot_merge_is_reported(tmp_path: Path) -> None:
    work, base, head = _repo(tmp_path)
    git(work, "checkout", "-q", "main")
    (work / "stacks/blog").mkdir()
    (work / "stacks/blog/stack.yaml").write_text("# main's own blog\n")
    main = commit(work, "conflicting blog on main")
    with running() as (url, forge):
        pr = PullRequest.from_github(forge_payloads.github("opened", url, main, head))
        gh = GitHub(pr.project, Sensitive(GH_TOKEN), api=pr.api)
        assert plan_pull_request(pr, work, gh, offline=True) is None
        body = forge.comments[("acme/infra", 12)][0]["body"]
        assert "could not plan this change" in body and "does not merge cleanly" in body
        assert forge.status_states("acme/infra", head)[-1] == (PLAN_CONTEXT, "failure")
    assert base != main


def test_apply_status_turns_success_only_when_healthy(tmp_path: Path) -> None:
    work, _, _ = _repo(tmp_path)
    git(work, "checkout", "-q", "main")
    desired = load_desired(work)
    reconciler = Reconciler(state_dir=tmp_path / "state", provider_names=["memory"])
    merge_sha = git(work, "rev-parse", "HEAD")
    with running() as (url, forge):
        gh = GitHub("acme/infra", Sensitive(GH_TOKEN), api=url)
        apply_started(gh, merge_sha)
        report = reconciler.apply(reconciler.plan(desired), desired)
        assert failed_changes(report) == []

        def read() -> dict[ResourceRef, Health]:
            return reconciler.health(desired, reconciler.observe(desired))

        health = wait_healthy(read, timeout=5, interval=0.01)
        assert apply_finished(gh, merge_sha, health).value == "success"
        sick = {**health, ResourceRef(kind=Kind.STACK, name="hello"):
                Health(state=HealthState.DEGRADED, reason="Unhealthy")}
        assert apply_finished(gh, merge_sha, sick).value == "failure"
        assert apply_finished(gh, merge_sha, health, failed=["Stack/hello"]).value == "failure"
        assert apply_finished(gh, merge_sha, None).value == "failure"
        assert [(r.json["state"], r.json["description"]) for r in forge.requests] == [
            ("pending", "bosun is applying this commit"),
            ("success", "applied and healthy"),
            ("failure", "not healthy: Stack/hello"),
            ("failure", "1 change(s) not applied: Stack/hello"),
            ("failure", "health could not be read"),
        ]
        assert {r.json["context"] for r in forge.requests} == {"bosun/apply"}


def test_waiting_for_health_gives_up_at_the_timeout() -> None:
    ref = ResourceRef(kind=Kind.STACK, name="slow")
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    reads = []

    def read() -> dict[ResourceRef, Health]:
        reads.append(now[0])
        return {ref: Health(state=HealthState.PROGRESSING)}

    health = wait_healthy(read, timeout=10, interval=3, sleep=sleep, clock=lambda: now[0])
    assert health[ref].state is HealthState.PROGRESSING
    assert reads == [0.0, 3.0, 6.0, 9.0, 12.0]


def test_api_base_from_the_pull_request_page() -> None:
    from reconciler.model.kinds import ForgeKind
    from reconciler.pullrequests import api_for

    assert api_for(ForgeKind.GITHUB, "https://github.com/acme/infra/pull/12") == \
        "https://api.github.com"
    assert api_for(ForgeKind.GITHUB, "https://git.acme.test/acme/infra/pull/12") == \
        "https://git.acme.test/api/v3"
    assert api_for(ForgeKind.GITLAB, "https://gitlab.example.com/infra/deploy/-/merge_requests/4",
                   "infra/deploy") == "https://gitlab.example.com/api/v4"
    assert api_for(ForgeKind.GITLAB, "http://127.0.0.1:8080/gl/a/b/c/-/merge_requests/1",
                   "a/b/c") == "http://127.0.0.1:8080/gl/api/v4"
