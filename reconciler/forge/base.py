"""What every forge client offers, and the find-or-create logic for the one comment."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from reconciler.errors import BosunError

PLAN_CONTEXT = "bosun/plan"
APPLY_CONTEXT = "bosun/apply"


class ForgeError(BosunError):
    """A forge request failed. ``retry_after`` is set when trying later may work."""

    def __init__(self, message: str, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class CommitState(StrEnum):
    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"


@dataclass(frozen=True)
class Comment:
    id: int
    body: str


@dataclass(frozen=True)
class CommentResult:
    id: int
    created: bool
    changed: bool


class Forge(Protocol):
    """A forge client bound to one repository (GitHub) or project (GitLab)."""

    name: str

    def comments(self, number: int) -> list[Comment]:
        """Every comment (GitHub) or note (GitLab) of pull/merge request ``number``."""
        ...

    def create_comment(self, number: int, body: str) -> int:
        """Create one; returns its id."""
        ...

    def edit_comment(self, number: int, comment_id: int, body: str) -> None: ...

    def set_status(self, sha: str, context: str, state: CommitState, description: str,
                   target_url: str | None = None) -> None:
        """Set the commit status ``context`` of ``sha``."""
        ...

    def close(self) -> None: ...


def marker(key: str = "bosun") -> str:
    """The hidden line that identifies bosun's comment (one per bosun agent ``key``)."""
    return f"<!-- bosun:plan:{key} -->"


def upsert_comment(forge: Forge, number: int, body: str, key: str = "bosun") -> CommentResult:
    """Edit bosun's comment on the pull request in place, or create it the first time.

    The comment is found by its marker; an unchanged body sends no edit.
    """
    tag = marker(key)
    text = f"{tag}\n{body}"
    for comment in forge.comments(number):
        if tag in comment.body:
            if comment.body.strip() == text.strip():
                return CommentResult(comment.id, created=False, changed=False)
            forge.edit_comment(number, comment.id, text)
            return CommentResult(comment.id, created=False, changed=True)
    return CommentResult(forge.create_comment(number, text), created=True, changed=True)
