"""The stored webhook payloads (tests/cases/forge/), pointed at a test's forge and commits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CASES = Path(__file__).parent / "cases/forge"
GITHUB_API = "https://api.github.com"
GITLAB_WEB = "https://gitlab.example.com"


def github(action: str, api: str, base_sha: str, head_sha: str) -> dict[str, Any]:
    """``pull_request`` payload ``action`` with its API URLs on ``api`` and the given commits."""
    text = (CASES / f"github-pull_request-{action}.json").read_text()
    body: dict[str, Any] = json.loads(text.replace(GITHUB_API, api))
    pull = body["pull_request"]
    old_head = pull["head"]["sha"]
    pull["base"]["sha"] = base_sha
    pull["head"]["sha"] = head_sha
    pull["statuses_url"] = pull["statuses_url"].replace(old_head, head_sha)
    if "after" in body:
        body["after"] = head_sha
    return body


def gitlab(action: str, web: str, head_sha: str) -> dict[str, Any]:
    """``Merge Request Hook`` payload ``action`` on the GitLab at ``web``, head ``head_sha``."""
    text = (CASES / f"gitlab-merge_request-{action}.json").read_text()
    body: dict[str, Any] = json.loads(text.replace(GITLAB_WEB, web))
    commit = body["object_attributes"]["last_commit"]
    commit["url"] = commit["url"].replace(commit["id"], head_sha)
    commit["id"] = head_sha
    return body
