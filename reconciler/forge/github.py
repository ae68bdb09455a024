"""GitHub REST: issue comments on pull requests and commit statuses.

Endpoints (docs.github.com/rest, API version 2022-11-28):

- ``GET /repos/{owner}/{repo}/issues/{number}/comments?per_page=100`` (pages
  follow the ``Link: <...>; rel="next"`` header),
- ``POST /repos/{owner}/{repo}/issues/{number}/comments`` ``{"body"}``,
- ``PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}`` ``{"body"}``,
- ``POST /repos/{owner}/{repo}/statuses/{sha}``
  ``{"state", "context", "description", "target_url"}``.

A pull request is an issue for comments; its conversation shows them.
"""

from __future__ import annotations

from typing import Any

from reconciler.forge.base import Comment, CommitState, ForgeError
from reconciler.forge.http import ApiClient
from reconciler.model.sensitive import Sensitive

PUBLIC_API = "https://api.github.com"
MAX_DESCRIPTION = 140  # GitHub answers 422 past this
MAX_PAGES = 50


class GitHub:
    name = "github"

    def __init__(self, repository: str, token: Sensitive, api: str = PUBLIC_API,
                 **client: Any) -> None:
        owner, sep, repo = repository.partition("/")
        if not sep or not owner or not repo or "/" in repo:
            raise ForgeError(f"github: {repository!r} is not of the form owner/name")
        self.repository = repository
        self.http = ApiClient(
            api,
            {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
            ("Authorization", "Bearer "), token, forge="github", **client,
        )

    def close(self) -> None:
        self.http.close()

    def comments(self, number: int) -> list[Comment]:
        out: list[Comment] = []
        path: str | None = f"repos/{self.repository}/issues/{number}/comments"
        params: dict[str, Any] | None = {"per_page": 100}
        for _ in range(MAX_PAGES):
            if path is None:
                break
            response = self.http.request("GET", path, params=params)
            for item in response.json():
                out.append(Comment(id=int(item["id"]), body=str(item.get("body") or "")))
            following = response.links.get("next", {}).get("url")
            path, params = (following, None) if following else (None, None)
        return out

    def create_comment(self, number: int, body: str) -> int:
        response = self.http.request(
            "POST", f"repos/{self.repository}/issues/{number}/comments", json={"body": body})
        return int(response.json()["id"])

    def edit_comment(self, number: int, comment_id: int, body: str) -> None:
        self.http.request("PATCH", f"repos/{self.repository}/issues/comments/{comment_id}",
                          json={"body": body})

    def set_status(self, sha: str, context: str, state: CommitState, description: str,
                   target_url: str | None = None) -> None:
        payload: dict[str, Any] = {
            "state": state.value, "context": context,
            "description": description[:MAX_DESCRIPTION],
        }
        if target_url:
            payload["target_url"] = target_url
        self.http.request("POST", f"repos/{self.repository}/statuses/{sha}", json=payload)
