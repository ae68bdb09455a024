"""Write one commit's tree into a plain folder: what the load stage reads.

Part of stage *source*. A clean export: files, executable bits and symbolic
links of the tree, nothing of a working copy (no ``.git``, no index, no stray
files from an earlier revision). Exports are written beside their final name
and renamed into place, so a reader never sees half a tree.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from pathlib import Path

import pygit2

from reconciler.errors import SourceError

_MODE_TREE = 0o040000
_MODE_LINK = 0o120000
_MODE_COMMIT = 0o160000  # a submodule: not followed
_MODE_EXEC = 0o100755


def _safe_name(name: str) -> bool:
    return name not in ("", ".", "..") and "/" not in name and name.lower() != ".git"


def _link_stays_inside(rel_dir: str, target: str) -> bool:
    if target.startswith("/"):
        return False
    joined = posixpath.normpath(posixpath.join(rel_dir, target))
    return joined != ".." and not joined.startswith("../")


def _write_tree(repo: pygit2.Repository, tree: pygit2.Tree, dest: Path, rel: str,
                skipped: list[str]) -> None:
    for entry in tree:
        name = entry.name or ""
        path = f"{rel}/{name}" if rel else name
        if not _safe_name(name):
            skipped.append(path)
            continue
        target = dest / name
        mode = entry.filemode
        if mode == _MODE_TREE:
            target.mkdir()
            sub = repo[entry.id]
            assert isinstance(sub, pygit2.Tree)
            _write_tree(repo, sub, target, path, skipped)
        elif mode == _MODE_COMMIT:
            target.mkdir()
        elif mode == _MODE_LINK:
            blob = repo[entry.id]
            assert isinstance(blob, pygit2.Blob)
            link = blob.data.decode("utf-8", "surrogateescape")
            if _link_stays_inside(rel, link):
                target.symlink_to(link)
            else:
                skipped.append(path)  # would let a manifest read outside the repository
        else:
            blob = repo[entry.id]
            assert isinstance(blob, pygit2.Blob)
            target.write_bytes(blob.data)
            target.chmod(0o755 if mode == _MODE_EXEC else 0o644)


def export_tree(repo: pygit2.Repository, commit: pygit2.Commit, dest: Path) -> list[str]:
    """Export ``commit``'s tree to ``dest`` (which must not exist yet).

    Returns the paths that were left out: names Git should never hold
    (``..``, ``.git``) and symbolic links that point outside the tree.
    """
    tmp = dest.with_name(f".tmp-{dest.name}-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    skipped: list[str] = []
    try:
        _write_tree(repo, commit.tree, tmp, "", skipped)
        tmp.rename(dest)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SourceError(f"cannot export revision {commit.id}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return skipped
