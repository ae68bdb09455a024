"""The checked-in JSON Schemas equal what the models generate, and they accept the examples.

When this fails after a model change, run ``make schemas`` (``bosun schema
export``) and commit the result.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from jsonschema import Draft202012Validator

from reconciler.cli import cli
from reconciler.model import Kind
from reconciler.schema import render_schema, schemas
from reconciler.yamlnodes import parse_documents

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"


def test_checked_in_schemas_match_the_models() -> None:
    generated = schemas()
    assert sorted(generated) == sorted(
        [f"{k.value.lower()}.json" for k in Kind] + ["bosun.json"]
    )
    on_disk = sorted(p.name for p in SCHEMAS.glob("*.json"))
    assert on_disk == sorted(generated), "schemas/ holds other files: run `make schemas`"
    for name, schema in generated.items():
        text = (SCHEMAS / name).read_text(encoding="utf-8")
        assert text == render_schema(schema), f"schemas/{name} is stale: run `make schemas`"


def test_export_writes_the_same_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["schema", "export", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Wrote 11 schemas" in result.stdout
    for path in SCHEMAS.glob("*.json"):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()


def _example_documents() -> list[tuple[str, dict[str, object]]]:
    out = []
    for path in sorted((ROOT / "examples").rglob("*.yaml")):
        for doc in parse_documents(path.read_text(encoding="utf-8"), path.name):
            if isinstance(doc.data, dict) and doc.data.get("apiVersion") == "bosun/v1":
                out.append((f"{path.relative_to(ROOT)}#{doc.index}", doc.data))
    return out


def test_examples_validate_against_the_schemas() -> None:
    docs = _example_documents()
    assert len(docs) >= 5
    any_doc = Draft202012Validator(json.loads((SCHEMAS / "bosun.json").read_text()))
    for where, data in docs:
        errors = [e.message for e in any_doc.iter_errors(data)]
        assert not errors, f"{where}: {errors}"
        own = json.loads((SCHEMAS / f"{str(data['kind']).lower()}.json").read_text())
        assert not list(Draft202012Validator(own).iter_errors(data)), where


def test_schemas_reject_what_the_models_reject() -> None:
    stack = json.loads((SCHEMAS / "stack.json").read_text())
    validator = Draft202012Validator(stack)
    good = {"apiVersion": "bosun/v1", "kind": "Stack", "metadata": {"name": "web"},
            "spec": {"compose": "compose.yaml", "health": {"timeout": "90s"}}}
    assert validator.is_valid(good)
    for bad_spec in ({"compose": "c.yaml", "composer": 1}, {"compose": 5},
                     {"compose": "c.yaml", "state": "runing"},
                     {"compose": "c.yaml", "health": {"timeout": "2 minutes"}}):
        assert not validator.is_valid({**good, "spec": bad_spec}), bad_spec
    assert not validator.is_valid({**good, "metadata": {"name": "Web_1"}})
    assert not validator.is_valid({k: v for k, v in good.items() if k != "kind"})


def test_schema_ids_name_their_files() -> None:
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text())
        assert schema["$id"].endswith("/" + path.name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
