"""The desired-state digest depends on the data only.

File order, document order, key order, comments, quoting and flow/block style do
not change it; a changed value does.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.model.digest import canonical_json, digest
from reconciler.pipeline import load_desired

STACK = """\
apiVersion: bosun/v1
kind: Stack
metadata: {name: blog, labels: {team: web, tier: front}}
spec:
  compose: compose.yaml
  env: {A: "1", B: two}
  health: {timeout: 90s}
"""
GATEWAY = """\
apiVersion: bosun/v1
kind: Gateway
metadata: {name: edge}
spec:
  listen: {http: ":8080", https: ":8443"}
"""
ROUTE = """\
apiVersion: bosun/v1
kind: Route
metadata: {name: blog}
spec:
  gateway: edge
  hosts: [blog.example.com, www.example.com]
  to: {stack: blog, service: web, port: 80}
"""
COMPOSE = """\
services:
  web:
    image: bosun.local/busybox:1
    environment: {X: "1", Y: "2"}
"""

# The same data, written differently: keys reordered, block style, comments,
# other quoting, another file layout and order.
STACK_REWRITTEN = """\
# the blog
kind: Stack            # kind first this time
apiVersion: "bosun/v1"
spec:
  health:
    timeout: '90s'
  env:
    B: "two"
    A: '1'
  compose: "compose.yaml"
metadata:
  labels:
    tier: front
    team: web
  name: blog
"""
ROUTE_REWRITTEN = """\
spec:
  to:
    port: 80
    service: web
    stack: blog
  hosts:
    - blog.example.com   # order of a list is data: kept
    - www.example.com
  gateway: edge
metadata: {name: blog}
kind: Route
apiVersion: bosun/v1
"""
COMPOSE_REWRITTEN = """\
# compose, reformatted
services:
  web:
    environment:
      Y: "2"
      X: "1"
    image: "bosun.local/busybox:1"
"""


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _digests(root: Path) -> tuple[str, dict[str, str]]:
    desired = load_desired(root)
    return desired.digest, {str(r.ref): r.digest for r in desired.resources}


def test_layout_order_comments_and_formatting_do_not_count(tmp_path: Path) -> None:
    one = _write(tmp_path / "one", {
        "all.yaml": "---\n".join([STACK, GATEWAY, ROUTE]), "compose.yaml": COMPOSE,
    })
    two = _write(tmp_path / "two", {
        "z-routes/route.yaml": ROUTE_REWRITTEN,
        "a.yaml": "\n\n# gateway and stack, other order\n---\n" + GATEWAY + "---\n" +
        STACK_REWRITTEN,
        "compose.yaml": COMPOSE_REWRITTEN,
    })
    assert _digests(one) == _digests(two)


def test_a_changed_value_changes_the_digest(tmp_path: Path) -> None:
    base = {"stack.yaml": STACK, "gateway.yaml": GATEWAY, "route.yaml": ROUTE,
            "compose.yaml": COMPOSE}
    total, parts = _digests(_write(tmp_path / "base", base))
    changes = {
        "label": ("stack.yaml", "tier: front", "tier: back", "Stack/blog"),
        "env": ("stack.yaml", 'A: "1"', 'A: "2"', "Stack/blog"),
        "compose": ("compose.yaml", 'X: "1"', 'X: "3"', "Stack/blog"),
        "list order": ("route.yaml", "[blog.example.com, www.example.com]",
                       "[www.example.com, blog.example.com]", "Route/blog"),
        "port": ("route.yaml", "port: 80", "port: 81", "Route/blog"),
    }
    for name, (file, old, new, ref) in changes.items():
        files = dict(base)
        assert old in files[file]
        files[file] = files[file].replace(old, new)
        other_total, other_parts = _digests(_write(tmp_path / name.replace(" ", "-"), files))
        assert other_total != total, name
        assert other_parts[ref] != parts[ref], name
        unchanged = {k: v for k, v in parts.items() if k != ref}
        assert {k: v for k, v in other_parts.items() if k != ref} == unchanged, name


def test_canonical_json_sorts_nested_keys_and_models() -> None:
    from reconciler.model import ResourceRef

    a = {"b": {"y": 1, "x": [ResourceRef.parse("Stack/a")]}, "a": 1}
    b = {"a": 1, "b": {"x": [ResourceRef.parse("Stack/a")], "y": 1}}
    assert canonical_json(a) == canonical_json(b) == (
        '{"a":1,"b":{"x":[{"kind":"Stack","name":"a"}],"y":1}}'
    )
    assert digest(a) == digest(b)
    assert digest(a) != digest({**a, "a": 2})
