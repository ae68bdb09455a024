"""Plan renderers: text (Terraform's marks and summary), JSON (stable), Markdown."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from reconciler.model import (
    Change,
    ChangeAction,
    FieldDiff,
    Plan,
    PlanError,
    PlanWarning,
    PolicyResult,
    ResourceRef,
)
from reconciler.render import render, render_json, render_markdown, render_text

REF = ResourceRef.parse


def _plan(**extra: object) -> Plan:
    changes = (
        Change(action=ChangeAction.CREATE, ref=REF("Stack/blog"), provider="compose",
               reason="Stack/blog does not exist yet",
               diffs=(FieldDiff(path="spec.compose", after="compose.yaml"),)),
        Change(action=ChangeAction.UPDATE, ref=REF("Route/blog"), provider="caddy",
               reason="changed: spec.hosts",
               diffs=(FieldDiff(path="spec.hosts", before=["a.example.com"],
                                after=["a.example.com", "b.example.com"]),
                      FieldDiff(path="spec.tls", before="auto", after=None),
                      FieldDiff(path="spec.path", before=None, after="/blog"))),
        Change(action=ChangeAction.REPLACE, ref=REF("DNSRecord/www"), provider="dns",
               reason="type changes from A to CNAME", details=("the old A record goes first",)),
        Change(action=ChangeAction.DELETE, ref=REF("Schedule/old"), provider="memory",
               reason="removed from the repository"),
    )
    fields: dict[str, object] = {
        "revision": "main@sha1:0123456789abcdef", "desired_digest": "sha256:" + "a" * 64,
        "observed_digest": "sha256:" + "b" * 64, "changes": changes,
        "created_at": datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    }
    fields.update(extra)
    return Plan.model_validate(fields)


def test_text_marks_and_summary() -> None:
    text = render_text(_plan())
    lines = text.splitlines()
    assert lines[0] == "bosun plan for main@sha1:0123456789abcdef (desired aaaaaaaaaaaa)"
    assert "  + Stack/blog  (create: Stack/blog does not exist yet)" in lines
    assert "  ~ Route/blog  (update: changed: spec.hosts)" in lines
    assert '      ~ spec.hosts: ["a.example.com"] -> ["a.example.com", "b.example.com"]' in lines
    assert '      - spec.tls = "auto"' in lines
    assert '      + spec.path = "/blog"' in lines
    assert "  -/+ DNSRecord/www  (replace: type changes from A to CNAME)" in lines
    assert "      the old A record goes first" in lines
    assert "  - Schedule/old  (delete: removed from the repository)" in lines
    assert lines[-1] == "Plan: 2 to add, 1 to change, 2 to destroy."
    # order of the changes is the plan's order
    marks = [line.split()[0] for line in lines if line.startswith("  ") and "(" in line]
    assert marks == ["+", "~", "-/+", "-"]
    assert "\x1b[" not in text
    assert "\x1b[32m+\x1b[0m" in render_text(_plan(), color=True)


def test_no_changes() -> None:
    plan = _plan(changes=())
    assert plan.summary() == "No changes."
    assert render_text(plan).splitlines()[-1] == "No changes."
    assert json.loads(render_json(plan))["summary"]["text"] == "No changes."
    assert "No changes." in render_markdown(plan).splitlines()[0]


def test_errors_warnings_and_policy_in_text() -> None:
    plan = _plan(
        errors=(PlanError(ref=REF("Host/box"), provider="compose", message="engine unreachable"),),
        warnings=(PlanWarning(message="no provider for DNSZone"),),
        policy=(PolicyResult(rule="BOSUN-S001", policy="no-privileged", ref=REF("Stack/blog"),
                             message="services must not run privileged", enforced=True,
                             position="stack.yaml:1:1"),),
    )
    text = render_text(plan)
    assert "  ! Host/box: compose: engine unreachable" in text
    assert "Warning: no provider for DNSZone" in text
    assert ("Error: policy BOSUN-S001: Stack/blog (stack.yaml:1:1): services must not run "
            "privileged") in text
    assert "1 error(s) above (state that could not be read" in text
    assert text.rstrip().endswith("Enforced policy violations: this plan will not be applied.")


def test_json_is_stable_and_documented() -> None:
    first = render_json(_plan())
    assert first == render_json(_plan())  # same plan, same bytes
    data = json.loads(first)
    assert list(data) == ["format_version", "digest", "revision", "desired_digest",
                          "observed_digest", "created_at", "summary", "changes", "errors",
                          "warnings", "policy"]
    assert data["format_version"] == 1
    assert data["summary"] == {"text": "Plan: 2 to add, 1 to change, 2 to destroy.",
                               "create": 1, "update": 1, "replace": 1, "delete": 1}
    assert [c["action"] for c in data["changes"]] == ["create", "update", "replace", "delete"]
    update = data["changes"][1]
    assert update == {
        "action": "update", "resource": "Route/blog", "kind": "Route", "name": "blog",
        "provider": "caddy", "reason": "changed: spec.hosts", "details": [],
        "diffs": [
            {"path": "spec.hosts", "before": ["a.example.com"],
             "after": ["a.example.com", "b.example.com"], "sensitive": False},
            {"path": "spec.tls", "before": "auto", "after": None, "sensitive": False},
            {"path": "spec.path", "before": None, "after": "/blog", "sensitive": False},
        ],
    }
    assert data["digest"] == _plan().digest()
    assert data["digest"] == _plan(created_at=None).digest(), "creation time is not identity"


def test_markdown_for_pull_requests() -> None:
    md = render_markdown(_plan())
    lines = md.splitlines()
    assert lines[0] == "### 📝 bosun: Plan: 2 to add, 1 to change, 2 to destroy."
    assert "<details><summary>4 change(s): 1 create, 1 update, 1 replace, 1 delete</summary>" in md
    assert "```diff" in lines and "</details>" in lines
    assert lines.count("```") == 1 and md.count("```") == 2
    assert render(_plan(), "markdown") == md


def test_markdown_is_truncated_within_limits() -> None:
    many = tuple(
        Change(action=ChangeAction.CREATE, ref=REF(f"DNSRecord/r{i}"), provider="dns",
               reason="x" * 200)
        for i in range(500)
    )
    md = render_markdown(_plan(changes=many), limit=20000)
    assert len(md) <= 20000
    assert md.count("```") % 2 == 0
    assert "> Truncated: the full plan is" in md
    assert "</details>" in md
