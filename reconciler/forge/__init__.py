"""Forge clients: pull-request comments and commit statuses on GitHub and GitLab.

Not a stage: the record step of ``bosun serve`` (plans on pull requests,
``bosun/apply`` after a merge) calls them. Both speak the forges' REST APIs
over httpx (``http.py``: timeouts, backoff on rate limits, errors that say
what happened without the token). One comment per pull request is created
once and edited in place afterwards: it is found again by a hidden marker in
its body.

::

    ForgeError                 a forge said no, or could not be reached
    └── (retry_after set)      temporary: rate limited, 5xx, timeout
"""

from __future__ import annotations

from reconciler.forge.base import (
    APPLY_CONTEXT,
    PLAN_CONTEXT,
    CommentResult,
    CommitState,
    Forge,
    ForgeError,
    marker,
    upsert_comment,
)
from reconciler.forge.github import GitHub
from reconciler.forge.gitlab import GitLab
from reconciler.forge.tokens import client_for, token_from

__all__ = [
    "APPLY_CONTEXT",
    "PLAN_CONTEXT",
    "CommentResult",
    "CommitState",
    "Forge",
    "ForgeError",
    "GitHub",
    "GitLab",
    "client_for",
    "marker",
    "token_from",
    "upsert_comment",
]
