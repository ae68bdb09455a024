"""GitLab REST (v4): merge request notes and commit statuses.

Endpoints (docs.gitlab.com/ee/api):

- ``GET /projects/:id/merge_requests/:iid/notes?per_page=100&sort=asc&order_by=created_at``
  (pages follow the ``X-Next-Page`` header),
- ``POST /projects/:id/merge_requests/:iid/notes`` ``{"body"}``,
- ``PUT /projects/:id/merge_requests/:iid/notes/:note_id`` ``{"body"}``,
- ``POST /projects/:id/statuses/:sha`` ``{"state", "name", "description", "target_url"}``.

``:id`` is the numeric project id or the URL-encoded ``group/project`` path.
GitLab's states are pending, running, success, failed, canceled; it answers
400 "Cannot transition status" when the status already is in the state
asked for, which counts as done.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from reconciler.forge.base import Comment, CommitState, ForgeError
from reconciler.forge.http import ApiClient
from reconciler.model.sensitive import Sensitive

PUBLIC_API = "https://gitlab.com/api/v4"
MAX_DESCRIPTION = 255
MAX_PAGES = 50
_STATES = {
    CommitState.PENDING: "pending",
    CommitState.SUCCESS: "success",
    CommitState.FAILURE: "failed",
    CommitState.ERROR: "failed",
}


class GitLab:
    name = "gitlab"

    def __init__(self, project: str | int, token: Sensitive, api: str = PUBLIC_API,
                 **client: Any) -> None:
        self.project = quote(str(project), safe="")
        self.http = ApiClient(api, {"Accept": "application/json"}, ("PRIVATE-TOKEN", ""),
                              token, forge="gitlab", **client)

    def close(self) -> None:
        self.http.close()

    def _mr(self, iid: int) -> str:
        return f"projects/{self.project}/merge_requests/{iid}/notes"

    def comments(self, number: int) -> list[Comment]:
        out: list[Comment] = []
        page = "1"
        for _ in range(MAX_PAGES):
            response = self.http.request("GET", self._mr(number), params={
                "per_page": 100, "page": page, "sort": "asc", "order_by": "created_at"})
            for item in response.json():
                if item.get("system"):
                    continue  # "added 1 commit" and friends
                out.append(Comment(id=int(item["id"]), body=str(item.get("body") or "")))
            page = response.headers.get("x-next-page", "")
            if not page:
                break
        return out

    def create_comment(self, number: int, body: str) -> int:
        response = self.http.request("POST", self._mr(number), json={"body": body})
        return int(response.json()["id"])

    def edit_comment(self, number: int, comment_id: int, body: str) -> None:
        self.http.request("PUT", f"{self._mr(number)}/{comment_id}", json={"body": body})

    def set_status(self, sha: str, context: str, state: CommitState, description: str,
                   target_url: str | None = None) -> None:
        payload: dict[str, Any] = {
            "state": _STATES[state], "name": context,
            "description": description[:MAX_DESCRIPTION],
        }
        if target_url:
            payload["target_url"] = target_url
        try:
            self.http.request("POST", f"projects/{self.project}/statuses/{sha}", json=payload)
        except ForgeError as exc:
            if exc.status == 400 and "cannot transition status" in str(exc).lower():
                return
            raise
