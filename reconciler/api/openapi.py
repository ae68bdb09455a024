"""The OpenAPI 3.1 document of ``/api/v1``, generated from the response models.

Part of the API. Components are the JSON Schemas pydantic derives from
``reconciler.api.models`` (serialisation mode: what handlers send), paths and
parameters are written out here next to the rules the handlers enforce
(``routes``), so that schemathesis finds the document and the answers equal.
Served at ``/api/v1/openapi.json``.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import Response

from reconciler.api import models
from reconciler.api.routes import MAX_LIMIT, PREFIX
from reconciler.model.common import Kind
from reconciler.model.status import HealthState, Sync
from reconciler.state import EventLevel, RunState

REF = "#/components/schemas/{model}"
RESPONSES: tuple[type[BaseModel], ...] = (
    models.Error, models.Overview, models.ResourceList, models.ResourceDetail,
    models.HistoryList, models.EventPage, models.PlanView, models.PlanList,
    models.RevisionList, models.RunPage, models.ScheduleRunPage, models.Accepted,
)


def _schema(name: str) -> dict[str, Any]:
    return {"$ref": REF.format(model=name)}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": _schema(name)}}}


def _enum(values: list[str]) -> dict[str, Any]:
    return {"type": "string", "enum": values}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


LIMIT = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}
BEFORE = _query("before", {"type": "integer", "minimum": 1, "maximum": 2**62},
                "Cursor: only items with a smaller id (the `next` of the previous page).")
KIND = {"name": "kind", "in": "path", "required": True, "schema": _enum([k.value for k in Kind])}
NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
ERRORS = {
    "400": _json("Error", "A query parameter is not valid."),
}
NOT_FOUND = {"404": _json("Error", "No such resource (or plan).")}


def _get(op_id: str, summary: str, model: str, params: list[dict[str, Any]] | None = None,
         not_found: bool = False) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": _json(model, summary)}
    if params and any(p["in"] == "query" for p in params):
        responses.update(ERRORS)
    if not_found:
        responses.update(NOT_FOUND)
    op: dict[str, Any] = {"operationId": op_id, "summary": summary, "responses": responses}
    if params:
        op["parameters"] = params
    return {"get": op}


def _paths() -> dict[str, Any]:
    limit = _query("limit", LIMIT, f"At most this many items (1-{MAX_LIMIT}).")
    resource_pattern = "^(" + "|".join(k.value for k in Kind) + ")/.*$"
    return {
        f"{PREFIX}/openapi.json": {"get": {
            "operationId": "openapi", "summary": "This document.",
            "responses": {"200": {"description": "The OpenAPI document.",
                                  "content": {"application/json": {
                                      "schema": {"type": "object"}}}}}}},
        f"{PREFIX}/status": _get("status", "Source, last reconcile, counts and every "
                                 "resource, failing first.", "Overview"),
        f"{PREFIX}/resources": _get("listResources", "Resources, failing first.",
                                    "ResourceList", [
            _query("kind", _enum([k.value for k in Kind]), "Only this kind."),
            _query("sync", _enum([s.value for s in Sync]), "Only this sync state."),
            _query("health", _enum([h.value for h in HealthState]), "Only this health."),
            limit,
            _query("offset", {"type": "integer", "minimum": 0, "maximum": 2**31},
                   "Skip this many."),
        ]),
        f"{PREFIX}/resources/{{kind}}/{{name}}": _get(
            "getResource", "One resource: status, conditions, history, last planned change, "
            "events.", "ResourceDetail", [KIND, NAME], not_found=True),
        f"{PREFIX}/resources/{{kind}}/{{name}}/history": _get(
            "getResourceHistory", "What was applied to one resource, newest first.",
            "HistoryList", [KIND, NAME, _query("limit", {**LIMIT, "maximum": MAX_LIMIT},
                                               "At most this many entries.")],
            not_found=True),
        f"{PREFIX}/resources/{{kind}}/{{name}}/events": _get(
            "getResourceEvents", "One resource's events, newest first.", "EventPage",
            [KIND, NAME, limit, BEFORE], not_found=True),
        f"{PREFIX}/plan": _get("latestPlan", "The latest plan (sensitive values redacted).",
                               "PlanView", not_found=True),
        f"{PREFIX}/plans": _get("listPlans", "Plans made, newest first.", "PlanList",
                                [limit, BEFORE]),
        f"{PREFIX}/plans/{{plan_id}}": _get(
            "getPlan", "One plan.", "PlanView",
            [{"name": "plan_id", "in": "path", "required": True,
              "schema": {"type": "integer", "minimum": 1}}], not_found=True),
        f"{PREFIX}/revisions": _get("listRevisions", "Revisions read from the source, newest "
                                    "first.", "RevisionList", [limit]),
        f"{PREFIX}/runs": _get("listRuns", "Reconcile runs, newest first.", "RunPage", [
            limit, BEFORE,
            _query("state", _enum([s.value for s in RunState]), "Only runs that ended so."),
        ]),
        f"{PREFIX}/events": _get("listEvents", "Events, newest first.", "EventPage", [
            limit, BEFORE,
            _query("kind", {"type": "string"}, "Only this kind of event (source, apply, "
                   "reconcile, webhook, drift, status, control, ...)."),
            _query("level", _enum([level.value for level in EventLevel]), "Only this level."),
            _query("resource", {"type": "string", "pattern": resource_pattern},
                   "Only events of this resource (Kind/name)."),
        ]),
        f"{PREFIX}/events/stream": {"get": {
            "operationId": "streamEvents",
            "summary": "Server-sent events: `status` (a ResourceSummary), `event` (an "
                       "EventRecord) and `reload`. Never ends while bosun runs.",
            "responses": {"200": {"description": "An event stream.",
                                  "content": {"text/event-stream": {
                                      "schema": {"type": "string"}}}},
                          "503": _json("Error", "Live updates are not available.")}}},
        f"{PREFIX}/schedules/runs": _get("listScheduleRuns", "Runs of schedules, newest "
                                         "first.", "ScheduleRunPage", [
            limit, BEFORE, _query("schedule", {"type": "string"}, "Only this Schedule."),
        ]),
        f"{PREFIX}/reconcile": {"post": {
            "operationId": "reconcile",
            "summary": "Queue a reconcile (collapses into one already waiting).",
            "security": [{"bearer": []}],
            "responses": {
                "202": _json("Accepted", "Queued."),
                "401": _json("Error", "Missing or wrong token."),
                "403": _json("Error", "No token is configured: the API is read-only."),
                "503": _json("Error", "bosun is stopping."),
            },
        }},
    }


@functools.cache
def document() -> dict[str, Any]:
    _, top = models_json_schema([(m, "serialization") for m in RESPONSES], ref_template=REF)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "bosun",
            "version": "1",
            "description": "Status of what bosun reconciles: resources, plans, revisions, "
                           "runs, events and schedule runs. Read-only without a token; "
                           "errors are `{\"error\": {\"code\", \"message\"}}`.",
        },
        "paths": _paths(),
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def openapi_endpoint(request: Request) -> Response:
    return Response(json.dumps(document()), media_type="application/json")
