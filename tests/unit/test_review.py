"""``bosun plan --base/--head [--offline]`` on real Git repositories."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.plan import Change, ChangeAction, Plan, PolicyResult
from reconciler.render import render_markdown
from reconciler.review import review
from tests.unit.gitrepo import commit, git, init

FENCE = "`" * 3


def _two_revisions(tmp_path: Path, sub: str = "") -> tuple[Path, Path]:
    """main: the scaffold; feature: a changed greeting, a new stack, an unpinned image."""
    work = tmp_path / "work"
    init(work)
    root = work / sub if sub else work
    assert CliRunner().invoke(cli, ["init", str(root)]).exit_code == 0
    commit(work, "base")
    git(work, "checkout", "-q", "-b", "feature")
    stack = root / "stacks/hello/stack.yaml"
    stack.write_text(stack.read_text().replace("hello from bosun", "hello again"))
    (root / "stacks/extra").mkdir()
    (root / "stacks/extra/stack.yaml").write_text(
        "apiVersion: bosun/v1\nkind: Stack\nmetadata: {name: extra}\n"
        "spec: {compose: {services: {job: {image: 'nginx:latest', network_mode: host}}}}\n")
    commit(work, "head")
    git(work, "checkout", "-q", "main")
    return work, root


def test_offline_plan_shows_the_change_and_leaves_the_working_copy(tmp_path: Path) -> None:
    work, root = _two_revisions(tmp_path)
    before = sorted(p.name for p in root.rglob("*") if ".git" not in p.parts)
    result = CliRunner().invoke(cli, ["plan", str(root), "--base", "main", "--head", "feature",
                                      "--offline"])
    assert result.exit_code == 1, result.output  # the host network is enforced
    assert "Plan: 1 to add, 1 to change, 0 to destroy." in result.output
    assert "+ Stack/extra" in result.output and "~ Stack/hello" in result.output
    assert "Error: policy BOSUN-S002: Stack/extra compose.services.job" in result.output
    assert "Warning: policy BOSUN-I001: Stack/extra compose.services.job" in result.output
    assert git(work, "status", "--porcelain") == ""
    assert git(work, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert sorted(p.name for p in root.rglob("*") if ".git" not in p.parts) == before
    assert not (root / ".bosun").exists()


def test_markdown_and_json_for_a_pull_request(tmp_path: Path) -> None:
    _, root = _two_revisions(tmp_path)
    md = CliRunner().invoke(cli, ["plan", str(root), "--base", "main", "--head", "feature",
                                  "--offline", "--format", "markdown"])
    lines = md.output.splitlines()
    assert lines[0] == "### ❌ bosun: Plan: 1 to add, 1 to change, 0 to destroy."
    assert "offline: planned against the base revision's desired state" in md.output
    assert "| ❌ | `BOSUN-S002` | `Stack/extra` `compose.services.job` |" in md.output
    assert "| ⚠️ | `BOSUN-I001` | `Stack/extra` `compose.services.job` |" in md.output
    assert "<details><summary>2 change(s)" in md.output and "</details>" in md.output
    assert md.output.count(FENCE) % 2 == 0
    as_json = CliRunner().invoke(cli, ["plan", str(root), "--base", "main", "--head",
                                       "feature", "--offline", "--format", "json"])
    body = json.loads(as_json.output)
    assert body["ok"] is False and body["offline"] is True
    assert body["touched"] == ["Stack/extra", "Stack/hello"]
    assert body["plan"]["summary"]["create"] == 1


def test_a_sub_folder_of_the_repository(tmp_path: Path) -> None:
    _, root = _two_revisions(tmp_path, sub="infra/bosun")
    result = CliRunner().invoke(cli, ["plan", str(root), "--base", "main", "--head", "feature",
                                      "--offline", "--detailed-exitcode"])
    assert "Plan: 1 to add, 1 to change, 0 to destroy." in result.output


def test_head_that_does_not_validate(tmp_path: Path) -> None:
    work, root = _two_revisions(tmp_path)
    git(work, "checkout", "-q", "feature")
    (root / "broken.yaml").write_text(
        "apiVersion: bosun/v1\nkind: Route\nmetadata: {name: r}\nspec: {gateway: nowhere}\n")
    commit(work, "broken")
    result = CliRunner().invoke(cli, ["plan", str(root), "--base", "main", "--head", "HEAD",
                                      "--offline", "--format", "markdown"])
    assert result.exit_code == 1
    assert result.output.startswith("### ❌ bosun: the head revision does not validate")
    assert "broken.yaml:4:1: Route/r: spec.hosts: required field is missing" in result.output


def test_online_plan_calls_out_drift_from_base(tmp_path: Path) -> None:
    work, root = _two_revisions(tmp_path)
    state = tmp_path / "state"
    applied = CliRunner().invoke(cli, ["apply", str(root), "--provider", "memory",
                                       "--state-dir", str(state)])
    assert applied.exit_code == 0, applied.output
    gateway = root / "gateway.yaml"
    gateway.write_text(gateway.read_text().replace("127.0.0.1:8880", "127.0.0.1:8881"))
    commit(work, "gateway port on main")
    result = review(root, "main", "feature", state_dir=state, providers=["memory"])
    assert result.plan is not None
    # main moved the gateway after feature branched: the merge keeps main's gateway,
    # which the hosts do not run yet; the feature changes the two stacks.
    changed = sorted(str(c.ref) for c in result.plan.changes)
    assert changed == ["Gateway/edge", "Stack/extra", "Stack/hello"]
    assert [str(r) for r in result.touched] == ["Stack/extra", "Stack/hello"]
    gateway_change = next(c for c in result.plan.changes if c.ref.kind is Kind.GATEWAY)
    assert any(d.after == "127.0.0.1:8881" for d in gateway_change.diffs)
    (warning,) = [w for w in result.plan.warnings
                  if "not changed by this pull request" in w.message]
    assert warning.message.endswith("revision: Gateway/edge")
    assert result.head.tree != git(work, "rev-parse", "feature^{tree}")


def test_conflicting_head_is_a_clear_error(tmp_path: Path) -> None:
    work, root = _two_revisions(tmp_path)
    stack = root / "stacks/hello/stack.yaml"
    stack.write_text(stack.read_text().replace("hello from bosun", "hello from main"))
    commit(work, "conflicting greeting")
    result = CliRunner().invoke(cli, ["plan", str(root), "--base", "main", "--head", "feature",
                                      "--offline"])
    assert result.exit_code == 1
    assert "does not merge cleanly" in result.output
    assert "stacks/hello/stack.yaml" in result.output


def test_markdown_is_truncated_with_balanced_blocks() -> None:
    ref = ResourceRef
    changes = tuple(
        Change(action=ChangeAction.CREATE, ref=ref(kind=Kind.STACK, name=f"s{i:04d}"),
               provider="memory", reason="x" * 200, details=("detail " * 20,))
        for i in range(800)
    )
    policy = tuple(
        PolicyResult(rule="BOSUN-H001", policy="healthcheck",
                     ref=ref(kind=Kind.STACK, name=f"s{i}"),
                     message="services should declare a healthcheck", enforced=False,
                     position=f"s{i}/compose.yaml:2:3", path="compose.services.web")
        for i in range(50)
    )
    plan = Plan(revision="main@sha1:" + "a" * 40, desired_digest="sha256:" + "b" * 64,
                observed_digest="sha256:" + "c" * 64, changes=changes, policy=policy)
    text = render_markdown(plan, limit=20000)
    assert len(text) <= 20000
    assert text.startswith("### 📝 bosun: Plan: 800 to add")
    assert text.count(FENCE) == 2 and "</details>" in text
    assert "more line(s)" in text and "> Truncated: the full plan is" in text
    assert text.count("BOSUN-H001") == 50   # the policy table is kept whole first
    tiny = render_markdown(plan, limit=4000)
    assert len(tiny) <= 4000 and "more result(s)" in tiny and tiny.count(FENCE) == 2


def test_a_bare_repository_with_a_sub_folder(tmp_path: Path) -> None:
    work, _ = _two_revisions(tmp_path, sub="deploy")
    bare = tmp_path / "cache.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    result = review(bare, "main", "feature", offline=True, subdir="deploy")
    assert result.plan is not None
    assert sorted(str(c.ref) for c in result.plan.changes) == ["Stack/extra", "Stack/hello"]


def test_online_plan_has_the_state_store_that_schedules_need(tmp_path: Path) -> None:
    work = tmp_path / "work"
    init(work)
    assert CliRunner().invoke(cli, ["init", str(work)]).exit_code == 0
    commit(work, "base")
    git(work, "checkout", "-q", "-b", "feature")
    stack = work / "stacks/hello/stack.yaml"
    stack.write_text(stack.read_text().replace("hello from bosun", "hello again"))
    commit(work, "head")
    state = tmp_path / "state"
    # The scheduler keeps registrations in the state store: a review online
    # reads them there, as a plan of the working folder does.
    result = review(work, "main", "feature", state_dir=state, providers=["scheduler"])
    assert result.plan is not None and result.plan.errors == (), result.plan
    assert result.ok
    out = CliRunner().invoke(cli, ["plan", str(work), "--base", "main", "--head", "feature",
                                   "--provider", "scheduler", "--state-dir", str(state),
                                   "--detailed-exitcode"])
    assert out.exit_code == 0, out.output
    assert "No changes." in out.output, out.output
