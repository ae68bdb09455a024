"""What to read from Git, and how to authenticate, without ever showing a credential.

Part of stage *source*. ``GitSourceSpec`` names a remote (HTTPS, SSH, a local
path or a bare repository), a branch, tag or commit, and a sub-folder.
Credentials travel in ``GitAuth`` as ``Sensitive`` values and reach libgit2
only through its credentials callback: never in a URL, a log line or an error.
``display_url`` and ``scrub`` are what every message about a remote goes through.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from reconciler import logs
from reconciler.errors import SourceError
from reconciler.model.sensitive import REDACTED, Sensitive

TOKEN_ENV = "BOSUN_GIT_TOKEN"
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/\s]+)@)?(?P<host>[^:/\s]+):(?!//)(?P<path>.+)$")
_SHA = re.compile(r"^[0-9a-f]{40}$")


class RefKind(StrEnum):
    BRANCH = "branch"
    TAG = "tag"
    COMMIT = "commit"


class Transport(StrEnum):
    HTTP = "http"
    SSH = "ssh"
    LOCAL = "local"


@dataclass(frozen=True)
class GitAuth:
    """Credentials for a remote. Every secret is ``Sensitive``.

    HTTPS: ``token`` is sent as the password of ``username`` (GitHub accepts
    any user name with a token, GitLab wants ``oauth2``). SSH: ``ssh_key`` (a
    private key file, its ``.pub`` beside it or ``ssh_public_key``), checked
    against ``known_hosts`` (a file in OpenSSH format); an unknown host key is
    refused.
    """

    username: str | None = None
    token: Sensitive | None = None
    ssh_key: Path | None = None
    ssh_public_key: Path | None = None
    ssh_passphrase: Sensitive | None = None
    known_hosts: Path | None = None

    def secrets(self) -> list[Sensitive]:
        return [s for s in (self.token, self.ssh_passphrase) if s is not None]


@dataclass(frozen=True)
class GitSourceSpec:
    """One repository to follow: where, which revision, which sub-folder."""

    url: str
    ref: str = "main"
    ref_kind: RefKind = RefKind.BRANCH
    subdir: str = ""
    timeout: float = 60.0
    auth: GitAuth = field(default_factory=GitAuth)

    def __post_init__(self) -> None:
        if self.ref_kind is RefKind.COMMIT and not _SHA.match(self.ref):
            raise SourceError(f"commit {self.ref!r} is not a full 40-character sha1")
        sub = self.subdir.strip("/")
        if sub and any(part in ("", ".", "..") for part in sub.split("/")):
            raise SourceError(f"sub-folder {self.subdir!r} must be a plain relative path")
        object.__setattr__(self, "subdir", sub)
        if self.timeout <= 0:
            raise SourceError("the fetch timeout must be longer than zero")

    @property
    def transport(self) -> Transport:
        return transport_of(self.url)

    @property
    def display_url(self) -> str:
        return display_url(self.url)

    def describe(self) -> str:
        where = f" ({self.subdir}/)" if self.subdir else ""
        return f"{self.display_url} {self.ref_kind.value} {self.ref}{where}"


def transport_of(url: str) -> Transport:
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        return Transport.HTTP
    if scheme in ("ssh", "git+ssh", "ssh+git"):
        return Transport.SSH
    if scheme in ("", "file") and _SCP_LIKE.match(url) and not Path(url).exists():
        return Transport.SSH
    if scheme and scheme not in ("file",):
        raise SourceError(f"unsupported Git URL scheme {scheme!r} (use https, ssh or a path)")
    return Transport.LOCAL


def split_credentials(url: str) -> tuple[str, str | None, Sensitive | None]:
    """``url`` without a user name and password, plus those two.

    A password in the URL is taken as a token and never kept in the URL:
    libgit2 gets it from the credentials callback.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https", "ssh", "git+ssh", "ssh+git"):
        return url, None, None
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    user = parts.username or None
    token = Sensitive(parts.password) if parts.password else None
    if token is not None:
        logs.register(token)
    if parts.scheme.lower() not in ("http", "https") and user:
        netloc = f"{user}@{netloc}"  # an SSH user name is not a secret
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), user, token


def display_url(url: str) -> str:
    """The URL as bosun prints it: no password, no token, ever."""
    parts = urlsplit(url)
    if parts.scheme and parts.password is not None:
        host = parts.hostname or ""
        netloc = (f"{parts.username}:{REDACTED}@" if parts.username else "") + host
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    if parts.scheme and parts.username and parts.scheme.lower() in ("http", "https"):
        # https://TOKEN@host/... is a common way to pass a token alone.
        host = parts.hostname or ""
        netloc = f"{REDACTED}@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return url


def scrub(text: str, *secrets: Sensitive | str | None) -> str:
    """``text`` with every given secret and every registered secret replaced."""
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Sensitive) else secret
        if value and len(value) >= 3:
            text = text.replace(value, REDACTED)
    return logs.scrub(text)


def token_from(env: str | None = TOKEN_ENV, file: Path | None = None,
               environ: dict[str, str] | None = None) -> Sensitive | None:
    """A token from a file (a mounted Secret) or from the environment; the file wins."""
    if file is not None:
        try:
            value = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SourceError(f"cannot read the Git token file {file}: {exc.strerror}") from None
        if not value:
            raise SourceError(f"the Git token file {file} is empty")
        token = Sensitive(value)
        logs.register(token)
        return token
    source = os.environ if environ is None else environ
    if env and source.get(env):
        token = Sensitive(source[env])
        logs.register(token)
        return token
    return None
