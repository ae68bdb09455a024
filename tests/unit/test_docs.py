"""The documents that describe formats stay true: docs/plan-json.md and the README reference."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
from reconciler.model.plan import PLAN_FORMAT_VERSION
from reconciler.reference import BEGIN, END, manifest_reference
from reconciler.render import plan_json, render_json

ROOT = Path(__file__).resolve().parents[2]
REF = ResourceRef.parse


def _example_plan() -> Plan:
    return Plan(
        revision="main@sha1:4f2a9c1e0b7d3a5c6e8f9a0b1c2d3e4f5a6b7c8d",
        desired_digest="sha256:" + "3b" * 32, observed_digest="sha256:" + "9e" * 32,
        changes=(
            Change(action=ChangeAction.CREATE, ref=REF("Stack/blog"), provider="compose",
                   reason="Stack/blog does not exist yet",
                   diffs=(FieldDiff(path="spec.compose", after="compose.yaml"),)),
            Change(action=ChangeAction.UPDATE, ref=REF("Route/blog"), provider="caddy",
                   reason="changed: spec.hosts",
                   diffs=(FieldDiff(path="spec.hosts", before=["blog.example.com"],
                                    after=["blog.example.com", "www.example.com"]),
                          FieldDiff(path="spec.env.TOKEN", before="a", after="b",
                                    sensitive=True)),
                   details=("one request to the gateway edge",)),
        ),
        errors=(PlanError(ref=REF("DNSZone/example-com"), provider="dns",
                          message="AXFR refused"),),
        warnings=(PlanWarning(message="no provider installed for Schedule: planned against "
                                      "the memory provider"),),
        policy=(PolicyResult(rule="BOSUN-S001", policy="no-privileged", ref=REF("Stack/blog"),
                             message="services must not run privileged", enforced=False,
                             position="stacks/blog/stack.yaml:1:1"),),
        created_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    )


def _doc() -> str:
    return (ROOT / "docs" / "plan-json.md").read_text(encoding="utf-8")


def test_the_example_is_what_the_renderer_prints() -> None:
    found = re.search(r"<!-- plan-json-example:begin[^\n]*\n```json\n(.*?)```\n", _doc(), re.S)
    assert found, "docs/plan-json.md lost its example block"
    assert found.group(1) == render_json(_example_plan())


def _keys(value: Any, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(value, dict):
        for key, child in value.items():
            out.add(key)
            out |= _keys(child, f"{prefix}{key}.")
    elif isinstance(value, list):
        for child in value:
            out |= _keys(child, prefix)
    return out


def test_every_field_is_documented() -> None:
    doc = _doc()
    data = plan_json(_example_plan())
    assert data["format_version"] == PLAN_FORMAT_VERSION == 1
    for key in _keys(data) - {"text"}:
        assert f"`{key}`" in doc, f"docs/plan-json.md does not describe `{key}`"
    assert json.loads(render_json(_example_plan()))["summary"]["text"] in doc


def test_readme_manifest_reference_is_generated() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert BEGIN in readme and END in readme
    block = readme[readme.index(BEGIN):readme.index(END) + len(END)] + "\n"
    assert block == manifest_reference(), (
        "README manifest reference is stale: run "
        "`.venv/bin/python -m reconciler.reference --write README.md`"
    )


def test_reference_lists_every_field_of_every_kind() -> None:
    from pydantic import BaseModel

    from reconciler.model import KIND_MODELS

    text = manifest_reference()
    for kind, model in KIND_MODELS.items():
        assert f"#### {kind.value}\n" in text
        spec = model.model_fields["spec"].annotation
        assert isinstance(spec, type) and issubclass(spec, BaseModel)
        for name, info in spec.model_fields.items():
            assert f"| `spec.{info.alias or name}` |" in text, f"{kind.value}.spec.{name}"


def test_readme_shows_the_schema_modeline() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "# yaml-language-server: $schema=../schemas/bosun.json" in readme
    assert "# yaml-language-server: $schema=https://bosun.dev/schemas/v1/bosun.json" in readme
    for line in re.findall(r"\$schema=(\S+)", readme):
        if not line.startswith("http"):
            continue
        assert line.rsplit("/", 1)[1] in {p.name for p in (ROOT / "schemas").glob("*.json")}


def test_readme_validation_example_is_real() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    case = "tests/cases/invalid/070-several-problems-at-once"
    expected = (ROOT / case / "expected.txt").read_text(encoding="utf-8").splitlines()
    shown = [f"{case}/{line}" for line in expected]
    assert "\n".join(shown) in readme
    assert f"bosun: {len(expected)} problems found; nothing was done." in readme
