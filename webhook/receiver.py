"""The webhook endpoints: check, deduplicate, decide, enqueue, answer at once.

A trigger: it never reconciles, it only ``submit``s a request to the runtime
and answers 202. Order of checks, each refusal a JSON error and a count in
``bosun_webhook_requests_total{provider,result}``:

1. no secret configured -> 403 ``not_configured``
2. body over the size limit -> 413 ``too_large`` (before it is read, by
   Content-Length, and while it is read)
3. signature or token wrong or missing -> 401 ``unauthorized`` (nothing queued,
   nothing recorded)
4. delivery id seen before -> 200 ``duplicate``
5. body not a JSON object, or not the event's shape -> 400 ``bad_request``
6. an event or push that changes nothing bosun follows -> 200 ``ignored``
   with the reason (other branch, the status branch, no watched path, ...)
7. otherwise -> 202 ``accepted``
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from reconciler import metrics
from reconciler.model.sensitive import Sensitive
from reconciler.runtime.requests import ReconcileRequest, Trigger
from reconciler.runtime.requests import Request as WorkRequest
from reconciler.runtime.runtime import WatchFilter
from webhook import generic, github, gitlab
from webhook.events import Event, Ignored, PayloadError, Ping, PullRequest, Push

log = logging.getLogger("bosun.webhook")

DEFAULT_MAX_BYTES = 5 * 1024 * 1024


class Dispatcher(Protocol):
    """What the receivers need of the runtime."""

    def submit(self, request: WorkRequest, delay: float = 0.0) -> bool: ...

    def watch_filter(self) -> WatchFilter: ...


class DeliveryLog(Protocol):
    """Remembers delivery ids (the state store)."""

    def first_delivery(self, provider: str, delivery: str, event: str = "") -> bool: ...

    def set_delivery_result(self, provider: str, delivery: str, result: str) -> None: ...


@dataclass(frozen=True)
class WebhookConfig:
    secret: Sensitive | None
    max_bytes: int = DEFAULT_MAX_BYTES


class _TooLarge(Exception):
    pass


def _answer(provider: str, result: str, status: int, **body: Any) -> JSONResponse:
    metrics.WEBHOOK_REQUESTS.labels(provider=provider, result=result).inc()
    return JSONResponse({"result": result, **body}, status_code=status)


async def _read(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def push_decision(push: Push, watch: WatchFilter) -> str | None:
    """None when ``push`` should trigger a reconcile, else why not."""
    status_ref = f"refs/heads/{watch.status_branch}"
    if push.ref == status_ref:
        return f"push to the status branch {watch.status_branch!r} never triggers a reconcile"
    if push.ref and watch.ref is None:
        return "bosun follows a fixed commit or a working folder; pushes do not change it"
    if push.ref and push.ref != watch.ref:
        return f"push to {push.ref}; bosun follows {watch.ref}"
    if push.deleted:
        return f"{push.ref} was deleted; bosun keeps the last applied revision"
    if push.paths is not None and watch.subdir:
        prefix = watch.subdir.rstrip("/") + "/"
        if not any(p.startswith(prefix) for p in push.paths):
            return f"no changed file under {prefix}"
    return None


class Receiver:
    """The endpoints of one forge (its module verifies and parses)."""

    def __init__(self, forge: ModuleType, config: WebhookConfig, dispatcher: Dispatcher,
                 deliveries: DeliveryLog) -> None:
        self.forge = forge
        self.name: str = forge.NAME
        self.config = config
        self.dispatcher = dispatcher
        self.deliveries = deliveries

    async def handle(self, request: Request) -> JSONResponse:
        name = self.name
        if self.config.secret is None:
            return _answer(name, "not_configured", 403, error="webhooks are disabled: no "
                           "secret is configured (--webhook-secret-file or BOSUN_WEBHOOK_SECRET)")
        limit = self.config.max_bytes
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return _answer(name, "too_large", 413, error=f"body is larger than {limit} bytes")
        try:
            body = await _read(request, limit)
        except _TooLarge:
            return _answer(name, "too_large", 413, error=f"body is larger than {limit} bytes")
        except ClientDisconnect:
            return _answer(name, "bad_request", 400, error="the client went away")
        headers = {k.lower(): v for k, v in request.headers.items()}
        secret = self.config.secret.reveal().encode()
        problem = self.forge.verify(secret, body, headers)
        if problem is not None:
            log.warning("%s webhook refused from %s: %s", name,
                        request.client.host if request.client else "?", problem)
            return _answer(name, "unauthorized", 401, error=problem)
        event = self.forge.event_name(headers)
        delivery = self.forge.delivery(headers, body)
        if delivery is not None and not await run_in_threadpool(
            self.deliveries.first_delivery, name, delivery, event
        ):
            return _answer(name, "duplicate", 200, delivery=delivery,
                           reason="this delivery was received before; ignored")
        try:
            payload = json.loads(body) if body.strip() else {}
            if not isinstance(payload, dict):
                raise PayloadError("the body must be a JSON object")
            watch = self.dispatcher.watch_filter()
            branch = watch.ref.removeprefix("refs/heads/") if watch.ref and \
                watch.ref.startswith("refs/heads/") else None
            parsed: Event = self.forge.parse(event, payload, branch, delivery or "")
        except (ValueError, PayloadError, RecursionError) as exc:
            # RecursionError: a signed body nested deeper than the JSON decoder goes.
            reason = str(exc) if isinstance(exc, PayloadError) else "the body is not valid JSON"
            return await self._done(delivery, "bad_request", 400, error=reason)
        return await self._dispatch(parsed, watch, delivery, event)

    async def _done(self, delivery: str | None, result: str, status: int,
                    **body: Any) -> JSONResponse:
        if delivery is not None:
            await run_in_threadpool(self.deliveries.set_delivery_result, self.name, delivery,
                                    result)
        return _answer(self.name, result, status, delivery=delivery, **body)

    async def _dispatch(self, parsed: Event, watch: WatchFilter, delivery: str | None,
                        event: str) -> JSONResponse:
        if isinstance(parsed, Ping):
            return await self._done(delivery, "ignored", 200, reason="pong")
        if isinstance(parsed, Ignored):
            return await self._done(delivery, "ignored", 200, reason=parsed.reason)
        if isinstance(parsed, PullRequest):
            if not parsed.relevant:
                return await self._done(delivery, "ignored", 200, reason=parsed.reason)
            queued = self.dispatcher.submit(parsed.request)
            return await self._done(delivery, "accepted", 202, queued=queued,
                                    work=parsed.request.key)
        reason = push_decision(parsed, watch)
        if reason is not None:
            return await self._done(delivery, "ignored", 200, reason=reason)
        request = ReconcileRequest(Trigger.WEBHOOK, reason=f"{self.name} {event or 'push'}",
                                   sha=parsed.after or None)
        queued = self.dispatcher.submit(request)
        log.info("%s webhook %s: reconcile queued (%s)", self.name, delivery or "",
                 "new" if queued else "merged into waiting work")
        return await self._done(delivery, "accepted", 202, queued=queued, work=request.key)


def routes(config: WebhookConfig, dispatcher: Dispatcher, deliveries: DeliveryLog,
           prefix: str = "/hooks") -> list[Route]:
    """``/hooks/github``, ``/hooks/gitlab`` and ``/hooks/generic``, to mount in an app."""
    out = []
    for forge in (github, gitlab, generic):
        # A bound method: Starlette treats a callable object as a raw ASGI app.
        endpoint: Callable[[Request], Any] = Receiver(forge, config, dispatcher,
                                                      deliveries).handle
        out.append(Route(f"{prefix}/{forge.NAME}", endpoint, methods=["POST"],
                         name=f"webhook-{forge.NAME}"))
    return out
