"""GitHub webhooks: ``X-Hub-Signature-256`` and the push, ping and pull_request events.

Part of the webhook receivers (a trigger). GitHub signs the raw body with
HMAC-SHA256 keyed by the hook's secret and sends ``sha256=<hex>``; the
legacy SHA-1 ``X-Hub-Signature`` is not accepted. ``X-GitHub-Event`` names the
event, ``X-GitHub-Delivery`` is a GUID that a redelivery repeats.
"""

from __future__ import annotations

from typing import Any

from reconciler.runtime.requests import PlanPullRequest, Trigger
from webhook.auth import sign, signature_problem
from webhook.events import Event, Ignored, PayloadError, Ping, pull_request, push, text

__all__ = ["NAME", "delivery", "event_name", "parse", "sign", "verify"]

NAME = "github"
SIGNATURE_HEADER = "x-hub-signature-256"
EVENT_HEADER = "x-github-event"
DELIVERY_HEADER = "x-github-delivery"
# Actions after which a pull request's plan may differ.
PLAN_ACTIONS = frozenset({"opened", "synchronize", "reopened", "ready_for_review", "edited",
                          "closed"})
# GitHub lists at most this many commits in a push payload.
MAX_LISTED_COMMITS = 2048


def verify(secret: bytes, body: bytes, headers: dict[str, str]) -> str | None:
    """None when the signature holds, else why not."""
    if not headers.get(SIGNATURE_HEADER) and headers.get("x-hub-signature"):
        return "only X-Hub-Signature-256 (HMAC-SHA256) is accepted, not SHA-1 X-Hub-Signature"
    return signature_problem("X-Hub-Signature-256", headers.get(SIGNATURE_HEADER), secret, body)


def delivery(headers: dict[str, str], body: bytes) -> str | None:
    return headers.get(DELIVERY_HEADER) or None


def event_name(headers: dict[str, str]) -> str:
    return headers.get(EVENT_HEADER, "")


def parse(event: str, payload: dict[str, Any], followed_branch: str | None,
          delivery_id: str) -> Event:
    if event == "ping":
        return Ping(text(payload, "zen"))
    if event == "push":
        commits = payload.get("commits")
        listed = isinstance(commits, list) and 0 < len(commits) < MAX_LISTED_COMMITS
        return push(payload, listed, text(payload, "repository", "full_name"))
    if event == "pull_request":
        pr = payload.get("pull_request")
        number = payload.get("number")
        if not isinstance(pr, dict) or not isinstance(number, int):
            raise PayloadError("a pull_request payload needs 'number' and 'pull_request'")
        action = text(payload, "action")
        base_ref = text(pr, "base", "ref")
        request = PlanPullRequest(
            trigger=Trigger.WEBHOOK, reason=f"github pull_request {action}",
            forge=NAME, repository=text(payload, "repository", "full_name"), number=number,
            action=action, head_ref=text(pr, "head", "ref"), head_sha=text(pr, "head", "sha"),
            base_ref=base_ref, base_sha=text(pr, "base", "sha") or None,
            url=text(pr, "html_url"), title=text(pr, "title"),
            clone_url=text(pr, "head", "repo", "clone_url"), delivery=delivery_id,
        )
        return pull_request(request, PLAN_ACTIONS, followed_branch)
    return Ignored(f"GitHub event {event or '(none)'!r} is not used by bosun")
