"""Real Git repositories for tests: a bare remote and a clone that commits and pushes.

Everything goes through the ``git`` command line, the way a user would work,
so that bosun's pygit2 code reads repositories it did not write itself.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.test",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.test",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(cwd)}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


class Repo:
    """A bare repository (the remote) and a working clone of it."""

    def __init__(self, base: Path, branch: str = "main") -> None:
        self.base = base
        self.branch = branch
        self.remote = base / "remote.git"
        self.work = base / "work"
        base.mkdir(parents=True, exist_ok=True)
        git(base, "init", "-q", "--bare", f"--initial-branch={branch}", str(self.remote))
        git(base, "init", "-q", f"--initial-branch={branch}", str(self.work))
        git(self.work, "remote", "add", "origin", str(self.remote))

    def write(self, files: Mapping[str, str | None]) -> None:
        for name, text in files.items():
            path = self.work / name
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    def commit(self, files: Mapping[str, str | None], message: str = "change",
               push: bool = True, branch: str | None = None) -> str:
        """Write ``files`` (None deletes), commit, push; the new commit's sha."""
        self.write(files)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "--allow-empty", "-m", message)
        if push:
            self.push(branch)
        return self.head()

    def push(self, branch: str | None = None) -> None:
        git(self.work, "push", "-q", "origin", f"HEAD:refs/heads/{branch or self.branch}")

    def head(self) -> str:
        return git(self.work, "rev-parse", "HEAD")

    def tag(self, name: str, annotated: bool = True) -> None:
        if annotated:
            git(self.work, "tag", "-a", name, "-m", f"tag {name}")
        else:
            git(self.work, "tag", name)
        git(self.work, "push", "-q", "origin", f"refs/tags/{name}")
