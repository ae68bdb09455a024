"""Which token a forge client uses, and building a client for a repository.

The token comes from the Repository's ``spec.forge.token`` (a Secret
reference, resolved like any secret) or else from ``BOSUN_GITHUB_TOKEN`` /
``BOSUN_GITLAB_TOKEN``. It is a ``Sensitive`` from the moment it is read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from reconciler.forge.base import Forge, ForgeError
from reconciler.forge.github import PUBLIC_API as GITHUB_API
from reconciler.forge.github import GitHub
from reconciler.forge.gitlab import PUBLIC_API as GITLAB_API
from reconciler.forge.gitlab import GitLab
from reconciler.model.kinds import ForgeKind, RepositoryForge
from reconciler.model.sensitive import Sensitive
from reconciler.provider import SecretResolver

ENV_TOKENS = {ForgeKind.GITHUB: "BOSUN_GITHUB_TOKEN", ForgeKind.GITLAB: "BOSUN_GITLAB_TOKEN"}


def token_from(kind: ForgeKind, settings: RepositoryForge | None = None,
               secrets: SecretResolver | None = None,
               environ: Mapping[str, str] | None = None) -> Sensitive:
    """The API token for ``kind``; ``ForgeError`` naming where it was looked for."""
    if settings is not None and settings.token is not None:
        if secrets is None:
            raise ForgeError(f"{kind.value}: the token is {settings.token}, "
                             "but no secrets are available here")
        return secrets.resolve(settings.token)
    env = os.environ if environ is None else environ
    value = env.get(ENV_TOKENS[kind])
    if not value:
        raise ForgeError(f"{kind.value}: no token: set {ENV_TOKENS[kind]} or "
                         "spec.forge.token in bosun.yaml")
    return Sensitive(value)


def client_for(kind: ForgeKind, project: str | int, token: Sensitive,
               api: str | None = None, **client: Any) -> Forge:
    """A client for one GitHub repository (owner/name) or GitLab project (id or path)."""
    if kind is ForgeKind.GITHUB:
        return GitHub(str(project), token, api or GITHUB_API, **client)
    return GitLab(project, token, api or GITLAB_API, **client)
