"""The CI recipes in examples/ci/ run, command for command, against examples/quickstart.

Each recipe's shell steps are taken from its YAML file and run with bash in a
clone of a real Git repository (the quickstart on main, a pull request on a
branch), with the variables GitHub Actions or GitLab CI would set, the bosun
of this checkout on PATH, and the local forge server standing in for
GitHub's and GitLab's APIs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.forge_server import ForgeState, running
from tests.unit.gitrepo import GIT_ENV, commit, git, init

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "examples/ci"
QUICKSTART = ROOT / "examples/quickstart"
GH_TOKEN = "ghp-test-token-0001"
GL_TOKEN = "glpat-test-token-0001"


def _quickstart(dest: Path) -> None:
    shutil.copytree(QUICKSTART, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".bosun"))


def _upstream(tmp_path: Path) -> tuple[Path, str]:
    """A repository with the quickstart on main and a clean change on `blog-stack`."""
    upstream = tmp_path / "upstream"
    init(upstream)
    _quickstart(upstream)
    commit(upstream, "quickstart")
    git(upstream, "checkout", "-q", "-b", "blog-stack")
    (upstream / "stacks/blog").mkdir(parents=True)
    (upstream / "stacks/blog/stack.yaml").write_text(
        "apiVersion: bosun/v1\nkind: Stack\nmetadata: {name: blog}\nspec:\n  compose:\n"
        "    services:\n      web:\n        image: bosun.local/busybox:1\n"
        "        command: [sleep, '3600']\n"
        "        healthcheck: {test: [CMD, 'true']}\n")
    head = commit(upstream, "a blog stack")
    git(upstream, "checkout", "-q", "main")
    return upstream, head


def _push_violation(upstream: Path) -> str:
    git(upstream, "checkout", "-q", "blog-stack")
    stack = upstream / "stacks/blog/stack.yaml"
    stack.write_text(stack.read_text() + "        privileged: true\n")
    head = commit(upstream, "privileged blog")
    git(upstream, "checkout", "-q", "main")
    return head


def _clone(upstream: Path, dest: Path, head: str) -> Path:
    subprocess.run(["git", "clone", "-q", str(upstream), str(dest)], env=GIT_ENV, check=True)
    git(dest, "checkout", "-q", "--detach", head)
    return dest


def _env(extra: dict[str, str]) -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)
    return {**GIT_ENV, "PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(Path.home()),
            "LANG": "C.UTF-8", **extra}


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def _expand(value: str, context: dict[str, str]) -> str:
    """GitHub's ${{ expression }} for the few expressions the recipe uses."""
    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: context[m.group(1)], value)


def _github_job(workdir: Path, url: str, head: str, summary: Path) -> tuple[int, str]:
    workflow: Any = YAML(typ="safe").load((RECIPES / "github-actions.yml").read_text())
    assert workflow["on"]["pull_request"]["types"] == ["opened", "synchronize", "reopened"]
    job = workflow["jobs"]["plan"]
    context = {"github.token": GH_TOKEN, "github.event.pull_request.number": "12",
               "github.event.pull_request.head.sha": head}
    env = _env({k: _expand(str(v), context) for k, v in job["env"].items()})
    env.update({"GITHUB_API_URL": url, "GITHUB_REPOSITORY": "acme/infra",
                "GITHUB_BASE_REF": "main", "GITHUB_STEP_SUMMARY": str(summary),
                "GITHUB_ACTIONS": "true"})
    output, failed = "", 0
    for step in job["steps"]:
        if "uses" in step or step.get("name") == "Install bosun":
            continue  # checkout and Python are this test's own; bosun is installed here
        if failed and "!cancelled()" not in step.get("if", ""):
            continue  # GitHub skips later steps once one failed, unless told otherwise
        done = _bash(step["run"], workdir, env)
        output += done.stdout + done.stderr
        failed = failed or done.returncode
    return failed, output


def _gitlab_job(workdir: Path, url: str, head: str) -> tuple[int, str]:
    pipeline: Any = YAML(typ="safe").load((RECIPES / "gitlab-ci.yml").read_text())
    job = pipeline["bosun-plan"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    env = _env({**{k: str(v) for k, v in job["variables"].items()},
                "CI_PIPELINE_SOURCE": "merge_request_event",
                "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main", "CI_COMMIT_SHA": head,
                "CI_API_V4_URL": f"{url}/api/v4", "CI_PROJECT_ID": "15",
                "CI_MERGE_REQUEST_IID": "4", "BOSUN_GITLAB_TOKEN": GL_TOKEN})
    done = _bash("\n".join(job["script"]), workdir, env)
    return done.returncode, done.stdout + done.stderr


def _states(forge: ForgeState, project: str, sha: str) -> list[str]:
    return [state for _, state in forge.status_states(project, sha)]


def test_github_actions_recipe(tmp_path: Path) -> None:
    upstream, head = _upstream(tmp_path)
    summary = tmp_path / "summary.md"
    with running() as (url, forge):
        code, output = _github_job(_clone(upstream, tmp_path / "run1", head), url, head,
                                   summary)
        assert code == 0, output
        assert "Repository is valid" in output
        assert _states(forge, "acme/infra", head) == ["pending", "success"]
        (comment,) = forge.comments[("acme/infra", 12)]
        assert "bosun: Plan: 1 to add, 0 to change, 0 to destroy." in comment["body"]
        assert "+ Stack/blog" in comment["body"] and "offline" in comment["body"]
        assert summary.read_text().startswith("### 📝 bosun: Plan: 1 to add")
        assert GH_TOKEN not in output

        second = _push_violation(upstream)
        code, output = _github_job(_clone(upstream, tmp_path / "run2", second), url, second,
                                   summary)
        assert code == 1, output  # an enforced policy fails: the job fails, after reporting
        assert "policy BOSUN-S001: error" in output
        assert _states(forge, "acme/infra", second) == ["pending", "failure"]
        (edited,) = forge.comments[("acme/infra", 12)]
        assert edited["id"] == comment["id"] and "`BOSUN-S001`" in edited["body"]
        statuses = forge.statuses[("acme/infra", second)]
        assert statuses[-1]["description"].startswith("❌ bosun: Plan: 1 to add")
        methods = [m for m, p in forge.calls() if "/comments" in p]
        assert methods == ["GET", "POST", "GET", "PATCH"]


def test_gitlab_ci_recipe(tmp_path: Path) -> None:
    upstream, head = _upstream(tmp_path)
    with running() as (url, forge):
        work = _clone(upstream, tmp_path / "run1", head)
        code, output = _gitlab_job(work, url, head)
        assert code == 0, output
        assert (work / "plan.md").read_text().startswith("### 📝 bosun: Plan: 1 to add")
        assert _states(forge, "15", head) == ["pending", "success"]
        second = _push_violation(upstream)
        code, output = _gitlab_job(_clone(upstream, tmp_path / "run2", second), url, second)
        assert code == 1, output
        assert "policy BOSUN-S001: error" in output
        assert _states(forge, "15", second) == ["pending", "failed"]
        (note,) = forge.comments[("15", 4)]
        assert "`BOSUN-S001`" in note["body"]
        notes = [m for m, p in forge.calls() if "/notes" in p]
        assert notes == ["GET", "POST", "GET", "PUT"]
        assert GL_TOKEN not in output


def test_recipes_without_a_token_still_validate_and_plan(tmp_path: Path) -> None:
    upstream, head = _upstream(tmp_path)
    work = _clone(upstream, tmp_path / "run", head)
    env = _env({"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main", "CI_COMMIT_SHA": head,
                "CI_API_V4_URL": "http://127.0.0.1:9/api/v4", "CI_PROJECT_ID": "15",
                "CI_MERGE_REQUEST_IID": "4"})
    env.pop("BOSUN_GITLAB_TOKEN", None)
    pipeline: Any = YAML(typ="safe").load((RECIPES / "gitlab-ci.yml").read_text())
    done = _bash("\n".join(pipeline["bosun-plan"]["script"]), work, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "+ Stack/blog" in (work / "plan.md").read_text()
    assert os.path.exists(work / "plan.md")
