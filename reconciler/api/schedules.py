"""Schedules in the HTTP API: the overview, and one schedule's runs with their output.

Part of the API (read side of stage *record*), mounted by ``bosun serve``
next to the routes of ``routes``. ``GET /api/v1/schedules`` lists every
schedule (when, next run, last run); ``GET /api/v1/schedules/{name}/runs
?limit=20&output=1`` gives its runs, newest first, with the fields of
``reconciler.model.schedule.ScheduleRun`` (action, reason, exit code, and
with ``output=1`` the last 64 KiB of output, secrets already redacted).
``GET /api/v1/schedules/runs`` (in ``routes``) pages through every run.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from reconciler.api.errors import error_response
from reconciler.logs import scrub
from reconciler.state import StateStore

PREFIX = "/api/v1"
MAX_LIMIT = 1000


def _json(body: dict[str, Any]) -> Response:
    return Response(scrub(json.dumps(body)), media_type="application/json")


def overview(request: Request) -> Response:
    store: StateStore = request.app.state.store
    return _json({"schedules": [s.model_dump(mode="json") for s in store.schedules_overview()]})


def runs(request: Request) -> Response:
    store: StateStore = request.app.state.store
    name = request.path_params["name"]
    try:
        limit = int(request.query_params.get("limit", "20"))
    except ValueError:
        return error_response(400, "limit must be a number")
    limit = max(1, min(limit, MAX_LIMIT))
    output = request.query_params.get("output", "0").lower() in ("1", "true", "yes")
    found = store.schedule_history(name, limit, output=output)
    if not found and name not in {s.name for s in store.schedules_overview()}:
        return error_response(404, f"no schedule {name!r}")
    return _json({"schedule": name, "runs": [r.model_dump(mode="json") for r in found]})


def schedule_routes() -> list[BaseRoute]:
    return [
        Route(f"{PREFIX}/schedules", overview, methods=["GET"], name="api-schedules"),
        Route(f"{PREFIX}/schedules/{{name}}/runs", runs, methods=["GET"],
              name="api-schedule-history"),
    ]
