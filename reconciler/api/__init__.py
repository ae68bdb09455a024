"""The HTTP side of bosun serve: the API under ``/api/v1``, ``/metrics`` and the dashboard.

Read side of stage *record* (plus one trigger, ``POST /api/v1/reconcile``).
``mount`` adds the routes to the serve app (``reconciler.server.build_app``)
and makes every error answer in one shape: JSON
``{"error": {"code", "message"}}`` under ``/api/``, ``/metrics``,
``/hooks/`` and ``/healthz``; an HTML page elsewhere.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.api.errors import ApiError, error_response, from_api_error
from reconciler.api.metrics_route import metrics_endpoint
from reconciler.api.routes import ApiConfig
from reconciler.api.routes import routes as api_routes
from reconciler.status import StatusFeed

JSON_PREFIXES = ("/api/", "/metrics", "/hooks/", "/healthz")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(JSON_PREFIXES)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: f"nothing at {request.url.path[:200]}",
               405: f"{request.method} is not allowed on {request.url.path[:200]}"}.get(
        exc.status_code, str(exc.detail))
    if _wants_json(request):
        return error_response(exc.status_code, message, headers=exc.headers)
    from reconciler.dashboard import html_error

    response = html_error(request, exc.status_code, message)
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return from_api_error(exc)


async def _server_error(request: Request, exc: Exception) -> Response:
    if _wants_json(request):
        return error_response(500, "internal error; the server log says more")
    from reconciler.dashboard import html_error

    return html_error(request, 500, "internal error; the server log says more")


def mount(app: Starlette, feed: StatusFeed | None, config: ApiConfig | None = None,
          dashboard: bool = True) -> None:
    """Add the API, ``/metrics`` and (unless told not to) the dashboard to ``app``."""
    from reconciler import dashboard as pages

    app.state.status_feed = feed
    app.router.routes.extend(api_routes(config or ApiConfig()))
    app.router.routes.append(Route("/metrics", metrics_endpoint, methods=["GET"],
                                   name="metrics"))
    if dashboard:
        app.router.routes.extend(pages.routes())
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(Exception, _server_error)


__all__ = ["ApiConfig", "ApiError", "mount"]
