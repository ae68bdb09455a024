"""GitLab webhooks: ``X-Gitlab-Token`` and the Push, Tag Push and Merge Request hooks.

Part of the webhook receivers (a trigger). GitLab sends the hook's secret
token itself in ``X-Gitlab-Token`` (no signature), so it is compared in
constant time. A retried delivery repeats ``Idempotency-Key`` (GitLab 17.4+);
older GitLab sends ``X-Gitlab-Event-UUID``; failing both, the body (which a
retry repeats) identifies the delivery. A push lists at most 20 commits;
``total_commits_count`` says how many there were.
"""

from __future__ import annotations

import hashlib
from typing import Any

from reconciler.runtime.requests import PlanPullRequest, Trigger
from webhook.auth import same_token
from webhook.events import Event, Ignored, PayloadError, pull_request, push, text

NAME = "gitlab"
TOKEN_HEADER = "x-gitlab-token"
EVENT_HEADER = "x-gitlab-event"
PLAN_ACTIONS = frozenset({"open", "reopen", "update", "close", "merge"})


def verify(secret: bytes, body: bytes, headers: dict[str, str]) -> str | None:
    given = headers.get(TOKEN_HEADER)
    if not given:
        return "missing X-Gitlab-Token"
    if not same_token(given, secret):
        return "X-Gitlab-Token does not match"
    return None


def delivery(headers: dict[str, str], body: bytes) -> str | None:
    return (headers.get("idempotency-key") or headers.get("x-gitlab-event-uuid")
            or "sha256:" + hashlib.sha256(body).hexdigest())


def event_name(headers: dict[str, str]) -> str:
    return headers.get(EVENT_HEADER, "")


def parse(event: str, payload: dict[str, Any], followed_branch: str | None,
          delivery_id: str) -> Event:
    if event in ("Push Hook", "Tag Push Hook"):
        commits = payload.get("commits")
        total = payload.get("total_commits_count")
        listed = (isinstance(commits, list) and len(commits) > 0
                  and isinstance(total, int) and total <= len(commits))
        return push(payload, listed, text(payload, "project", "path_with_namespace"))
    if event == "Merge Request Hook":
        attrs = payload.get("object_attributes")
        if not isinstance(attrs, dict) or not isinstance(attrs.get("iid"), int):
            raise PayloadError("a merge request payload needs 'object_attributes.iid'")
        action = text(attrs, "action")
        base_ref = text(attrs, "target_branch")
        request = PlanPullRequest(
            trigger=Trigger.WEBHOOK, reason=f"gitlab merge request {action}",
            forge=NAME, repository=text(payload, "project", "path_with_namespace"),
            number=attrs["iid"], action=action, head_ref=text(attrs, "source_branch"),
            head_sha=text(attrs, "last_commit", "id"), base_ref=base_ref,
            url=text(attrs, "url"), title=text(attrs, "title"),
            clone_url=text(attrs, "source", "git_http_url"), delivery=delivery_id,
        )
        return pull_request(request, PLAN_ACTIONS, followed_branch, noun="merge request")
    return Ignored(f"GitLab event {event or '(none)'!r} is not used by bosun")
