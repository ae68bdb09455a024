"""``GET /api/v1/events/stream``: server-sent events for the dashboard's live updates.

Part of the API. Each stream waits on the live feed (``StatusFeed``) and,
every ``POLL`` seconds at the latest, also looks for events other code paths
added to the store (webhooks, ``bosun suspend`` in another process). It sends:

- ``event: status`` with a ``ResourceSummary`` (JSON) whenever a resource's
  status changed, or ``{"kind", "name", "removed": true}`` when it went away;
- ``event: event`` with an ``EventRecord`` for every new store event;
- ``event: reload`` when the stream fell too far behind to say what changed;
- a comment line every ``KEEPALIVE`` seconds so that proxies keep it open.

It ends when the client goes away or bosun stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from reconciler.api import views
from reconciler.api.errors import error_response
from reconciler.logs import scrub
from reconciler.model.common import ResourceRef
from reconciler.state import StateStore
from reconciler.status import StatusFeed

POLL = 1.0
KEEPALIVE = 15.0


def _message(kind: str, data: str, ident: str | None = None) -> str:
    head = f"id: {ident}\n" if ident else ""
    lines = "".join(f"data: {line}\n" for line in scrub(data).splitlines() or [""])
    return f"{head}event: {kind}\n{lines}\n"


def _statuses(store: StateStore, refs: set[ResourceRef]) -> list[str]:
    suspended = store.suspended()
    out = []
    for ref in sorted(refs, key=ResourceRef.sort_key):
        status = store.status(ref, history=0)
        if status is None:
            out.append(json.dumps({"kind": ref.kind.value, "name": ref.name, "removed": True}))
        else:
            out.append(views.summary(status, ref in suspended).model_dump_json())
    return out


async def stream(request: Request) -> Response:
    feed: StatusFeed | None = getattr(request.app.state, "status_feed", None)
    if feed is None:
        return error_response(503, "live updates are not available in this process")
    store: StateStore = request.app.state.store
    runtime = request.app.state.runtime

    async def events() -> AsyncIterator[str]:
        wake = feed.subscribe()
        try:
            seq = feed.seq
            last_event = await run_in_threadpool(store.last_event_id)
            yield "retry: 3000\n\n"
            quiet_since = time.monotonic()
            while not runtime.stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=POLL)
                wake.clear()
                refs, seq = feed.changed_since(seq)
                sent = False
                if refs is None:
                    yield _message("reload", "{}", str(seq))
                    sent = True
                elif refs:
                    for body in await run_in_threadpool(_statuses, store, refs):
                        yield _message("status", body, str(seq))
                    sent = True
                fresh = await run_in_threadpool(store.events_after, last_event)
                for record in fresh:
                    last_event = record.id
                    yield _message("event", record.model_dump_json())
                    sent = True
                if sent:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > KEEPALIVE:
                    yield ": keepalive\n\n"
                    quiet_since = time.monotonic()
        finally:
            feed.unsubscribe(wake)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
