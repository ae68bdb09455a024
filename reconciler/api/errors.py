"""Errors of the HTTP API: one JSON shape, ``{"error": {"code": ..., "message": ...}}``.

Part of the API. Handlers raise ``ApiError``; Starlette's own 404 and 405
(unknown path, wrong method) go through ``http_error`` too, so every answer
under ``/api/`` and ``/metrics`` has the same shape. Dashboard pages answer
the same errors as HTML (``reconciler.dashboard`` registers that side).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from reconciler.api.models import Error, ErrorBody
from reconciler.logs import scrub

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
    413: "too_large", 415: "unsupported_media_type", 422: "unprocessable",
    500: "internal_error", 503: "unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODES.get(status, "error")
        self.headers = dict(headers or {})


def error_response(status: int, message: str, code: str | None = None,
                   headers: Mapping[str, str] | None = None) -> Response:
    body = Error(error=ErrorBody(code=code or CODES.get(status, "error"), message=message))
    return Response(scrub(body.model_dump_json()), status_code=status,
                    media_type="application/json", headers=dict(headers or {}))


def from_api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.message, exc.code, exc.headers)
