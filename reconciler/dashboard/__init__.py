"""The read-only dashboard: server-rendered pages, English and Chinese, live by SSE.

Part of the read side of stage *record*. Jinja2 templates (package data
beside this module) render what ``reconciler.api.views`` builds from the
state store: an overview (counts by sync and health, current revision, last
reconcile, failing resources first), a page per resource, the events and the
latest plan. Every page is complete without JavaScript; ``static/live.js``
(vanilla, no build step) listens to ``/api/v1/events/stream`` and swaps in a
fresh copy of the page's ``<main>`` when something it shows changed. Every
rendered page goes through the log scrubber (plain and HTML-escaped), so a
secret value that reached a message still never reaches a page.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from reconciler.api import views
from reconciler.api.errors import CODES
from reconciler.dashboard.i18n import LANGUAGES, TAGS, choose, translate
from reconciler.logs import registered
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.sensitive import REDACTED, Sensitive
from reconciler.model.status import HealthState, Sync
from reconciler.state import StateStore

STATIC_VERSION = "1"
SHOWN_KINDS = [k.value for k in Kind if k not in (Kind.REPOSITORY, Kind.SECRET, Kind.POLICY)]


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def scrub_html(html: str) -> str:
    """``html`` without any registered secret value, as text or HTML-escaped."""
    for value in registered():
        html = html.replace(value, REDACTED).replace(str(escape(value)), REDACTED)
    return html


ENV = Environment(loader=PackageLoader("reconciler.dashboard", "templates"),
                  autoescape=select_autoescape(default=True), finalize=_finalize,
                  trim_blocks=True, lstrip_blocks=True)


def short_revision(revision: str) -> str:
    ref, _, sha = revision.partition("@sha1:")
    return f"{ref}@{sha[:7]}" if sha else revision


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, Sensitive):
        return str(value)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


class Page:
    """What every template gets: the language, translation and links that keep it."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.explicit = request.query_params.get("lang")
        self.lang = choose(self.explicit, request.headers.get("accept-language"))

    def t(self, key: str) -> str:
        return translate(self.lang, key)

    def link(self, path: str, **params: Any) -> str:
        query = {k: v for k, v in params.items() if v not in (None, "")}
        if self.explicit and self.explicit in LANGUAGES:
            query["lang"] = self.explicit
        return path + ("?" + urlencode(query) if query else "")

    def resource_link(self, kind: str, name: str) -> str:
        return self.link(f"/resources/{kind}/{name}")

    def switch_lang(self, code: str) -> str:
        query = {k: v for k, v in self.request.query_params.items() if k != "lang"}
        query["lang"] = code
        return self.request.url.path + "?" + urlencode(query)

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = scrub_html(ENV.get_template(template).render(
            t=self.t, link=self.link, resource_link=self.resource_link,
            switch_lang=self.switch_lang, lang=self.lang, lang_tag=TAGS[self.lang],
            languages=list(LANGUAGES.items()), static=_static, short_revision=short_revision,
            show=_show, **context))
        return HTMLResponse(html, status_code=status,
                            headers={"Content-Language": TAGS[self.lang],
                                     "Vary": "Accept-Language"})


def _static(name: str) -> str:
    return f"/static/{name}?v={STATIC_VERSION}"


def _store(request: Request) -> StateStore:
    store: StateStore = request.app.state.store
    return store


def html_error(request: Request, status: int, message: str) -> Response:
    code = CODES.get(status, "error")
    if code not in ("not_found", "method_not_allowed", "bad_request", "internal_error"):
        code = "error"
    return Page(request).render("error.html", status=status, code=code, message=message)


def _filter(request: Request, name: str, enum: type[Kind] | type[Sync] | type[HealthState]
            ) -> Any:
    text = request.query_params.get(name)
    if not text:
        return None
    try:
        return enum(text)
    except ValueError:
        return None


def overview_page(request: Request) -> Response:
    page = Page(request)
    store = _store(request)
    view = views.overview(store)
    kind = _filter(request, "kind", Kind)
    sync = _filter(request, "sync", Sync)
    health = _filter(request, "health", HealthState)
    items = [r for r in view.resources if (kind is None or r.kind is kind)
             and (sync is None or r.sync is sync) and (health is None or r.health is health)]
    filters = {k: v.value for k, v in (("kind", kind), ("sync", sync), ("health", health))
               if v is not None}
    return page.render("overview.html", view=view, items=items, filters=filters,
                       kinds=SHOWN_KINDS)


def resource_page(request: Request) -> Response:
    page = Page(request)
    try:
        ref = ResourceRef(kind=Kind(request.path_params["kind"]),
                          name=request.path_params["name"])
    except ValueError:
        return html_error(request, 404, f"no kind {request.path_params['kind'][:40]!r}")
    detail = views.resource_detail(_store(request), ref)
    if detail is None:
        return html_error(request, 404, f"no resource {ref}")
    return page.render("resource.html", detail=detail, ref_text=str(ref))


def events_page(request: Request) -> Response:
    page = Page(request)
    text = request.query_params.get("before", "")
    before = int(text) if text.isdigit() and len(text) < 18 else None
    limit = 100
    events = _store(request).event_page(limit=limit, before=before)
    following = events[-1].id if len(events) == limit else None
    return page.render("events.html", events=events, before=before, next=following)


def plan_page(request: Request) -> Response:
    record = _store(request).plan_record()
    plan = views.plan_view(record) if record is not None else None
    return Page(request).render("plan.html", plan=plan)


def routes() -> list[BaseRoute]:
    get = ["GET"]
    return [
        Route("/", overview_page, methods=get, name="dashboard"),
        Route("/resources/{kind}/{name}", resource_page, methods=get, name="dashboard-resource"),
        Route("/events", events_page, methods=get, name="dashboard-events"),
        Route("/plan", plan_page, methods=get, name="dashboard-plan"),
        Mount("/static", StaticFiles(packages=[("reconciler.dashboard", "static")]),
              name="static"),
    ]
