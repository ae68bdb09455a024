"""Webhook receivers for GitHub, GitLab and generic senders (triggers).

``routes(config, dispatcher, deliveries)`` gives the Starlette routes
(``/hooks/github``, ``/hooks/gitlab``, ``/hooks/generic``) that ``bosun serve``
mounts. They verify, deduplicate and filter, then ``submit`` a request to the
runtime and answer 202; they never reconcile themselves.
"""

from __future__ import annotations

from webhook.receiver import (
    DEFAULT_MAX_BYTES,
    DeliveryLog,
    Dispatcher,
    Receiver,
    WebhookConfig,
    push_decision,
    routes,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DeliveryLog",
    "Dispatcher",
    "Receiver",
    "WebhookConfig",
    "push_decision",
    "routes",
]
