"""Every awesome-compose sample that needs no build context renders through bosun
exactly as ``docker compose config`` renders it.

Each sample (its compose file and ``.env``) becomes a stack of a temporary
repository; bosun's render (load, resolve, the compose provider's renderer)
is compared with Compose run directly in the corpus folder (``tests/corpus.py``
finds it; it is read, never copied into the project).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from providers.compose.cli import base_env, compose_command
from providers.compose.render import RenderCache, Renderer, stack_input
from reconciler.model.common import Kind, ResourceRef
from reconciler.pipeline import load_desired
from reconciler.secrets import Secrets
from tests.corpus import awesome_compose, compose_file


def _needs_build(path: Path) -> bool:
    return bool(re.search(r"^\s+build:", path.read_text(), re.MULTILINE))


SAMPLES = sorted(p.name for p in awesome_compose().iterdir()
                 if p.is_dir() and not _needs_build(compose_file(p)))


def test_corpus_has_samples_without_build() -> None:
    assert len(SAMPLES) >= 10, SAMPLES


def _stack_name(sample: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", sample.lower())[:63].strip("-")


def _compose_config(folder: Path, project: str) -> dict[str, Any]:
    out = subprocess.run(
        [*compose_command(), "--project-name", project, "--file",
         compose_file(folder).name, "config", "--format", "json"],
        cwd=folder, env=base_env(), capture_output=True, text=True, timeout=60, check=True)
    data: dict[str, Any] = json.loads(out.stdout)
    return data


@pytest.mark.parametrize("sample", SAMPLES)
def test_render_matches_compose_config(sample: str, tmp_path: Path) -> None:
    source = awesome_compose() / sample
    repo = tmp_path / "repo"
    folder = repo / sample
    folder.mkdir(parents=True)
    compose = compose_file(source)
    shutil.copy(compose, folder / compose.name)
    if (source / ".env").is_file():
        shutil.copy(source / ".env", folder / ".env")
    name = _stack_name(sample)
    (folder / "stack.yaml").write_text(json.dumps({
        "apiVersion": "bosun/v1", "kind": "Stack", "metadata": {"name": name},
        "spec": {"compose": compose.name},
    }))

    desired = load_desired(repo)
    res = desired.get(ResourceRef(kind=Kind.STACK, name=name))
    assert res is not None
    inp = stack_input(res, desired.root, Secrets(desired, {}))
    _, rendered = Renderer(RenderCache(tmp_path / "cache")).model(inp)

    expected_text = json.dumps(_compose_config(source, name))
    expected = json.loads(expected_text.replace(str(source), str(folder.resolve())))
    assert rendered == expected
