"""A ``:`` inside a plain scalar of a flow collection is valid YAML, and bosun reads it.

``volumes: [data:/data]`` is valid YAML 1.1 and 1.2 (the 1.2 spec's example
7.10 has ``[ ::vector, ... http://example.com/foo#bar ]``) and Compose reads it;
the C parser of ruamel.yaml.clib (libyaml 0.1's scanner) refuses it. bosun
reads such text with ruamel.yaml's pure parser, positions included, and still
reports the C parser's message for text that neither accepts. Needs the
Compose binary (a Python dependency), no engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from providers.compose.render import RenderCache, Renderer, stack_input
from reconciler.model.common import Kind, ResourceRef
from reconciler.pipeline import load_desired
from reconciler.secrets import Secrets
from reconciler.yamlnodes import YAMLSyntaxError, parse_documents

COMPOSE = """\
services:
  app:
    image: bosun.local/busybox:1
    command: [sh, -c, "echo ok", http://example.test:8080/a]
    volumes: [data:/data, ./conf:/conf:ro]
    extra_hosts: [host.docker.internal:host-gateway]
volumes: {data: {}}
"""


def test_flow_plain_scalars_with_colons_are_read_with_positions() -> None:
    [doc] = parse_documents(COMPOSE, "compose.yaml")
    app = doc.data["services"]["app"]
    assert app["volumes"] == ["data:/data", "./conf:/conf:ro"]
    assert app["command"][-1] == "http://example.test:8080/a"
    assert app["extra_hosts"] == ["host.docker.internal:host-gateway"]
    where = doc.positions[("services", "app", "volumes", 1)]
    assert (where.line, where.column) == (5, 27)


def test_the_spec_example_of_plain_characters() -> None:
    [doc] = parse_documents(
        "# YAML 1.2, example 7.10\n"
        "- ::vector\n- \": - ()\"\n- Up, up, and away!\n- -123\n- http://example.com/foo#bar\n"
        "- [ ::vector, \": - ()\", \"Up, up and away!\", -123, http://example.com/foo#bar ]\n",
        "spec.yaml")
    assert doc.data[-1] == ["::vector", ": - ()", "Up, up and away!", -123,
                            "http://example.com/foo#bar"]


@pytest.mark.parametrize("text, message", [
    ("a: b: c\n", "mapping values are not allowed in this context"),
    ("a: [b, c\n", "did not find expected ',' or ']'"),
])
def test_what_neither_parser_accepts_keeps_the_c_parsers_message(text: str,
                                                                 message: str) -> None:
    with pytest.raises(YAMLSyntaxError) as info:
        parse_documents(text, "bad.yaml")
    assert message in info.value.message


def test_a_stack_with_such_a_compose_file_renders_as_compose_reads_it(tmp_path: Path) -> None:
    (tmp_path / "bosun.yaml").write_text(json.dumps({
        "apiVersion": "bosun/v1", "kind": "Repository", "metadata": {"name": "t"},
        "spec": {"owner": "unit"}}))
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "conf").mkdir()
    (tmp_path / "app" / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "app" / "stack.yaml").write_text(
        "apiVersion: bosun/v1\nkind: Stack\nmetadata: {name: app}\n"
        "spec: {compose: compose.yaml}\n")
    desired = load_desired(tmp_path)
    res = desired.get(ResourceRef(kind=Kind.STACK, name="app"))
    assert res is not None and res.compose is not None
    assert res.compose.raw[0]["services"]["app"]["volumes"][0] == "data:/data"
    inp = stack_input(res, desired.root, Secrets(desired, {}))
    _, model = Renderer(RenderCache(tmp_path / "renders")).model(inp)
    volumes = model["services"]["app"]["volumes"]
    assert {(v["type"], v["source"].rsplit("/", 1)[-1], v["target"]) for v in volumes} == {
        ("volume", "data", "/data"), ("bind", "conf", "/conf")}
    assert model["services"]["app"]["extra_hosts"] in (
        ["host.docker.internal=host-gateway"], ["host.docker.internal:host-gateway"],
        {"host.docker.internal": ["host-gateway"]}, {"host.docker.internal": "host-gateway"})
