"""Small repositories on disk for policy tests: written, then loaded by the real stages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from reconciler.model.desired import DesiredState
from reconciler.pipeline import load_desired


def dump(data: Any, path: Path) -> None:
    yaml = YAML()
    yaml.default_flow_style = False
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)


def write_repo(
    root: Path,
    services: dict[str, Any] | None = None,
    hosts: list[str] | None = None,
    params: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
    policies: dict[str, Any] | None = None,
) -> Path:
    """bosun.yaml, one Stack (stacks/app) with compose.yaml, or one Route with ``hosts``."""
    settings: dict[str, Any] = dict(policies or {})
    if params:
        settings["params"] = params
    repo: dict[str, Any] = {"apiVersion": "bosun/v1", "kind": "Repository",
                            "metadata": {"name": "test"}}
    if settings:
        repo["spec"] = {"policies": settings}
    dump(repo, root / "bosun.yaml")
    if services is not None:
        stack: dict[str, Any] = {"apiVersion": "bosun/v1", "kind": "Stack",
                                 "metadata": {"name": "app"}, "spec": {"compose": "compose.yaml"}}
        if labels:
            stack["metadata"]["labels"] = labels
        dump(stack, root / "stacks/app/stack.yaml")
        dump({"services": services}, root / "stacks/app/compose.yaml")
    if hosts is not None:
        (root / "routes").mkdir(parents=True, exist_ok=True)
        lines = [
            "apiVersion: bosun/v1", "kind: Route", "metadata: {name: r}", "spec:",
            "  gateway: edge", '  to: {url: "http://127.0.0.1:8080"}', "  hosts:",
            *[f'    - "{h}"' for h in hosts],
            "---", "apiVersion: bosun/v1", "kind: Gateway", "metadata: {name: edge}",
        ]
        (root / "routes/route.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def load(root: Path) -> DesiredState:
    return load_desired(root)
