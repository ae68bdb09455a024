"""Webhook deliveries shaped like GitHub's and GitLab's, signed the way they sign them.

The payloads carry the fields the forges document for each event (``ref``,
``before``, ``after``, ``commits[].added/modified/removed``, ``repository``,
``pusher``, ``sender``, ``pull_request.head/base``, GitLab's
``object_kind``/``object_attributes``/``total_commits_count``...), so that the
receivers are tested against what the forges really send.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from typing import Any

ZERO = "0" * 40
OWNER = {"login": "ops-team", "id": 4242, "type": "Organization", "site_admin": False}
SENDER = {"login": "alice", "id": 1001, "type": "User", "site_admin": False}


def gh_repository(full_name: str = "ops-team/deploy") -> dict[str, Any]:
    name = full_name.rsplit("/", 1)[-1]
    return {
        "id": 186853002, "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=", "name": name,
        "full_name": full_name, "private": True, "owner": OWNER,
        "html_url": f"https://github.com/{full_name}", "fork": False,
        "url": f"https://github.com/{full_name}",
        "clone_url": f"https://github.com/{full_name}.git",
        "ssh_url": f"git@github.com:{full_name}.git", "default_branch": "main",
        "master_branch": "main", "pushed_at": 1557933657, "visibility": "private",
    }


def gh_commit(sha: str, message: str, added: Sequence[str] = (),
              modified: Sequence[str] = (), removed: Sequence[str] = ()) -> dict[str, Any]:
    person = {"name": "Alice", "email": "alice@example.test", "username": "alice"}
    return {
        "id": sha, "tree_id": hashlib.sha1(sha.encode()).hexdigest(), "distinct": True,
        "message": message, "timestamp": "2024-05-02T10:11:12+02:00",
        "url": f"https://github.com/ops-team/deploy/commit/{sha}",
        "author": person, "committer": person,
        "added": list(added), "removed": list(removed), "modified": list(modified),
    }


def github_push(ref: str, before: str, after: str, commits: list[dict[str, Any]] | None = None,
                full_name: str = "ops-team/deploy") -> dict[str, Any]:
    commits = commits if commits is not None else [gh_commit(after, "change", modified=["x"])]
    return {
        "ref": ref, "before": before, "after": after,
        "created": before == ZERO, "deleted": after == ZERO, "forced": False,
        "base_ref": None,
        "compare": f"https://github.com/{full_name}/compare/{before[:12]}...{after[:12]}",
        "commits": commits, "head_commit": commits[-1] if commits else None,
        "repository": gh_repository(full_name),
        "pusher": {"name": "alice", "email": "alice@example.test"},
        "sender": SENDER,
    }


def github_ping() -> dict[str, Any]:
    return {
        "zen": "Keep it logically awesome.", "hook_id": 4711,
        "hook": {"type": "Repository", "id": 4711, "name": "web", "active": True,
                 "events": ["push", "pull_request"],
                 "config": {"content_type": "json", "insecure_ssl": "0",
                            "url": "https://bosun.example.test/hooks/github"}},
        "repository": gh_repository(), "sender": SENDER,
    }


def github_pull_request(action: str, number: int, head_sha: str, base_ref: str = "main",
                        head_ref: str = "feature") -> dict[str, Any]:
    repo = gh_repository()
    return {
        "action": action, "number": number,
        "pull_request": {
            "url": f"https://api.github.com/repos/ops-team/deploy/pulls/{number}",
            "id": 279147437, "html_url": f"https://github.com/ops-team/deploy/pull/{number}",
            "number": number, "state": "open", "locked": False, "title": "Bump the blog",
            "user": SENDER, "body": "Please review.", "draft": False, "merged": False,
            "head": {"label": f"ops-team:{head_ref}", "ref": head_ref, "sha": head_sha,
                     "user": OWNER, "repo": repo},
            "base": {"label": f"ops-team:{base_ref}", "ref": base_ref, "sha": "f" * 40,
                     "user": OWNER, "repo": repo},
        },
        "repository": repo, "sender": SENDER,
    }


def github_headers(event: str, body: bytes, secret: bytes,
                   delivery: str | None = None) -> dict[str, str]:
    """Headers as GitHub sends them, signature included."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/8b8d5a6",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "4711",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
        "X-GitHub-Hook-Installation-Target-ID": "186853002",
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest(),
    }


def gl_project(path: str = "ops/deploy") -> dict[str, Any]:
    return {
        "id": 15, "name": path.rsplit("/", maxsplit=1)[-1], "description": "",
        "web_url": f"https://gitlab.example.test/{path}", "avatar_url": None,
        "git_ssh_url": f"git@gitlab.example.test:{path}.git",
        "git_http_url": f"https://gitlab.example.test/{path}.git",
        "namespace": path.split("/", maxsplit=1)[0], "visibility_level": 0,
        "path_with_namespace": path, "default_branch": "main",
        "homepage": f"https://gitlab.example.test/{path}",
        "url": f"git@gitlab.example.test:{path}.git",
        "ssh_url": f"git@gitlab.example.test:{path}.git",
        "http_url": f"https://gitlab.example.test/{path}.git",
    }


def gl_commit(sha: str, message: str, added: Sequence[str] = (),
              modified: Sequence[str] = (), removed: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "id": sha, "message": message, "title": message.splitlines()[0],
        "timestamp": "2024-05-02T10:11:12+02:00",
        "url": f"https://gitlab.example.test/ops/deploy/-/commit/{sha}",
        "author": {"name": "Alice", "email": "alice@example.test"},
        "added": list(added), "modified": list(modified), "removed": list(removed),
    }


def gitlab_push(ref: str, before: str, after: str, commits: list[dict[str, Any]] | None = None,
                total: int | None = None, kind: str = "push") -> dict[str, Any]:
    commits = commits if commits is not None else [gl_commit(after, "change", modified=["x"])]
    project = gl_project()
    return {
        "object_kind": kind, "event_name": kind, "before": before, "after": after,
        "ref": ref, "ref_protected": True, "checkout_sha": after, "message": None,
        "user_id": 4, "user_name": "Alice", "user_username": "alice",
        "user_email": "", "user_avatar": None, "project_id": 15, "project": project,
        "commits": commits, "total_commits_count": len(commits) if total is None else total,
        "push_options": {},
        "repository": {"name": project["name"], "url": project["url"], "description": "",
                       "homepage": project["homepage"], "git_http_url": project["git_http_url"],
                       "git_ssh_url": project["git_ssh_url"], "visibility_level": 0},
    }


def gitlab_merge_request(action: str, iid: int, head_sha: str, target: str = "main",
                         source: str = "feature") -> dict[str, Any]:
    project = gl_project()
    return {
        "object_kind": "merge_request", "event_type": "merge_request",
        "user": {"id": 1, "name": "Alice", "username": "alice", "avatar_url": None},
        "project": project, "repository": {"name": project["name"], "url": project["url"]},
        "object_attributes": {
            "id": 99, "iid": iid, "target_branch": target, "source_branch": source,
            "source_project_id": 15, "target_project_id": 15, "title": "Bump the blog",
            "state": "opened", "merge_status": "unchecked",
            "url": f"https://gitlab.example.test/ops/deploy/-/merge_requests/{iid}",
            "source": project, "target": project,
            "last_commit": {"id": head_sha, "message": "bump", "title": "bump",
                            "timestamp": "2024-05-02T10:11:12+02:00",
                            "url": f"https://gitlab.example.test/ops/deploy/-/commit/{head_sha}",
                            "author": {"name": "Alice", "email": "alice@example.test"}},
            "action": action,
        },
        "labels": [], "changes": {},
    }


def gitlab_headers(event: str, token: str, uuid_value: str | None = None,
                   idempotency: str | None = None) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json", "User-Agent": "GitLab/17.5.0",
        "X-Gitlab-Event": event, "X-Gitlab-Token": token,
        "X-Gitlab-Instance": "https://gitlab.example.test",
        "X-Gitlab-Webhook-UUID": str(uuid.uuid4()),
        "X-Gitlab-Event-UUID": uuid_value or str(uuid.uuid4()),
    }
    if idempotency is not None:
        headers["Idempotency-Key"] = idempotency
    return headers


def dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()
