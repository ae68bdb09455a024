"""Command-line options that choose a source: ``--repo``/``--branch``/... or ``--path``.

Shared by ``bosun serve`` and ``bosun apply``. Credentials come from files or
the environment, never from a flag value that ``ps`` would show.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler.errors import SourceError
from reconciler.model.sensitive import Sensitive
from reconciler.source import (
    TOKEN_ENV,
    GitAuth,
    GitSource,
    GitSourceSpec,
    LocalSource,
    RefKind,
    token_from,
)

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = [
    click.option("--repo", metavar="URL|PATH",
                 help="Git repository to follow: https://..., ssh://..., git@host:path, "
                      "or a local path (bare or not)."),
    click.option("--branch", metavar="NAME", default=None,
                 help="Branch to follow [default: main]."),
    click.option("--tag", metavar="NAME", default=None, help="Follow a tag instead of a branch."),
    click.option("--commit", metavar="SHA", default=None,
                 help="Pin one commit (full 40-character sha1)."),
    click.option("--subdir", metavar="DIR", default="",
                 help="Read only this sub-folder of the repository."),
    click.option("--git-user", metavar="NAME", default=None,
                 help="User name for HTTPS (with a token) or SSH."),
    click.option("--git-token-file", type=click.Path(dir_okay=False, path_type=Path),
                 default=None, help="File holding an HTTPS token (e.g. a mounted Secret)."),
    click.option("--git-token-env", metavar="VAR", default=TOKEN_ENV, show_default=True,
                 help="Environment variable holding an HTTPS token."),
    click.option("--ssh-key", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                 default=None, help="Private key for SSH remotes."),
    click.option("--known-hosts", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                 default=None,
                 help="known_hosts file for SSH remotes [default: ~/.ssh/known_hosts]."),
    click.option("--fetch-timeout", type=click.FloatRange(min=0.1), default=60.0,
                 show_default=True, help="Seconds a fetch may take."),
]


def git_options(func: F) -> F:
    for option in reversed(_OPTIONS):
        func = option(func)
    return func


def git_source(state_dir: Path, repo: str, branch: str | None, tag: str | None,
               commit: str | None, subdir: str, git_user: str | None,
               git_token_file: Path | None, git_token_env: str, ssh_key: Path | None,
               known_hosts: Path | None, fetch_timeout: float) -> GitSource:
    chosen = [(k, v) for k, v in (("branch", branch), ("tag", tag), ("commit", commit)) if v]
    if len(chosen) > 1:
        raise SourceError("give only one of --branch, --tag and --commit")
    kind_name, ref = chosen[0] if chosen else ("branch", "main")
    passphrase = os.environ.get("BOSUN_SSH_PASSPHRASE")
    auth = GitAuth(
        username=git_user,
        token=token_from(git_token_env, git_token_file),
        ssh_key=ssh_key,
        ssh_passphrase=Sensitive(passphrase) if passphrase else None,
        known_hosts=known_hosts,
    )
    spec = GitSourceSpec(url=repo, ref=ref, ref_kind=RefKind(kind_name), subdir=subdir,
                         timeout=fetch_timeout, auth=auth)
    return GitSource(spec, state_dir / "source")


def local_source(path: Path) -> LocalSource:
    return LocalSource(path)
