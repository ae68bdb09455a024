"""A small GitHub and GitLab for tests: the REST endpoints bosun calls, on loopback.

No forge is reachable from the test machines, so this server implements the
endpoints as the forges document them (paths, methods, status codes, headers
such as ``Link`` and ``X-Next-Page``, response bodies, error bodies) and keeps
state, so that a test can assert on the exact requests bosun sent and on what
the forge would now show. ``fail_next`` queues canned failures (rate limits,
5xx) for the next requests.

GitHub: ``/repos/{owner}/{repo}/issues/{n}/comments`` (GET, POST),
``/repos/{owner}/{repo}/issues/comments/{id}`` (PATCH),
``/repos/{owner}/{repo}/statuses/{sha}`` (POST).
GitLab, under ``/api/v4``: ``/projects/{id}/merge_requests/{iid}/notes``
(GET, POST), ``.../notes/{id}`` (PUT), ``/projects/{id}/statuses/{sha}`` (POST).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

GITHUB_STATES = {"error", "failure", "pending", "success"}
GITLAB_STATES = {"pending", "running", "success", "failed", "canceled", "skipped"}
STAMP = "2024-05-01T12:00:00Z"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


@dataclass
class ForgeState:
    github_token: str
    gitlab_token: str
    page_size: int = 100
    requests: list[Recorded] = field(default_factory=list)
    comments: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    statuses: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    fail_next: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)
    next_id: int = 1000
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def calls(self, method: str | None = None) -> list[tuple[str, str]]:
        """(method, path) of every request, optionally of one method."""
        return [(r.method, r.path) for r in self.requests if method in (None, r.method)]

    def status_states(self, repo: str, sha: str) -> list[tuple[str, str]]:
        """(context, state) of every status set on ``sha``, in order."""
        return [(s["context"], s["state"]) for s in self.statuses.get((repo, sha), [])]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        state = self.server.state
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        keep = ("authorization", "private-token", "accept", "content-type",
                "x-github-api-version", "user-agent")
        headers = {k.lower(): v for k, v in self.headers.items() if k.lower() in keep}
        with state.lock:
            state.requests.append(Recorded(self.command, parts.path, query, headers, body))
            failure = state.fail_next.pop(0) if state.fail_next else None
        if failure is not None:
            status, extra, payload = failure
            self._send(status, payload, extra)
            return
        segments = parts.path.strip("/").split("/")
        if segments[:2] == ["api", "v4"]:
            self._gitlab(segments[2:], query, body)
        else:
            self._github(segments, query, body)

    do_GET = do_POST = do_PATCH = do_PUT = _handle  # noqa: N815  (http.server names)

    # -- GitHub -------------------------------------------------------------

    def _github(self, seg: list[str], query: dict[str, str], body: Any) -> None:
        state = self.server.state
        if self.headers.get("Authorization") not in (f"Bearer {state.github_token}",
                                                     f"token {state.github_token}"):
            self._send(401, {"message": "Bad credentials",
                             "documentation_url": "https://docs.github.com/rest"})
            return
        if len(seg) < 4 or seg[0] != "repos":
            self._send(404, {"message": "Not Found",
                             "documentation_url": "https://docs.github.com/rest"})
            return
        repo = f"{seg[1]}/{seg[2]}"
        rest = seg[3:]
        base = f"http://{self.headers.get('Host')}"
        if rest[:1] == ["issues"] and len(rest) == 3 and rest[2] == "comments":
            number = int(rest[1])
            comments = state.comments.setdefault((repo, number), [])
            if self.command == "GET":
                per_page = min(int(query.get("per_page", 30)), 100, state.page_size)
                page = int(query.get("page", 1))
                chunk = comments[(page - 1) * per_page: page * per_page]
                links = []
                last = max(1, -(-len(comments) // per_page))
                path = f"{base}/repos/{repo}/issues/{number}/comments"
                if page < last:
                    links.append(f'<{path}?per_page={per_page}&page={page + 1}>; rel="next"')
                    links.append(f'<{path}?per_page={per_page}&page={last}>; rel="last"')
                self._send(200, chunk, {"Link": ", ".join(links)} if links else None)
                return
            if self.command == "POST":
                if not isinstance(body, dict) or not isinstance(body.get("body"), str):
                    self._send(422, {"message": "Invalid request.\n\n\"body\" wasn't supplied."})
                    return
                cid = state.new_id()
                comment = {
                    "id": cid, "node_id": f"IC_{cid}",
                    "url": f"{base}/repos/{repo}/issues/comments/{cid}",
                    "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{cid}",
                    "issue_url": f"{base}/repos/{repo}/issues/{number}",
                    "body": body["body"], "user": {"login": "bosun-bot", "id": 1,
                                                   "type": "Bot"},
                    "created_at": STAMP, "updated_at": STAMP,
                    "author_association": "NONE",
                }
                comments.append(comment)
                self._send(201, comment, {"Location": comment["url"]})
                return
        if rest[:2] == ["issues", "comments"] and len(rest) == 3 and self.command == "PATCH":
            cid = int(rest[2])
            for comment in (c for (r, _), cs in state.comments.items() if r == repo for c in cs):
                if comment["id"] == cid:
                    comment["body"] = body["body"]
                    comment["updated_at"] = STAMP
                    self._send(200, comment)
                    return
            self._send(404, {"message": "Not Found",
                             "documentation_url": "https://docs.github.com/rest"})
            return
        if rest[:1] == ["statuses"] and len(rest) == 2 and self.command == "POST":
            if not isinstance(body, dict) or body.get("state") not in GITHUB_STATES:
                self._send(422, {"message": "Validation Failed",
                                 "errors": [{"resource": "Status", "field": "state",
                                             "code": "custom"}]})
                return
            if len(body.get("description") or "") > 140:
                self._send(422, {"message": "Validation Failed",
                                 "errors": [{"resource": "Status", "code": "custom",
                                             "field": "description",
                                             "message": "description is too long "
                                             "(maximum is 140 characters)"}]})
                return
            sid = state.new_id()
            status = {
                "url": f"{base}/repos/{repo}/statuses/{rest[1]}", "id": sid,
                "node_id": f"SC_{sid}", "state": body["state"],
                "description": body.get("description"), "target_url": body.get("target_url"),
                "context": body.get("context", "default"), "created_at": STAMP,
                "updated_at": STAMP, "creator": {"login": "bosun-bot", "id": 1},
            }
            state.statuses.setdefault((repo, rest[1]), []).append(status)
            self._send(201, status)
            return
        self._send(404, {"message": "Not Found",
                         "documentation_url": "https://docs.github.com/rest"})

    # -- GitLab -------------------------------------------------------------

    def _gitlab(self, seg: list[str], query: dict[str, str], body: Any) -> None:
        state = self.server.state
        if self.headers.get("PRIVATE-TOKEN") != state.gitlab_token:
            self._send(401, {"message": "401 Unauthorized"})
            return
        if len(seg) < 3 or seg[0] != "projects":
            self._send(404, {"error": "404 Not Found"})
            return
        project = unquote(seg[1])
        rest = seg[2:]
        if rest[:1] == ["merge_requests"] and len(rest) >= 3 and rest[2] == "notes":
            iid = int(rest[1])
            notes = state.comments.setdefault((project, iid), [])
            if len(rest) == 3 and self.command == "GET":
                per_page = min(int(query.get("per_page", 20)), 100, state.page_size)
                page = int(query.get("page", 1))
                total_pages = max(1, -(-len(notes) // per_page))
                chunk = notes[(page - 1) * per_page: page * per_page]
                self._send(200, chunk, {
                    "X-Page": str(page), "X-Per-Page": str(per_page),
                    "X-Total": str(len(notes)), "X-Total-Pages": str(total_pages),
                    "X-Next-Page": str(page + 1) if page < total_pages else "",
                    "X-Prev-Page": str(page - 1) if page > 1 else "",
                })
                return
            if len(rest) == 3 and self.command == "POST":
                if not isinstance(body, dict) or not body.get("body"):
                    self._send(400, {"message": {"note": ["can't be blank"]}})
                    return
                nid = state.new_id()
                note = {
                    "id": nid, "type": None, "body": body["body"], "attachment": None,
                    "author": {"id": 1, "username": "bosun-bot", "name": "bosun",
                               "state": "active"},
                    "created_at": STAMP, "updated_at": STAMP, "system": False,
                    "noteable_id": 99, "noteable_type": "MergeRequest", "noteable_iid": iid,
                    "resolvable": False, "confidential": False, "internal": False,
                }
                notes.append(note)
                self._send(201, note)
                return
            if len(rest) == 4 and self.command == "PUT":
                for note in notes:
                    if note["id"] == int(rest[3]):
                        note["body"] = body["body"]
                        note["updated_at"] = STAMP
                        self._send(200, note)
                        return
                self._send(404, {"message": "404 Not found"})
                return
        if rest[:1] == ["statuses"] and len(rest) == 2 and self.command == "POST":
            if not isinstance(body, dict) or body.get("state") not in GITLAB_STATES:
                self._send(400, {"error": "state does not have a valid value"})
                return
            name = body.get("name") or body.get("context") or "default"
            history = state.statuses.setdefault((project, rest[1]), [])
            previous = [s for s in history if s["context"] == name]
            if previous and previous[-1]["state"] == body["state"]:
                self._send(400, {"message": (
                    f"Cannot transition status via :{body['state']} from "
                    f":{body['state']} (Reason(s): Status cannot transition via "
                    f"\"{body['state']}\")")})
                return
            sid = state.new_id()
            status = {
                "id": sid, "sha": rest[1], "ref": body.get("ref"), "status": body["state"],
                "name": name, "target_url": body.get("target_url"),
                "description": body.get("description"), "created_at": STAMP,
                "started_at": None, "finished_at": None, "allow_failure": False,
                "coverage": None, "author": {"id": 1, "username": "bosun-bot"},
                # recorded under the keys the tests compare across forges
                "context": name, "state": body["state"],
            }
            history.append(status)
            self._send(201, {k: v for k, v in status.items() if k not in ("context", "state")})
            return
        self._send(404, {"error": "404 Not Found"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: ForgeState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


@contextmanager
def running(github_token: str = "ghp-test-token-0001",
            gitlab_token: str = "glpat-test-token-0001") -> Iterator[tuple[str, ForgeState]]:
    """A forge on a random loopback port: (base URL, state)."""
    state = ForgeState(github_token=github_token, gitlab_token=gitlab_token)
    server = _Server(state)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
