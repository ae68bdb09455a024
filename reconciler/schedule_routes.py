"""HTTP routes of ``bosun serve`` for schedules: the overview and each schedule's runs.

Part of the serve app (mounted through ``build_app(extra_routes=...)``). Reads
the state store only: ``GET /api/schedules`` lists every schedule (when, next
run, last run); ``GET /api/schedules/{name}/runs?limit=20&output=1`` gives its
runs, newest first, with their output (secrets already redacted) when asked.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from reconciler.state import StateStore

MAX_LIMIT = 1000


async def _overview(request: Request) -> JSONResponse:
    store: StateStore = request.app.state.store
    return JSONResponse({"schedules": [s.model_dump(mode="json")
                                       for s in store.schedules_overview()]})


async def _runs(request: Request) -> JSONResponse:
    store: StateStore = request.app.state.store
    name = request.path_params["name"]
    try:
        limit = int(request.query_params.get("limit", "20"))
    except ValueError:
        return JSONResponse({"error": "limit must be a number"}, status_code=400)
    limit = max(1, min(limit, MAX_LIMIT))
    output = request.query_params.get("output", "0").lower() in ("1", "true", "yes")
    runs = store.schedule_runs(name, limit, output=output)
    if not runs and name not in {s.name for s in store.schedules_overview()}:
        return JSONResponse({"error": f"no schedule {name!r}"}, status_code=404)
    return JSONResponse({"schedule": name, "runs": [r.model_dump(mode="json") for r in runs]})


def schedule_routes() -> list[BaseRoute]:
    return [
        Route("/api/schedules", _overview, methods=["GET"], name="schedules"),
        Route("/api/schedules/{name}/runs", _runs, methods=["GET"], name="schedule-runs"),
    ]
