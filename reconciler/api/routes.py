"""The HTTP API under ``/api/v1``: read-only without a token, reconcile with one.

Part of the API (read side of stage *record*, plus one trigger). Handlers
are plain functions (Starlette runs them on its thread pool, where SQLite
calls belong), read the state store through ``views`` and answer one model
of ``models``. ``POST /api/v1/reconcile`` needs ``Authorization: Bearer
<token>`` (compared in constant time) and only enqueues a request, like
every trigger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from reconciler.api import views
from reconciler.api.errors import ApiError, from_api_error
from reconciler.api.models import (
    Accepted,
    EventPage,
    HistoryList,
    PlanList,
    ResourceList,
    RevisionList,
    RunPage,
    ScheduleRunPage,
)
from reconciler.logs import scrub
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.sensitive import Sensitive, same_token
from reconciler.model.status import HealthState, Sync
from reconciler.runtime import ReconcileRequest, Runtime, Trigger
from reconciler.state import EventLevel, RunState, StateStore

PREFIX = "/api/v1"
MAX_LIMIT = 500
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class ApiConfig:
    """``token``: what ``POST /api/v1/reconcile`` wants as a Bearer token (None: refused)."""

    token: Sensitive | None = None


def json_response(model: BaseModel, status: int = 200) -> Response:
    return Response(scrub(model.model_dump_json()), status_code=status,
                    media_type="application/json")


def _store(request: Request) -> StateStore:
    store: StateStore = request.app.state.store
    return store


# -- query parameters ------------------------------------------------------------


def _int(request: Request, name: str, default: int | None, lo: int, hi: int) -> int | None:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isdigit() or len(text) > 19:
        raise ApiError(400, f"query parameter {name!r} must be a whole number from {lo} to "
                       f"{hi}, not {text[:40]!r}")
    value = int(text)
    if not lo <= value <= hi:
        raise ApiError(400, f"query parameter {name!r} must be from {lo} to {hi}, not {value}")
    return value


def _limit(request: Request, default: int = 50) -> int:
    value = _int(request, "limit", default, 1, MAX_LIMIT)
    assert value is not None
    return value


def _before(request: Request) -> int | None:
    return _int(request, "before", None, 1, 2**62)


def _enum(request: Request, name: str, enum: type[E]) -> E | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        return enum(text)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise ApiError(400, f"query parameter {name!r} must be one of {allowed}, "
                       f"not {text[:40]!r}") from None


def _resource(request: Request, name: str = "resource") -> ResourceRef | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        return ResourceRef.parse(text)
    except ValueError:
        raise ApiError(400, f"query parameter {name!r} must be Kind/name, such as "
                       "Stack/blog") from None


def _ref(request: Request) -> ResourceRef:
    kind_text = request.path_params["kind"]
    try:
        kind = Kind(kind_text)
    except ValueError:
        raise ApiError(404, f"no kind {kind_text[:40]!r}") from None
    return ResourceRef(kind=kind, name=request.path_params["name"])


def _next(items: list[Any], limit: int) -> int | None:
    return int(items[-1].id) if len(items) == limit and items else None


# -- handlers ------------------------------------------------------------------------


Handler = Callable[[Request], Response]


def _errors(handler: Handler) -> Handler:
    def wrapped(request: Request) -> Response:
        try:
            return handler(request)
        except ApiError as exc:
            return from_api_error(exc)

    wrapped.__name__ = handler.__name__
    return wrapped


@_errors
def status_overview(request: Request) -> Response:
    return json_response(views.overview(_store(request)))


@_errors
def list_resources(request: Request) -> Response:
    kind = _enum(request, "kind", Kind)
    sync = _enum(request, "sync", Sync)
    health = _enum(request, "health", HealthState)
    limit = _limit(request, MAX_LIMIT)
    offset = _int(request, "offset", 0, 0, 2**31) or 0
    items = views.failing_first(views.summaries(_store(request), kind, sync, health))
    return json_response(ResourceList(items=items[offset:offset + limit], total=len(items)))


@_errors
def get_resource(request: Request) -> Response:
    ref = _ref(request)
    detail = views.resource_detail(_store(request), ref)
    if detail is None:
        raise ApiError(404, f"no resource {ref}")
    return json_response(detail)


@_errors
def resource_history(request: Request) -> Response:
    ref = _ref(request)
    store = _store(request)
    if store.status(ref, history=0) is None:
        raise ApiError(404, f"no resource {ref}")
    return json_response(HistoryList(items=store.history(ref, _limit(request, 20))))


@_errors
def resource_events(request: Request) -> Response:
    ref = _ref(request)
    store = _store(request)
    if store.status(ref, history=0) is None:
        raise ApiError(404, f"no resource {ref}")
    limit = _limit(request)
    items = store.event_page(limit=limit, before=_before(request), ref=ref)
    return json_response(EventPage(items=items, next=_next(items, limit)))


@_errors
def latest_plan(request: Request) -> Response:
    record = _store(request).plan_record()
    if record is None:
        raise ApiError(404, "no plan has been made yet")
    return json_response(views.plan_view(record))


@_errors
def get_plan(request: Request) -> Response:
    text = request.path_params["plan_id"]
    record = _store(request).plan_record(int(text)) if text.isdigit() and \
        len(text) < 18 else None
    if record is None:
        raise ApiError(404, f"no plan {text[:40]!r}")
    return json_response(views.plan_view(record))


@_errors
def list_plans(request: Request) -> Response:
    limit = _limit(request, 20)
    records = _store(request).plan_records(limit, _before(request))
    return json_response(PlanList(items=[views.plan_item(r) for r in records],
                                  next=_next(records, limit)))


@_errors
def list_revisions(request: Request) -> Response:
    return json_response(RevisionList(items=_store(request).revisions(_limit(request))))


@_errors
def list_runs(request: Request) -> Response:
    limit = _limit(request)
    state = _enum(request, "state", RunState)
    items = _store(request).run_page(limit, _before(request), state.value if state else None)
    return json_response(RunPage(items=items, next=_next(items, limit)))


@_errors
def list_events(request: Request) -> Response:
    limit = _limit(request)
    items = _store(request).event_page(
        limit=limit, before=_before(request), kind=request.query_params.get("kind") or None,
        ref=_resource(request), level=_enum(request, "level", EventLevel))
    return json_response(EventPage(items=items, next=_next(items, limit)))


@_errors
def list_schedule_runs(request: Request) -> Response:
    limit = _limit(request)
    items = _store(request).schedule_runs(request.query_params.get("schedule") or None,
                                          limit, _before(request))
    return json_response(ScheduleRunPage(items=items, next=_next(items, limit)))


def reconcile_handler(config: ApiConfig) -> Handler:
    @_errors
    def reconcile(request: Request) -> Response:
        if config.token is None:
            raise ApiError(403, "the API has no token configured (--api-token-file or "
                           "BOSUN_API_TOKEN): reconciling through it is disabled")
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        expected = config.token.reveal().encode()
        if scheme.lower() != "bearer" or not same_token(given.strip(), expected):
            raise ApiError(401, "a valid 'Authorization: Bearer <token>' header is required",
                           headers={"WWW-Authenticate": 'Bearer realm="bosun"'})
        runtime: Runtime = request.app.state.runtime
        if runtime.stopping:
            raise ApiError(503, "bosun is stopping")
        request_ = ReconcileRequest(Trigger.API, reason="POST /api/v1/reconcile")
        queued = runtime.submit(request_)
        return json_response(Accepted(queued=queued, work=request_.key), status=202)

    return reconcile


def routes(config: ApiConfig) -> list[BaseRoute]:
    from reconciler.api.openapi import openapi_endpoint
    from reconciler.api.stream import stream

    get = ["GET"]
    return [
        Route(f"{PREFIX}/openapi.json", openapi_endpoint, methods=get, name="api-openapi"),
        Route(f"{PREFIX}/status", status_overview, methods=get, name="api-status"),
        Route(f"{PREFIX}/resources", list_resources, methods=get, name="api-resources"),
        Route(f"{PREFIX}/resources/{{kind}}/{{name}}", get_resource, methods=get,
              name="api-resource"),
        Route(f"{PREFIX}/resources/{{kind}}/{{name}}/history", resource_history, methods=get,
              name="api-resource-history"),
        Route(f"{PREFIX}/resources/{{kind}}/{{name}}/events", resource_events, methods=get,
              name="api-resource-events"),
        Route(f"{PREFIX}/plan", latest_plan, methods=get, name="api-plan"),
        Route(f"{PREFIX}/plans", list_plans, methods=get, name="api-plans"),
        Route(f"{PREFIX}/plans/{{plan_id}}", get_plan, methods=get, name="api-plan-by-id"),
        Route(f"{PREFIX}/revisions", list_revisions, methods=get, name="api-revisions"),
        Route(f"{PREFIX}/runs", list_runs, methods=get, name="api-runs"),
        Route(f"{PREFIX}/events", list_events, methods=get, name="api-events"),
        Route(f"{PREFIX}/events/stream", stream, methods=get, name="api-stream"),
        Route(f"{PREFIX}/schedules/runs", list_schedule_runs, methods=get,
              name="api-schedule-runs"),
        Route(f"{PREFIX}/reconcile", reconcile_handler(config), methods=["POST"],
              name="api-reconcile"),
    ]
