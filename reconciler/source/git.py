"""Stage *source* for Git: fetch a remote into a cache, export a revision to read.

**source** -> load -> validate -> ...

``GitSource.fetch`` brings the cache (a bare repository under the state
folder) up to date with the remote and resolves the branch, tag or commit to a
``Revision`` (``main@sha1:<sha>``). ``GitSource.checkout`` exports that
revision's tree into a folder of its own and returns the sub-folder the load
stage reads. The remote URL lives only in memory (an anonymous remote):
nothing with a credential is written to the cache's config.

libgit2 facts this relies on: the credentials callback is called again after
a refused attempt (so it counts and gives up); with libssh2 it checks the host
key against ``<home>/.ssh/known_hosts`` and passes the verdict to the
certificate callback; its connect and read timeouts are process-wide options.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pygit2
from pygit2.enums import CredentialType

from reconciler.errors import SourceError
from reconciler.model.source import Revision
from reconciler.source.export import export_tree
from reconciler.source.spec import (
    TOKEN_ENV,
    GitSourceSpec,
    RefKind,
    Transport,
    display_url,
    scrub,
    split_credentials,
)

KEEP_TREES = 3
MAX_AUTH_ATTEMPTS = 2
# libgit2's home folder (where libssh2's known_hosts is read) is process-wide.
_LIBGIT2_OPTIONS = threading.Lock()
_PROCESS_LOCKS: dict[Path, threading.Lock] = {}
_PROCESS_LOCKS_GUARD = threading.Lock()


class _Callbacks(pygit2.RemoteCallbacks):
    """Credentials, host-key checks and the fetch deadline for one fetch."""

    def __init__(self, spec: GitSourceSpec, username: str | None,
                 token: Any, deadline: float) -> None:
        super().__init__()
        self._spec = spec
        self._username = username
        self._token = token
        self._deadline = deadline
        self.attempts = 0
        self.refused_host: str | None = None

    def _check_deadline(self) -> None:
        if time.monotonic() > self._deadline:
            raise SourceError(
                f"fetching {self._spec.display_url} took longer than {self._spec.timeout:g}s"
            )

    def credentials(self, url: str, username_from_url: str | None,
                    allowed_types: CredentialType) -> Any:
        self._check_deadline()
        self.attempts += 1
        if self.attempts > MAX_AUTH_ATTEMPTS:
            raise SourceError(f"authentication failed for {self._spec.display_url}")
        auth = self._spec.auth
        user = username_from_url or self._username or auth.username
        if allowed_types & CredentialType.SSH_KEY and auth.ssh_key is not None:
            public = auth.ssh_public_key or auth.ssh_key.with_name(auth.ssh_key.name + ".pub")
            passphrase = auth.ssh_passphrase.reveal() if auth.ssh_passphrase else ""
            return pygit2.Keypair(user or "git", str(public) if public.exists() else None,
                                  str(auth.ssh_key), passphrase)
        if allowed_types & CredentialType.USERNAME:
            return pygit2.Username(user or "git")
        if allowed_types & CredentialType.USERPASS_PLAINTEXT and self._token is not None:
            return pygit2.UserPass(user or "x-access-token", self._token.reveal())
        what = ("an SSH key (--ssh-key)" if self._spec.transport is Transport.SSH
                else f"a token (--git-token-file or ${TOKEN_ENV})")
        raise SourceError(f"{self._spec.display_url} asks for credentials: give bosun {what}")

    def certificate_check(self, certificate: None, valid: bool, host: bytes) -> bool:
        if not valid:
            self.refused_host = host.decode("utf-8", "replace")
        return bool(valid)

    def transfer_progress(self, stats: Any) -> None:
        self._check_deadline()

    def sideband_progress(self, string: str) -> None:
        self._check_deadline()


def _process_lock(path: Path) -> threading.Lock:
    with _PROCESS_LOCKS_GUARD:
        return _PROCESS_LOCKS.setdefault(path, threading.Lock())


class GitSource:
    """A Git remote followed through a cache folder under the state folder."""

    def __init__(self, spec: GitSourceSpec, cache_root: Path) -> None:
        url, user, token = split_credentials(spec.url)
        if spec.transport is Transport.LOCAL:
            url = str(Path(url.removeprefix("file://")).expanduser().resolve())
        self.spec = spec
        self._url = url
        self._username = user or spec.auth.username
        self._token = spec.auth.token or token
        key = hashlib.sha256(f"{display_url(url)}\0{spec.ref_kind}\0{spec.ref}".encode())
        self.cache_dir = cache_root / key.hexdigest()[:16]

    # -- naming ---------------------------------------------------------------

    @property
    def display_url(self) -> str:
        return display_url(self.spec.url)

    def describe(self) -> str:
        return self.spec.describe()

    def _scrub(self, text: str) -> str:
        return scrub(text, self._token, self.spec.auth.ssh_passphrase)

    # -- the cache ------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One fetch or export at a time per cache, across threads and processes."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with _process_lock(self.cache_dir), (self.cache_dir / "lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _repo(self) -> pygit2.Repository:
        path = self.cache_dir / "repo.git"
        if path.exists():
            try:
                return pygit2.Repository(str(path))
            except pygit2.GitError:
                # A damaged cache is only a cache: start again from the remote.
                shutil.rmtree(path, ignore_errors=True)
        return pygit2.init_repository(str(path), bare=True)

    # -- fetch ----------------------------------------------------------------

    def _refspecs(self) -> list[str]:
        ref = self.spec.ref
        if self.spec.ref_kind is RefKind.BRANCH:
            return [f"+refs/heads/{ref}:refs/bosun/fetched"]
        if self.spec.ref_kind is RefKind.TAG:
            return [f"+refs/tags/{ref}:refs/bosun/fetched"]
        return ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"]

    def _network(self) -> contextlib.AbstractContextManager[None]:
        known = self.spec.auth.known_hosts
        if self.spec.transport is not Transport.SSH or known is None:
            return contextlib.nullcontext()
        return self._ssh_home(known)

    @contextlib.contextmanager
    def _ssh_home(self, known_hosts: Path) -> Iterator[None]:
        home = self.cache_dir / "ssh-home"
        (home / ".ssh").mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(known_hosts, home / ".ssh" / "known_hosts")
        except OSError as exc:
            raise SourceError(f"cannot read known hosts file {known_hosts}: "
                              f"{exc.strerror}") from None
        with _LIBGIT2_OPTIONS:
            previous = pygit2.settings.homedir
            pygit2.settings.homedir = str(home)
            try:
                yield
            finally:
                pygit2.settings.homedir = previous or ""

    def _explain(self, exc: BaseException, callbacks: _Callbacks) -> str:
        if isinstance(exc, SourceError):
            return self._scrub(str(exc))
        text = str(exc).strip() or type(exc).__name__
        if callbacks.refused_host:
            text = (f"host key of {callbacks.refused_host} is not in the known hosts file "
                    f"({text})")
        elif "401" in text or "authentication" in text.lower():
            text = f"authentication failed ({text})"
        return self._scrub(f"cannot fetch {self.display_url}: {text}")

    def fetch(self) -> Revision:
        """Bring the cache up to date and resolve the followed ref to a revision.

        Raises ``SourceError`` (credentials scrubbed) when the remote cannot be
        read, the ref does not exist, or the fetch takes longer than the timeout.
        """
        timeout_ms = max(1, int(self.spec.timeout * 1000))
        pygit2.settings.server_connect_timeout = timeout_ms
        pygit2.settings.server_timeout = timeout_ms
        with self._locked():
            repo = self._repo()
            with contextlib.suppress(KeyError):
                repo.references.delete("refs/bosun/fetched")
            callbacks = _Callbacks(self.spec, self._username, self._token,
                                   time.monotonic() + self.spec.timeout)
            try:
                with self._network():
                    remote = repo.remotes.create_anonymous(self._url)
                    remote.fetch(self._refspecs(), callbacks=callbacks)
            except (pygit2.GitError, SourceError, OSError, ValueError, KeyError) as exc:
                raise SourceError(self._explain(exc, callbacks)) from None
            commit = self._resolve(repo, remote, callbacks)
            return Revision(
                ref=self.spec.ref if self.spec.ref_kind is not RefKind.COMMIT else "commit",
                sha=str(commit.id),
                tree=str(commit.tree_id),
                message=(commit.message or "").strip().splitlines()[0][:200]
                if commit.message else None,
            )

    def fetch_refs(self, refspecs: Sequence[str]) -> Path:
        """Fetch more refs into the cache (a pull request's head and base).

        Returns the cache repository (bare) for reading revisions with pygit2;
        raises ``SourceError`` (credentials scrubbed) like ``fetch``.
        """
        timeout_ms = max(1, int(self.spec.timeout * 1000))
        pygit2.settings.server_connect_timeout = timeout_ms
        pygit2.settings.server_timeout = timeout_ms
        with self._locked():
            repo = self._repo()
            callbacks = _Callbacks(self.spec, self._username, self._token,
                                   time.monotonic() + self.spec.timeout)
            try:
                with self._network():
                    remote = repo.remotes.create_anonymous(self._url)
                    remote.fetch(list(refspecs), callbacks=callbacks)
            except (pygit2.GitError, SourceError, OSError, ValueError, KeyError) as exc:
                raise SourceError(self._explain(exc, callbacks)) from None
        return self.cache_dir / "repo.git"

    def _resolve(self, repo: pygit2.Repository, remote: Any,
                 callbacks: _Callbacks) -> pygit2.Commit:
        kind, ref = self.spec.ref_kind, self.spec.ref
        if kind is not RefKind.COMMIT:
            try:
                target = repo.references["refs/bosun/fetched"].peel(pygit2.Commit)
            except (KeyError, pygit2.GitError, ValueError):
                raise SourceError(
                    f"{kind.value} {ref!r} does not exist on {self.display_url}"
                ) from None
            # Keep a durable ref so that the next fetch negotiates from it.
            name = f"refs/remotes/origin/{ref}" if kind is RefKind.BRANCH else f"refs/tags/{ref}"
            repo.references.create(name, target.id, force=True)
            return target
        obj = repo.get(ref)
        if obj is None:
            try:
                with self._network():
                    remote.fetch([f"+{ref}:refs/bosun/commit"], callbacks=callbacks)
            except (pygit2.GitError, OSError, ValueError) as exc:
                raise SourceError(
                    f"commit {ref} does not exist on {self.display_url} "
                    f"({self._scrub(str(exc))})"
                ) from None
            obj = repo.get(ref)
        if obj is None:
            raise SourceError(f"commit {ref} does not exist on {self.display_url}")
        try:
            return obj.peel(pygit2.Commit)
        except (pygit2.GitError, ValueError):
            raise SourceError(f"{ref} is not a commit") from None

    # -- checkout -------------------------------------------------------------

    def checkout(self, revision: Revision) -> Path:
        """The folder to load for ``revision``: an export of its tree (plus sub-folder)."""
        if revision.sha is None:
            raise SourceError("a Git source needs a revision with a commit id")
        trees = self.cache_dir / "trees"
        dest = trees / revision.sha
        with self._locked():
            if not dest.is_dir():
                repo = self._repo()
                obj = repo.get(revision.sha)
                if obj is None:
                    raise SourceError(f"{revision} is not in the cache; fetch it first")
                trees.mkdir(parents=True, exist_ok=True)
                export_tree(repo, obj.peel(pygit2.Commit), dest)
            dest.touch()
            self._prune(trees, keep=revision.sha)
        root = dest / self.spec.subdir if self.spec.subdir else dest
        if not root.is_dir():
            raise SourceError(f"sub-folder {self.spec.subdir!r} does not exist in {revision}")
        return root

    @staticmethod
    def _prune(trees: Path, keep: str) -> None:
        exports = sorted(
            (p for p in trees.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime, reverse=True,
        )
        for old in exports[KEEP_TREES:]:
            if old.name != keep:
                shutil.rmtree(old, ignore_errors=True)
        for tmp in trees.glob(".tmp-*"):
            if time.time() - tmp.stat().st_mtime > 3600:
                shutil.rmtree(tmp, ignore_errors=True)

    # -- other refs of the same remote (the status branch) -----------------------

    def fetch_ref(self, repo: pygit2.Repository, remote_ref: str, local_ref: str) -> str | None:
        """Fetch ``remote_ref`` of this source's remote into ``local_ref`` of ``repo``.

        The commit id it points at, or None when the remote has no such ref.
        Raises ``SourceError`` (scrubbed) when the remote cannot be read.
        """
        with contextlib.suppress(KeyError):
            repo.references.delete(local_ref)
        callbacks = _Callbacks(self.spec, self._username, self._token,
                               time.monotonic() + self.spec.timeout)
        try:
            with self._network():
                remote = repo.remotes.create_anonymous(self._url)
                remote.fetch([f"+{remote_ref}:{local_ref}"], callbacks=callbacks)
        except (pygit2.GitError, SourceError, OSError, ValueError, KeyError) as exc:
            raise SourceError(self._explain(exc, callbacks)) from None
        try:
            return str(repo.references[local_ref].target)
        except KeyError:
            return None

    def push_ref(self, repo: pygit2.Repository, sha: str, remote_ref: str) -> str | None:
        """Push commit ``sha`` of ``repo`` to ``remote_ref``, never forced.

        None when the remote took it; otherwise the remote's reason (above all
        a non-fast-forward: someone pushed first; fetch, rebuild, try again).
        Raises ``SourceError`` (scrubbed) for anything else.
        """
        callbacks = _PushCallbacks(self.spec, self._username, self._token,
                                   time.monotonic() + self.spec.timeout)
        try:
            with self._network():
                remote = repo.remotes.create_anonymous(self._url)
                remote.push([f"{sha}:{remote_ref}"], callbacks=callbacks)
        except pygit2.GitError as exc:
            # libgit2's local transport raises where a server would answer "rejected".
            text = str(exc)
            if any(k in text.lower() for k in ("fast", "reject", "not present locally")):
                return self._scrub(text)
            raise SourceError(self._explain(exc, callbacks)) from None
        except (SourceError, OSError, ValueError, KeyError) as exc:
            raise SourceError(self._explain(exc, callbacks)) from None
        return callbacks.rejected.get(remote_ref)


class _PushCallbacks(_Callbacks):
    """Credentials as for a fetch, plus what the remote said about each ref."""

    def __init__(self, spec: GitSourceSpec, username: str | None, token: Any,
                 deadline: float) -> None:
        super().__init__(spec, username, token, deadline)
        self.rejected: dict[str, str] = {}

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message is not None:
            self.rejected[refname] = message
