"""The resolve stage on valid repositories: defaults, implied edges, compose models."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.errors import ConfigError
from reconciler.model import DesiredState, ResourceRef, Stack
from reconciler.pipeline import load_desired

ROOT = Path(__file__).resolve().parents[2]
REF = ResourceRef.parse


def _repo(root: Path, files: dict[str, str]) -> DesiredState:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return load_desired(root)


COMPOSE = "services:\n  web:\n    image: bosun.local/busybox:1\n"


def test_quickstart_validates_through_the_cli() -> None:
    result = CliRunner().invoke(cli, ["validate", str(ROOT / "examples" / "quickstart")])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Repository is valid: 1 Gateway, 1 Host, 1 Route, 1 Schedule, 1 Stack.\n"
    )


def test_quickstart_desired_state() -> None:
    desired = load_desired(ROOT / "examples" / "quickstart")
    assert desired.owner == "quickstart"
    stack = desired.get(REF("Stack/web"))
    assert stack is not None and isinstance(stack.document, Stack)
    assert stack.compose is not None and stack.compose.services == ("web",)
    assert stack.document.spec.health.timeout == "60s", "the repository default applies"
    assert desired.get(REF("Route/web")).depends_on == (REF("Gateway/edge"), REF("Stack/web"))  # type: ignore[union-attr]
    assert desired.get(REF("Schedule/web-heartbeat")).depends_on == (REF("Stack/web"),)  # type: ignore[union-attr]


def test_implicit_host_and_repository_defaults(tmp_path: Path) -> None:
    desired = _repo(tmp_path, {
        "bosun.yaml": "apiVersion: bosun/v1\nkind: Repository\nmetadata: {name: r}\n"
                      "spec: {defaults: {stack: {host: box, pull: always}}}\n",
        "host.yaml": "apiVersion: bosun/v1\nkind: Host\nmetadata: {name: box}\n",
        "a.yaml": "apiVersion: bosun/v1\nkind: Stack\nmetadata: {name: a}\n"
                  "spec: {compose: c.yaml}\n",
        "b.yaml": "apiVersion: bosun/v1\nkind: Stack\nmetadata: {name: b}\n"
                  "spec: {compose: c.yaml, host: local, pull: never}\n",
        "c.yaml": COMPOSE,
    })
    a, b = desired.get(REF("Stack/a")), desired.get(REF("Stack/b"))
    assert a is not None and b is not None
    assert isinstance(a.document, Stack) and isinstance(b.document, Stack)
    assert (a.document.spec.host, a.document.spec.pull) == ("box", "always")
    assert (b.document.spec.host, b.document.spec.pull) == ("local", "never")
    assert a.depends_on == (REF("Host/box"),)
    assert b.depends_on == (REF("Host/local"),)
    local = desired.get(REF("Host/local"))
    assert local is not None and local.position.file == "(implicit)"


def test_implied_edges(tmp_path: Path) -> None:
    desired = _repo(tmp_path, {
        "all.yaml": """\
apiVersion: bosun/v1
kind: DNSZone
metadata: {name: z}
spec: {zone: example.com, server: "127.0.0.1:53"}
---
apiVersion: bosun/v1
kind: DNSRecord
metadata: {name: www}
spec: {zone: z, name: www, type: A, values: [192.0.2.1]}
---
apiVersion: bosun/v1
kind: Stack
metadata: {name: db}
spec: {compose: c.yaml}
---
apiVersion: bosun/v1
kind: Stack
metadata: {name: app}
spec: {compose: c.yaml, dependsOn: [db, DNSRecord/www]}
""",
        "c.yaml": COMPOSE,
    })
    assert desired.get(REF("DNSRecord/www")).depends_on == (REF("DNSZone/z"),)  # type: ignore[union-attr]
    assert desired.get(REF("Stack/app")).depends_on == (  # type: ignore[union-attr]
        REF("DNSRecord/www"), REF("Host/local"), REF("Stack/db"))


def test_compose_files_merge_and_include(tmp_path: Path) -> None:
    desired = _repo(tmp_path, {
        "apps/web/stack.yaml": "apiVersion: bosun/v1\nkind: Stack\nmetadata: {name: web}\n"
                               "spec: {compose: [../shared/base.yaml, override.yaml]}\n",
        "apps/shared/base.yaml": "include: [db/compose.yaml]\n" + COMPOSE,
        "apps/shared/db/compose.yaml": "services:\n  db:\n    image: bosun.local/busybox:1\n"
                                       "    env_file: db.env\n",
        "apps/shared/db/db.env": "A=1\n",
        "apps/web/override.yaml": "services:\n  web:\n    ports: ['127.0.0.1:8080:80']\n",
        "route.yaml": "apiVersion: bosun/v1\nkind: Gateway\nmetadata: {name: edge}\n---\n"
                      "apiVersion: bosun/v1\nkind: Route\nmetadata: {name: db}\n"
                      "spec: {gateway: edge, hosts: [db.localhost], "
                      "to: {stack: web, service: db, port: 5432}}\n",
    })
    stack = desired.get(REF("Stack/web"))
    assert stack is not None and stack.compose is not None
    assert stack.compose.services == ("db", "web")
    assert stack.compose.model["services"]["web"] == {
        "image": "bosun.local/busybox:1", "ports": ["127.0.0.1:8080:80"]}
    assert stack.compose.project_dir == str(tmp_path.resolve() / "apps" / "shared")
    assert [Path(f).name for f in stack.compose.files] == ["base.yaml", "override.yaml"]
    assert not stack.compose.inline


def test_a_cycle_is_named_once_from_its_smallest_member(tmp_path: Path) -> None:
    files = {f"{n}.yaml": f"apiVersion: bosun/v1\nkind: Stack\nmetadata: {{name: {n}}}\n"
                          f"spec: {{compose: compose.yaml, dependsOn: [{d}]}}\n"
             for n, d in (("c", "a"), ("b", "c"), ("a", "b"))}
    files["compose.yaml"] = COMPOSE
    with pytest.raises(ConfigError) as info:
        _repo(tmp_path, files)
    assert info.value.lines() == [
        "a.yaml:4:43: Stack/a: spec.dependsOn[0]: dependency cycle: "
        "Stack/a -> Stack/b -> Stack/c -> Stack/a"
    ]


def test_other_yaml_is_ignored(tmp_path: Path) -> None:
    desired = _repo(tmp_path, {
        "k8s.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: Web_Thing}\n---\n"
                    "apiVersion: bosun/v1\nkind: Gateway\nmetadata: {name: edge}\n",
        ".github/workflows/ci.yaml": "on: push\njobs: {}\n",
        "notes.yml": "- just\n- a list\n",
        "broken-but-not-ours.yaml": "key: [unclosed\n",
        "compose.yaml": COMPOSE,
    })
    assert [str(r) for r in desired.refs()] == ["Gateway/edge", "Host/local"]
