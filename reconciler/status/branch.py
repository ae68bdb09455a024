"""The status branch: status files committed with pygit2, no working copy, never forced.

Part of stage *record*. ``StatusBranch.write`` fetches the branch (default
``bosun-status``) from the source's remote into a bare repository of its own
under the state folder, builds the next tree in an in-memory index (the
remote tip's tree with this agent's ``status/<agent>/`` subtree replaced and
STATUS.md regenerated), and commits only when this agent's files changed.
The push is never forced: when another agent pushed first, the remote says
non-fast-forward and the write starts again from the new tip, so two agents
never lose each other's files. The webhook receivers ignore pushes to this
branch, so a status commit never triggers a reconcile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pygit2
from pygit2.enums import FileMode

from reconciler.errors import SourceError
from reconciler.logs import scrub
from reconciler.model.source import Revision
from reconciler.model.status import ResourceStatus
from reconciler.status.files import change_lines, file_path, status_file, status_table

log = logging.getLogger("bosun.status")

TABLE = "STATUS.md"
LOCAL_REF = "refs/bosun/status-remote"
ATTEMPTS = 6
MAX_LINES = 30


class StatusRemote(Protocol):
    """What the branch needs of the remote (``GitSource`` provides it)."""

    def fetch_ref(self, repo: pygit2.Repository, remote_ref: str,
                  local_ref: str) -> str | None: ...

    def push_ref(self, repo: pygit2.Repository, sha: str, remote_ref: str) -> str | None: ...


class StatusBranchError(SourceError):
    """The status branch could not be written (the remote refused or went away)."""


@dataclass(frozen=True)
class Written:
    """What one write did: the commit (None when nothing changed) and its message."""

    commit: str | None
    message: str = ""
    attempts: int = 1


def _blobs(repo: pygit2.Repository, tree: pygit2.Tree | None, prefix: str
           ) -> dict[str, bytes]:
    """Every file under ``prefix`` of ``tree`` (path -> content)."""
    out: dict[str, bytes] = {}
    if tree is None:
        return out
    try:
        node = tree[prefix.rstrip("/")] if prefix else tree
    except KeyError:
        return out
    if not isinstance(node, pygit2.Tree):
        obj = repo[node.id]
        if isinstance(obj, pygit2.Tree):
            node = obj
        else:
            return out

    def walk(t: pygit2.Tree, base: str) -> None:
        for entry in t:
            path = f"{base}{entry.name}"
            obj = repo[entry.id]
            if isinstance(obj, pygit2.Tree):
                walk(obj, path + "/")
            elif isinstance(obj, pygit2.Blob):
                out[path] = obj.data

    walk(node, prefix.rstrip("/") + "/" if prefix else "")
    return out


class StatusBranch:
    """One agent's view of the status branch on one remote."""

    def __init__(self, repo_dir: Path, remote: StatusRemote, branch: str = "bosun-status",
                 agent: str = "bosun") -> None:
        self.repo_dir = repo_dir
        self.remote = remote
        self.branch = branch
        self.agent = agent

    @property
    def remote_ref(self) -> str:
        return f"refs/heads/{self.branch}"

    def _repo(self) -> pygit2.Repository:
        if (self.repo_dir / "HEAD").exists():
            return pygit2.Repository(str(self.repo_dir))
        self.repo_dir.mkdir(parents=True, exist_ok=True)
        return pygit2.init_repository(str(self.repo_dir), bare=True)

    def files(self, statuses: Sequence[ResourceStatus]) -> dict[str, bytes]:
        return {file_path(self.agent, s.ref.kind.value, s.ref.name):
                status_file(s, self.agent).encode() for s in statuses}

    def write(self, statuses: Sequence[ResourceStatus], revision: Revision | None) -> Written:
        """Commit and push this agent's status files, when they changed."""
        repo = self._repo()
        mine = self.files(statuses)
        prefix = f"status/{self.agent}/"
        short = revision.short if revision is not None else "-"
        for attempt in range(1, ATTEMPTS + 1):
            tip = self.remote.fetch_ref(repo, self.remote_ref, LOCAL_REF)
            parent = repo[tip].peel(pygit2.Commit) if tip else None
            base = parent.tree if parent is not None else None
            before = _blobs(repo, base, prefix)
            if before == mine and parent is not None:
                return Written(None, attempts=attempt)
            message = self._message(before, mine, short, revision)
            commit = self._commit(repo, base, parent, mine, prefix, message)
            refused = self.remote.push_ref(repo, commit, self.remote_ref)
            if refused is None:
                log.info("status branch %s: %s", self.branch, message.splitlines()[0])
                return Written(commit, message, attempt)
            log.info("status branch %s moved while writing (%s); again from the new tip",
                     self.branch, refused)
            time.sleep(min(2.0, 0.05 * 2 ** attempt))
        raise StatusBranchError(f"could not push the status branch {self.branch!r}: it kept "
                                f"moving ({ATTEMPTS} attempts)")

    def _message(self, before: Mapping[str, bytes], after: Mapping[str, bytes], short: str,
                 revision: Revision | None) -> str:
        lines = change_lines(before, after, short) or [f"status at {short}"]
        subject = lines[0] if len(lines) == 1 else \
            f"{len(lines)} resources changed at {short} ({self.agent})"
        body = lines if len(lines) > 1 else []
        if len(body) > MAX_LINES:
            body = [*body[:MAX_LINES], f"... and {len(body) - MAX_LINES} more"]
        trailer = [f"Bosun-Agent: {self.agent}"]
        if revision is not None:
            trailer.append(f"Bosun-Revision: {revision}")
        text = "\n".join([subject, "", *body, *([""] if body else []), *trailer]) + "\n"
        return scrub(text)

    def _commit(self, repo: pygit2.Repository, base: pygit2.Tree | None,
                parent: pygit2.Commit | None, mine: Mapping[str, bytes], prefix: str,
                message: str) -> str:
        index = pygit2.Index()
        if base is not None:
            index.read_tree(base)
        for entry in list(index):
            if entry.path.startswith(prefix) or entry.path == TABLE:
                index.remove(entry.path)
        for path, data in sorted(mine.items()):
            index.add(pygit2.IndexEntry(path, repo.create_blob(data), FileMode.BLOB))
        everyone: dict[str, bytes] = {}
        for entry in index:
            blob = repo[entry.id]
            if (entry.path.startswith("status/") and entry.path.endswith(".yaml")
                    and isinstance(blob, pygit2.Blob)):
                everyone[entry.path] = blob.data
        table = status_table(everyone).encode()
        index.add(pygit2.IndexEntry(TABLE, repo.create_blob(table), FileMode.BLOB))
        tree = index.write_tree(repo)
        who = pygit2.Signature("bosun", f"bosun@{self.agent}")
        parents = [parent.id] if parent is not None else []
        return str(repo.create_commit(None, who, who, message, tree, parents))
