"""The generic webhook: any sender that can sign a body with HMAC-SHA256.

Part of the webhook receivers (a trigger). For CI jobs, Gitea, cron or a
script: ``X-Bosun-Signature-256: sha256=<hex HMAC-SHA256 of the body>`` with the
shared secret. The body may be empty (reconcile now) or a JSON object with
any of ``ref`` (``refs/heads/main``), ``after`` (the new commit) and ``paths``
(files changed). ``X-Bosun-Delivery``, when sent, identifies the delivery
for replay protection; without it nothing is deduplicated (two empty bodies
are two legitimate requests).
"""

from __future__ import annotations

from typing import Any

from webhook.auth import sign, signature_problem
from webhook.events import Event, PayloadError, Push

NAME = "generic"
SIGNATURE_HEADER = "x-bosun-signature-256"
DELIVERY_HEADER = "x-bosun-delivery"


__all__ = ["NAME", "delivery", "event_name", "parse", "sign", "verify"]


def verify(secret: bytes, body: bytes, headers: dict[str, str]) -> str | None:
    return signature_problem("X-Bosun-Signature-256", headers.get(SIGNATURE_HEADER), secret,
                             body, missing=" (sha256=<hex HMAC-SHA256 of the body>)")


def delivery(headers: dict[str, str], body: bytes) -> str | None:
    return headers.get(DELIVERY_HEADER) or None


def event_name(headers: dict[str, str]) -> str:
    return "push"


def parse(event: str, payload: dict[str, Any], followed_branch: str | None,
          delivery_id: str) -> Event:
    ref = payload.get("ref")
    after = payload.get("after")
    paths = payload.get("paths")
    if ref is not None and not isinstance(ref, str):
        raise PayloadError("'ref' must be a string such as refs/heads/main")
    if after is not None and not isinstance(after, str):
        raise PayloadError("'after' must be a commit id")
    if paths is not None and not (isinstance(paths, list)
                                  and all(isinstance(p, str) for p in paths)):
        raise PayloadError("'paths' must be a list of file paths")
    return Push(ref=ref or "", before="", after=after or "",
                paths=tuple(paths) if paths is not None else None)
