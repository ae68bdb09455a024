"""The status branch against real bare repositories: files, messages, two agents, races."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pygit2

from reconciler import logs
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.sensitive import Sensitive
from reconciler.model.source import Revision
from reconciler.model.status import Health, HealthState, ResourceStatus, Sync
from reconciler.source import GitSource, GitSourceSpec
from reconciler.status import StatusBranch
from reconciler.status.files import read_status_file
from tests.gitrepo import git

SHA = "1a2b3c4d" + "0" * 32


def remote(tmp: Path) -> Path:
    path = tmp / "remote.git"
    git(tmp, "init", "-q", "--bare", "--initial-branch=main", str(path))
    return path


def status(name: str, health: HealthState = HealthState.HEALTHY, kind: Kind = Kind.STACK,
           message: str = "") -> ResourceStatus:
    return ResourceStatus(ref=ResourceRef(kind=kind, name=name), sync=Sync.SYNCED,
                          health=Health(state=health, message=message),
                          last_applied_revision=f"main@sha1:{SHA}")


def branch(tmp: Path, url: Path, agent: str) -> StatusBranch:
    source = GitSource(GitSourceSpec(url=str(url), timeout=10), tmp / f"cache-{agent}")
    return StatusBranch(tmp / f"status-{agent}", source, "bosun-status", agent)


def tree_files(url: Path) -> dict[str, bytes]:
    repo = pygit2.Repository(str(url))
    tip = repo.references["refs/heads/bosun-status"].peel(pygit2.Commit)
    out: dict[str, bytes] = {}

    def walk(tree: pygit2.Tree, base: str) -> None:
        for entry in tree:
            obj = repo[entry.id]
            if isinstance(obj, pygit2.Tree):
                walk(obj, f"{base}{entry.name}/")
            else:
                assert isinstance(obj, pygit2.Blob)
                out[f"{base}{entry.name}"] = obj.data

    walk(tip.tree, "")
    return out


def commits(url: Path) -> list[pygit2.Commit]:
    repo = pygit2.Repository(str(url))
    tip = repo.references["refs/heads/bosun-status"].target
    return list(repo.walk(tip))


REV = Revision(ref="main", sha=SHA)


def test_files_commit_only_on_change_and_messages_say_what(tmp_path: Path) -> None:
    url = remote(tmp_path)
    a = branch(tmp_path, url, "alpha")
    first = a.write([status("blog"), status("blog", kind=Kind.ROUTE)], REV)
    assert first.commit is not None
    files = tree_files(url)
    assert sorted(files) == ["STATUS.md", "status/alpha/Route/blog.yaml",
                             "status/alpha/Stack/blog.yaml"]
    body = read_status_file(files["status/alpha/Stack/blog.yaml"])
    assert body["sync"] == "Synced" and body["health"] == "Healthy"
    assert "| alpha | Stack/blog | Synced | Healthy |" in files["STATUS.md"].decode()

    again = a.write([status("blog"), status("blog", kind=Kind.ROUTE)], REV)
    assert again.commit is None
    assert len(commits(url)) == 1

    worse = a.write([status("blog", HealthState.DEGRADED, message="web: exited with code 1"),
                     status("blog", kind=Kind.ROUTE)], REV)
    assert worse.commit is not None
    assert commits(url)[0].message.splitlines()[0] == "blog: Healthy -> Degraded at 1a2b3c4"
    assert len(commits(url)) == 2

    gone = a.write([status("blog", HealthState.DEGRADED, message="web: exited with code 1")],
                   REV)
    assert gone.commit is not None
    assert commits(url)[0].message.splitlines()[0] == "Route/blog: removed at 1a2b3c4"
    assert "status/alpha/Route/blog.yaml" not in tree_files(url)


def test_two_agents_keep_each_others_files(tmp_path: Path) -> None:
    url = remote(tmp_path)
    a = branch(tmp_path, url, "alpha")
    b = branch(tmp_path, url, "beta")
    a.write([status("one"), status("two")], REV)
    b.write([status("three")], REV)
    a.write([status("one", HealthState.MISSING), status("two")], REV)
    files = tree_files(url)
    assert {p for p in files if p.endswith(".yaml")} == {
        "status/alpha/Stack/one.yaml", "status/alpha/Stack/two.yaml",
        "status/beta/Stack/three.yaml"}
    table = files["STATUS.md"].decode()
    assert "| beta | Stack/three |" in table and "| alpha | Stack/one | Synced | Missing |" in table


class Racing:
    """A StatusRemote that lets another agent push between our fetch and our push."""

    def __init__(self, inner: GitSource, other: StatusBranch) -> None:
        self.inner = inner
        self.other = other
        self.raced = 0
        self.refused = 0

    def fetch_ref(self, repo: pygit2.Repository, remote_ref: str, local_ref: str) -> str | None:
        return self.inner.fetch_ref(repo, remote_ref, local_ref)

    def push_ref(self, repo: pygit2.Repository, sha: str, remote_ref: str) -> str | None:
        if self.raced < 2:
            self.raced += 1
            self.other.write([status(f"b{self.raced}")], REV)
        answer = self.inner.push_ref(repo, sha, remote_ref)
        if answer is not None:
            self.refused += 1
        return answer


def test_a_push_that_loses_the_race_is_rebuilt_on_the_new_tip(tmp_path: Path) -> None:
    url = remote(tmp_path)
    b = branch(tmp_path, url, "beta")
    b.write([status("b0")], REV)
    source = GitSource(GitSourceSpec(url=str(url), timeout=10), tmp_path / "cache-alpha")
    racing = Racing(source, b)
    a = StatusBranch(tmp_path / "status-alpha", racing, "bosun-status", "alpha")
    written = a.write([status("a1")], REV)
    assert written.commit is not None and written.attempts == 3
    assert racing.refused == 2
    files = tree_files(url)
    assert "status/alpha/Stack/a1.yaml" in files
    assert "status/beta/Stack/b2.yaml" in files
    history = commits(url)
    assert len(history) == 4  # b0, b1, b2, a1: nothing was overwritten
    # Every commit has exactly one parent after the first: a straight line.
    assert all(len(c.parents) == 1 for c in history[:-1])


def test_concurrent_agents_on_threads(tmp_path: Path) -> None:
    url = remote(tmp_path)
    agents = [branch(tmp_path, url, f"agent-{n}") for n in range(4)]
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            for round_ in range(3):
                agents[n].write([status(f"s{round_}", HealthState.HEALTHY if round_ % 2
                                        else HealthState.PROGRESSING)], REV)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    files = tree_files(url)
    for n in range(4):
        assert f"status/agent-{n}/Stack/s2.yaml" in files


def test_secret_values_never_reach_the_branch(tmp_path: Path) -> None:
    value = f"hunter2-{datetime.now(UTC).timestamp()}"
    logs.register(Sensitive(value))
    url = remote(tmp_path)
    a = branch(tmp_path, url, "alpha")
    a.write([status("blog", HealthState.DEGRADED, message=f"login failed with {value}")], REV)
    for data in tree_files(url).values():
        assert value.encode() not in data
    for commit in commits(url):
        assert value not in commit.message
