"""Rendering through Compose, the render cache, and secrets kept out of it.

Needs the Compose binary (a Python dependency), no engine.
"""

from __future__ import annotations

import json
from pathlib import Path

from providers.compose.observed import HostState, Project, Volume
from providers.compose.render import (
    RenderCache,
    Renderer,
    input_key,
    redact_model,
    restore_model,
    stack_input,
)
from providers.compose.target import inject, stack_labels
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.sensitive import Sensitive
from reconciler.pipeline import load_desired
from reconciler.secrets import Secrets

SECRET = "s3cr3t-value-42"


def make_repo(root: Path, greeting: str = "hello", mounted: str = "v1") -> Path:
    (root / "app").mkdir(parents=True)
    (root / "bosun.yaml").write_text(json.dumps({
        "apiVersion": "bosun/v1", "kind": "Repository", "metadata": {"name": "t"},
        "spec": {"owner": "unit"}}))
    (root / "app" / "conf.txt").write_text(mounted)
    (root / "app" / "compose.yaml").write_text(json.dumps({
        "services": {
            "web": {"image": "bosun.local/busybox:1",
                    "environment": {"GREETING": "${GREETING}", "DB_URL": "pg://u:${PW}@db/x"},
                    "volumes": ["./conf.txt:/conf.txt:ro", "data:/data"]},
            "worker": {"image": "bosun.local/busybox:1", "command": ["sleep", "9"]}},
        "volumes": {"data": {}}}))
    (root / "app" / "stack.yaml").write_text(json.dumps({
        "apiVersion": "bosun/v1", "kind": "Stack", "metadata": {"name": "app"},
        "spec": {"compose": "compose.yaml",
                 "env": {"GREETING": greeting, "PW": {"secret": "db", "key": "pw"}}}}))
    (root / "secret.yaml").write_text(json.dumps({
        "apiVersion": "bosun/v1", "kind": "Secret", "metadata": {"name": "db"},
        "spec": {"from": "env", "keys": {"pw": "UNIT_DB_PW"}}}))
    return root


def _input(root: Path):  # type: ignore[no-untyped-def]
    desired = load_desired(root)
    res = desired.get(ResourceRef(kind=Kind.STACK, name="app"))
    assert res is not None
    return desired, res, stack_input(res, desired.root, Secrets(desired, {"UNIT_DB_PW": SECRET}))


def test_render_caches_facts_without_secret_values(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    _, _, inp = _input(root)
    cache_dir = tmp_path / "cache"
    renderer = Renderer(RenderCache(cache_dir))
    key, model = renderer.model(inp)
    assert model["services"]["web"]["environment"]["DB_URL"] == f"pg://u:{SECRET}@db/x"
    facts = renderer.facts(inp)
    assert facts.key == key
    assert facts.model["services"]["web"]["environment"]["DB_URL"] == \
        "pg://u:(sensitive:db#pw)@db/x"
    assert facts.services["web"].binds == (str((root / "app" / "conf.txt").resolve()),)
    stored = "".join(p.read_text() for p in cache_dir.iterdir())
    assert SECRET not in stored
    assert "(sensitive:db#pw)" in stored

    # A new renderer (a new process) finds the facts on disk: no render.
    fresh = Renderer(RenderCache(cache_dir))
    assert fresh.facts(inp) == facts
    assert fresh._models == {}


def test_input_key_follows_inputs(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "a")
    _, _, inp = _input(root)
    first = input_key(inp)
    assert input_key(inp) == first
    inp.env["GREETING"] = "bonjour"
    assert input_key(inp) != first
    inp.env["GREETING"] = "hello"
    (root / "app" / ".env").write_text("X=1\n")
    assert input_key(inp) != first


def test_placeholders_round_trip() -> None:
    secrets = {"db#pw": Sensitive("hunter22")}
    model = {"services": {"a": {"environment": {"X": "x-hunter22-y"}}}}
    stored = redact_model(model, secrets)
    assert "hunter22" not in json.dumps(stored)
    assert restore_model(stored, secrets) == model


def test_labels_keep_revision_of_unchanged_services(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    desired, _, inp = _input(root)
    facts = Renderer(RenderCache(tmp_path / "cache")).facts(inp)
    host = HostState(name="local", engine="docker", url="unix:///x")
    first = stack_labels(facts, host, Project(name="app"), owner="unit",
                         resource="Stack/app", revision="r1", root=desired.root)
    assert first.services["web"]["bosun.revision"] == "r1"

    # Running containers carry r1 labels: a new revision keeps them for what
    # did not change, so Compose's config hash does not move.
    from tests.unit.test_compose_health import container

    running = Project(name="app", containers=(
        container("web", labels=first.services["web"]),
        container("worker", labels=first.services["worker"])))
    again = stack_labels(facts, host, running, owner="unit", resource="Stack/app",
                         revision="r2", root=desired.root)
    assert again.services == first.services

    (root / "app" / "conf.txt").write_text("v2")
    moved = stack_labels(facts, host, running, owner="unit", resource="Stack/app",
                         revision="r2", root=desired.root)
    assert moved.services["web"]["bosun.revision"] == "r2"
    assert moved.services["web"]["bosun.digest"] != first.services["web"]["bosun.digest"]
    assert moved.services["worker"] == first.services["worker"]


def test_existing_volume_keeps_its_labels(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    desired, _, inp = _input(root)
    facts = Renderer(RenderCache(tmp_path / "cache")).facts(inp)
    old = {"bosun.owner": "unit", "bosun.resource": "Stack/app", "bosun.revision": "r0",
           "bosun.digest": "sha256:old", "com.docker.compose.project": "app"}
    host = HostState(name="local", engine="docker", url="unix:///x",
                     volumes=(Volume(name="app_data", labels=old),))
    labels = stack_labels(facts, host, Project(name="app"), owner="unit",
                          resource="Stack/app", revision="r5", root=desired.root)
    assert labels.volumes["data"] == {k: v for k, v in old.items() if k.startswith("bosun.")}
    final = inject(facts.model, labels)
    assert final["volumes"]["data"]["labels"]["bosun.revision"] == "r0"
    assert final["services"]["web"]["labels"]["bosun.revision"] == "r5"
    assert final["networks"]["default"]["labels"]["bosun.owner"] == "unit"
