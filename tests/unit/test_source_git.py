"""The Git source against real repositories on disk and real Git servers on loopback."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from reconciler.errors import SourceError
from reconciler.model.sensitive import Sensitive
from reconciler.source import GitAuth, GitSource, GitSourceSpec, RefKind, display_url
from tests.gitrepo import Repo, git
from tests.gitserver import SilentServer, SmartHTTPServer, SSHServer


def _source(url: str, tmp: Path, **kw: object) -> GitSource:
    return GitSource(GitSourceSpec(url=url, **kw), tmp / "cache")  # type: ignore[arg-type]


def test_fetch_and_export_a_bare_remote(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.write({"bin/run.sh": "#!/bin/sh\n"})
    (repo.work / "bin/run.sh").chmod(0o755)
    (repo.work / "inside").symlink_to("bin/run.sh")
    (repo.work / "outside").symlink_to("/etc/passwd")
    sha = repo.commit({"stack.yaml": "a: 1\n"}, "first commit\n\nbody")
    source = _source(str(repo.remote), tmp_path)
    rev = source.fetch()
    assert rev.sha == sha
    assert str(rev) == f"main@sha1:{sha}"
    assert rev.message == "first commit"
    root = source.checkout(rev)
    assert (root / "stack.yaml").read_text() == "a: 1\n"
    assert not (root / ".git").exists()
    assert os.access(root / "bin/run.sh", os.X_OK)
    assert (root / "inside").is_symlink()
    assert not (root / "outside").exists() and not (root / "outside").is_symlink()

    sha2 = repo.commit({"stack.yaml": None, "other.yaml": "b: 2\n"}, "second")
    rev2 = source.fetch()
    assert rev2.sha == sha2
    root2 = source.checkout(rev2)
    assert not (root2 / "stack.yaml").exists()
    assert (root2 / "other.yaml").exists()
    assert (root / "stack.yaml").exists(), "an older export stays intact"


def test_non_bare_local_path_relative_url_and_file_scheme(tmp_path: Path, monkeypatch:
                                                          pytest.MonkeyPatch) -> None:
    repo = Repo(tmp_path / "r")
    sha = repo.commit({"a.yaml": "x: 1\n"}, push=False)
    assert _source(str(repo.work), tmp_path).fetch().sha == sha
    assert _source(f"file://{repo.work}", tmp_path).fetch().sha == sha
    monkeypatch.chdir(tmp_path)
    assert _source("r/work", tmp_path).fetch().sha == sha


def test_tag_and_commit(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    first = repo.commit({"a.yaml": "v: 1\n"})
    repo.tag("v1")
    repo.commit({"a.yaml": "v: 2\n"})
    tagged = _source(str(repo.remote), tmp_path, ref="v1", ref_kind=RefKind.TAG)
    rev = tagged.fetch()
    assert rev.sha == first and str(rev) == f"v1@sha1:{first}"
    assert (tagged.checkout(rev) / "a.yaml").read_text() == "v: 1\n"
    pinned = _source(str(repo.remote), tmp_path, ref=first, ref_kind=RefKind.COMMIT)
    assert pinned.fetch().sha == first
    missing = _source(str(repo.remote), tmp_path, ref="0" * 40, ref_kind=RefKind.COMMIT)
    with pytest.raises(SourceError, match="does not exist"):
        missing.fetch()
    with pytest.raises(SourceError, match="40-character"):
        GitSourceSpec(url="x", ref="abc", ref_kind=RefKind.COMMIT)


def test_sub_folder(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit({"deploy/prod/stack.yaml": "a: 1\n", "README": "x"})
    source = _source(str(repo.remote), tmp_path, subdir="deploy/prod/")
    root = source.checkout(source.fetch())
    assert root.name == "prod" and (root / "stack.yaml").exists()
    absent = _source(str(repo.remote), tmp_path, subdir="nope")
    with pytest.raises(SourceError, match="sub-folder 'nope' does not exist"):
        absent.checkout(absent.fetch())
    with pytest.raises(SourceError, match="plain relative path"):
        GitSourceSpec(url="x", subdir="../etc")


def test_missing_branch_deleted_branch_and_missing_remote(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit({"a.yaml": "x: 1\n"})
    with pytest.raises(SourceError, match="branch 'nope' does not exist"):
        _source(str(repo.remote), tmp_path, ref="nope").fetch()
    repo.commit({"a.yaml": "x: 2\n"}, branch="feature")
    feature = _source(str(repo.remote), tmp_path, ref="feature")
    feature.fetch()
    git(repo.work, "push", "-q", "origin", ":refs/heads/feature")
    with pytest.raises(SourceError, match="branch 'feature' does not exist"):
        feature.fetch()
    source = _source(str(repo.remote), tmp_path)
    rev = source.fetch()
    repo.remote.rename(tmp_path / "gone.git")
    with pytest.raises(SourceError, match="cannot fetch"):
        source.fetch()
    assert (source.checkout(rev) / "a.yaml").exists(), "the cached revision still exports"


def test_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    sha = repo.commit({"a.yaml": "x: 1\n"})
    source = _source(str(repo.remote), tmp_path)
    source.fetch()
    cache = source.cache_dir / "repo.git"
    (cache / "HEAD").unlink()
    (cache / "objects").rename(cache / "objects.broken")
    assert source.fetch().sha == sha


def test_https_token_through_callbacks_never_shown(tmp_path: Path) -> None:
    token = "s3cr3t-t0ken-value"
    repo = Repo(tmp_path / "r")
    sha = repo.commit({"a.yaml": "x: 1\n"})
    with SmartHTTPServer(tmp_path / "r", ("deploy", token)) as server:
        url = f"{server.url}/remote.git"
        good = GitSource(
            GitSourceSpec(url=url, auth=GitAuth(username="deploy", token=Sensitive(token))),
            tmp_path / "cache",
        )
        assert good.fetch().sha == sha
        # A token written into the URL is moved out of it.
        inline = f"{server.url.replace('http://', f'http://deploy:{token}@')}/remote.git"
        in_url = GitSource(GitSourceSpec(url=inline), tmp_path / "cache2")
        assert in_url.fetch().sha == sha
        assert token not in in_url.describe() and token not in display_url(inline)
        wrong = GitSource(
            GitSourceSpec(url=inline.replace(token, "wrong-token-123"),
                          auth=GitAuth(token=Sensitive("wrong-token-123"))),
            tmp_path / "cache3",
        )
        with pytest.raises(SourceError) as err:
            wrong.fetch()
        assert "authentication failed" in str(err.value)
        assert "wrong-token-123" not in str(err.value)
        assert server.refused >= 1
        without = GitSource(GitSourceSpec(url=url), tmp_path / "cache4")
        with pytest.raises(SourceError, match="asks for credentials"):
            without.fetch()
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
    for path in (tmp_path / "cache2").rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path


def test_fetch_timeout(tmp_path: Path) -> None:
    with SilentServer() as server:
        source = GitSource(GitSourceSpec(url=server.url, timeout=1.0), tmp_path / "cache")
        started = time.monotonic()
        with pytest.raises(SourceError, match="cannot fetch"):
            source.fetch()
        assert time.monotonic() - started < 10


def test_ssh_key_and_known_hosts(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    sha = repo.commit({"a.yaml": "x: 1\n"})
    with SSHServer(tmp_path / "ssh") as sshd:
        auth = GitAuth(ssh_key=sshd.client_key, known_hosts=sshd.known_hosts)
        source = GitSource(GitSourceSpec(url=sshd.url(repo.remote), auth=auth),
                           tmp_path / "cache")
        assert source.fetch().sha == sha
        stranger = tmp_path / "other_known_hosts"
        stranger.write_text(f"[127.0.0.1]:{sshd.port} ssh-ed25519 "
                            "AAAAC3NzaC1lZDI1NTE5AAAAIHZ7l3Z2bm9uZS1rbm93cy10aGlzLWtleS0xMjM0\n")
        refused = GitSource(
            GitSourceSpec(url=sshd.url(repo.remote),
                          auth=GitAuth(ssh_key=sshd.client_key, known_hosts=stranger)),
            tmp_path / "cache2",
        )
        with pytest.raises(SourceError, match="known hosts"):
            refused.fetch()
