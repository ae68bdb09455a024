"""Read a repository at a Git revision without touching its working copy.

Not a stage: ``bosun plan --base/--head`` and pull-request plans use it to get
the files of a commit as a folder the load stage can read. The tree is
exported from the object database with pygit2 into a temporary folder (files,
executable bits and symlinks as committed; submodules are left empty), so the
working copy, its index and its checked-out branch stay as they are.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import pygit2

from reconciler.errors import SourceError
from reconciler.model.source import Revision

_LINK = 0o120000
_EXEC = 0o100755


def open_repository(path: Path, subdir: str | None = None
                    ) -> tuple[pygit2.Repository, PurePosixPath]:
    """The repository holding ``path`` and the folder to read inside its trees.

    That folder is ``subdir`` when given (needed for bare repositories, such
    as a source cache), else ``path`` relative to the working copy.
    """
    found = pygit2.discover_repository(str(path.resolve()))
    if found is None:
        raise SourceError(f"{path} is not inside a Git repository")
    repo = pygit2.Repository(found)
    if subdir is not None:
        return repo, PurePosixPath(subdir.strip("/") or ".")
    if repo.workdir is None:
        return repo, PurePosixPath()
    rel = Path(os.path.realpath(path)).relative_to(os.path.realpath(repo.workdir))
    return repo, PurePosixPath(rel.as_posix())


def resolve(repo: pygit2.Repository, rev: str) -> tuple[pygit2.Commit, Revision]:
    """The commit ``rev`` names (a branch, tag, sha or expression such as HEAD~1)."""
    try:
        commit = repo.revparse_single(rev).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError) as exc:
        raise SourceError(f"unknown revision {rev!r}: {exc}") from None
    message = commit.message.strip().splitlines()[0] if commit.message.strip() else None
    revision = Revision(ref=rev, sha=str(commit.id), tree=str(commit.tree.id), message=message)
    return commit, revision


def _export(repo: pygit2.Repository, tree: pygit2.Tree, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for entry in tree:
        name = entry.name
        if name is None or name in (".", "..") or "/" in name:
            continue  # never write outside dest, whatever the tree says
        target = dest / name
        if isinstance(entry, pygit2.Tree):
            _export(repo, entry, target)
        elif isinstance(entry, pygit2.Blob):
            if entry.filemode == _LINK:
                target.symlink_to(entry.data.decode("utf-8", "surrogateescape"))
                continue
            target.write_bytes(entry.data)
            if entry.filemode == _EXEC:
                target.chmod(0o755)
        else:  # a submodule: a commit of another repository
            target.mkdir(exist_ok=True)


def merged_tree(repo: pygit2.Repository, base: pygit2.Commit,
                head: pygit2.Commit) -> pygit2.Tree:
    """The tree merging ``head`` into ``base`` gives (what a pull request's merge ref holds).

    ``head``'s own tree when it already contains ``base``; a three-way merge
    in memory otherwise. ``SourceError`` when the merge has conflicts.
    """
    if base.id == head.id or repo.descendant_of(head.id, base.id):
        return head.tree
    index = repo.merge_commits(base, head)
    if index.conflicts is not None:
        paths = sorted({(e[1] or e[2] or e[0]).path for e in index.conflicts if any(e)})
        raise SourceError(
            f"{str(head.id)[:12]} does not merge cleanly into {str(base.id)[:12]}: "
            f"conflicts in {', '.join(paths[:10])}"
        )
    tree = repo[index.write_tree(repo)]
    assert isinstance(tree, pygit2.Tree)
    return tree


def export_tree(repo: pygit2.Repository, tree: pygit2.Tree, sub: PurePosixPath,
                dest: Path, what: str = "the tree") -> Path:
    """Write ``sub`` of ``tree`` into ``dest``; returns the folder of ``sub``."""
    if str(sub) not in ("", "."):
        try:
            obj = tree[str(sub)]
        except KeyError:
            raise SourceError(f"{sub} does not exist in {what}") from None
        if not isinstance(obj, pygit2.Tree):
            raise SourceError(f"{sub} is not a folder in {what}")
        tree = obj
    _export(repo, tree, dest)
    return dest


@contextmanager
def checkout(path: Path, rev: str, subdir: str | None = None
             ) -> Iterator[tuple[Path, Revision]]:
    """The folder ``path`` as of ``rev``, exported to a temporary folder, and its revision.

    ``path`` may be the working copy, a folder inside it, or a bare repository
    with ``subdir``; the temporary folder is removed on exit.
    """
    repo, sub = open_repository(path, subdir)
    commit, revision = resolve(repo, rev)
    tmp = Path(tempfile.mkdtemp(prefix=f"bosun-{revision.short}-"))
    try:
        yield export_tree(repo, commit.tree, sub, tmp / "tree", rev), revision
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def checkout_merge(path: Path, base: str, head: str, subdir: str | None = None
                   ) -> Iterator[tuple[Path, Revision]]:
    """The folder ``path`` as merging ``head`` into ``base`` would leave it.

    The revision is the head's, with ``tree`` set to the merged tree (equal to
    the head's tree when the head already contains the base).
    """
    repo, sub = open_repository(path, subdir)
    base_commit, _ = resolve(repo, base)
    head_commit, revision = resolve(repo, head)
    tree = merged_tree(repo, base_commit, head_commit)
    revision = revision.model_copy(update={"tree": str(tree.id)})
    tmp = Path(tempfile.mkdtemp(prefix=f"bosun-{revision.short}-merge-"))
    try:
        yield export_tree(repo, tree, sub, tmp / "tree", f"{head} merged into {base}"), revision
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
