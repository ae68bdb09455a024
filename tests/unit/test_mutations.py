"""Mutated repositories load as a valid desired state or as positioned problems.

Hypothesis starts from valid repositories (examples/quickstart and a richer
one holding every kind), changes them the way people break manifests (drop,
retype and rename keys, break references, swap lists and mappings, insert
unicode, break the YAML text) and checks that bosun answers either with a
``DesiredState`` or with a ``ConfigError`` whose every problem has a file, a
line and a column. Any other exception is a bug.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from reconciler import policy
from reconciler.errors import ConfigError
from reconciler.model.desired import DesiredState
from reconciler.model.source import PathKey
from reconciler.pipeline import Reconciler, load_desired
from reconciler.yamlnodes import YAMLSyntaxError, parse_documents

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"

RICH: dict[str, str] = {
    "bosun.yaml": """\
apiVersion: bosun/v1
kind: Repository
metadata: {name: rich}
spec:
  paths: [manifests]
  owner: rich
  defaults: {stack: {host: local, pull: missing, healthTimeout: 90s}}
""",
    "manifests/hosts.yaml": """\
apiVersion: bosun/v1
kind: Host
metadata: {name: builder}
spec: {engine: podman, url: "unix:///run/podman/podman.sock", mode: compose}
""",
    "manifests/apps/stacks.yaml": """\
apiVersion: bosun/v1
kind: Stack
metadata: {name: blog, labels: {team: web}}
spec:
  host: builder
  compose: [compose.yaml, compose.override.yaml]
  env:
    DB_PASSWORD: {secret: blog-db, key: password}
    GREETING: hello
  dependsOn: [db]
  health: {timeout: 2m}
  prune: {volumes: false}
---
apiVersion: bosun/v1
kind: Stack
metadata: {name: db}
spec:
  compose:
    services:
      db:
        image: bosun.local/busybox:1
        command: [sleep, "3600"]
        env_file: [db.env]
  state: running
""",
    "manifests/apps/compose.yaml": """\
services:
  web:
    image: bosun.local/busybox:1
    command: [httpd, -f, -p, "8080", -h, /www]
    environment: {DB_PASSWORD: "${DB_PASSWORD}"}
    build: {context: ./web}
  backup:
    image: bosun.local/busybox:1
    command: [sleep, "1"]
volumes:
  data: {}
""",
    "manifests/apps/compose.override.yaml": """\
services:
  web:
    ports: ["127.0.0.1:18082:8080"]
""",
    "manifests/apps/db.env": "A=1\n",
    "manifests/edge.yaml": """\
apiVersion: bosun/v1
kind: Gateway
metadata: {name: edge}
spec:
  listen: {http: "127.0.0.1:8880", https: "127.0.0.1:8443"}
  tls: {issuer: internal}
---
apiVersion: bosun/v1
kind: Route
metadata: {name: blog}
spec:
  gateway: edge
  hosts: [blog.example.com, "*.blog.example.com"]
  path: /
  to: {stack: blog, service: web, port: 8080}
  basicAuth: {secret: blog-users}
  dns: {zone: example-com, type: A, values: [203.0.113.10]}
---
apiVersion: bosun/v1
kind: Route
metadata: {name: old-blog}
spec:
  gateway: edge
  hosts: [old.example.com]
  redirect: {to: "https://blog.example.com{uri}", code: 301}
""",
    "manifests/dns.yaml": """\
apiVersion: bosun/v1
kind: DNSZone
metadata: {name: example-com}
spec:
  zone: example.com
  server: 127.0.0.1:5353
  tsig: {secret: dns-tsig}
---
apiVersion: bosun/v1
kind: DNSRecord
metadata: {name: www}
spec: {zone: example-com, name: www, type: CNAME, values: [blog.example.com.]}
---
apiVersion: bosun/v1
kind: DNSRecord
metadata: {name: mail}
spec: {zone: example-com, name: "@", type: MX, ttl: 3600, values: ["10 mail.example.com."]}
""",
    "manifests/ops.yaml": """\
apiVersion: bosun/v1
kind: Schedule
metadata: {name: backup}
spec:
  cron: "0 3 * * mon-fri"
  timezone: Asia/Shanghai
  action: {run: {stack: blog, service: backup, command: [/backup.sh]}}
  concurrency: forbid
  timeout: 30m
---
apiVersion: bosun/v1
kind: Schedule
metadata: {name: ping}
spec:
  every: 90s
  action:
    http:
      url: https://blog.example.com/health
      headers: {Authorization: {secret: blog-users, key: admin}}
---
apiVersion: bosun/v1
kind: Secret
metadata: {name: blog-db}
spec: {from: env, keys: {password: BLOG_DB_PASSWORD}}
---
apiVersion: bosun/v1
kind: Secret
metadata: {name: blog-users}
spec: {from: file, keys: {admin: users/admin.txt}}
---
apiVersion: bosun/v1
kind: Secret
metadata: {name: dns-tsig}
spec: {from: env, keys: {name: TSIG_NAME, secret: TSIG_SECRET}}
---
apiVersion: bosun/v1
kind: Policy
metadata: {name: no-privileged}
spec:
  action: warn
  match: {kinds: [Stack], labels: {team: web}}
  rules:
    - id: BOSUN-S001
      message: services must not run privileged
      deny:
        properties:
          compose:
            properties:
              services:
                additionalProperties:
                  properties: {privileged: {const: true}}
                  required: [privileged]
""",
}

SCALARS: list[Any] = [
    None, 0, -1, 70000, 3.5, True, False, "", "x", "Ünïcødé ☃ 名前", "a" * 300, "..", "/etc",
    "../..", "*", "Stack/", "1h", "0s", "${X}", "@", "-", "a:b", "\u200b", "\x00",
]

NODES: list[Any] = [
    [], {}, ["a"], {"a": 1}, [[[]]], {"$ref": "#"}, {"$ref": "#/nope"}, {"services": {}},
    {"secret": "blog-db", "key": "nope"}, {"stack": "blog", "service": "web", "port": 1},
]


def _rich(folder: Path) -> None:
    for rel, text in RICH.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (folder / "manifests/apps/web").mkdir()


def _quickstart(folder: Path) -> None:
    shutil.copytree(QUICKSTART, folder, dirs_exist_ok=True)


BASES: dict[str, Callable[[Path], None]] = {"quickstart": _quickstart, "rich": _rich}


def _paths(value: Any, prefix: PathKey = ()) -> list[PathKey]:
    out: list[PathKey] = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            out.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out.extend(_paths(child, (*prefix, i)))
    return out


def _get(value: Any, path: PathKey) -> Any:
    for part in path:
        value = value[part]
    return value


def _mutate(data: Any, path: PathKey, how: str, pick: st.DataObject) -> Any:
    """``data`` with the node at ``path`` changed ``how``."""
    if not path:
        return pick.draw(st.sampled_from(SCALARS + NODES + [[data]]))
    parent = _get(data, path[:-1])
    key = path[-1]
    node = parent[key]
    if how == "drop":
        del parent[key]
    elif how == "retype":
        parent[key] = pick.draw(st.sampled_from(SCALARS + NODES))
    elif how == "rename" and isinstance(parent, dict):
        new = pick.draw(st.one_of(st.text(min_size=0, max_size=12), st.just(f"{key}s"),
                             st.just(str(key)[:-1]), st.just(str(key).upper())))
        parent[new] = parent.pop(key)
    elif how == "reference" and isinstance(node, str):
        parent[key] = pick.draw(st.sampled_from([node + "x", node[:-1], "missing", node.upper()]))
    elif how == "swap":
        if isinstance(node, list):
            parent[key] = {str(i): v for i, v in enumerate(node)}
        elif isinstance(node, dict):
            parent[key] = list(node.items()) if pick.draw(st.booleans()) else list(node.values())
        else:
            parent[key] = [node]
    elif how == "unicode" and isinstance(node, str):
        at = pick.draw(st.integers(0, len(node)))
        parent[key] = node[:at] + pick.draw(st.text(min_size=1, max_size=4)) + node[at:]
    elif how == "number":
        parent[key] = pick.draw(st.one_of(st.integers(), st.floats(allow_nan=False)))
    return data


def _dump(docs: list[Any]) -> str:
    yaml = YAML(typ="safe", pure=True)
    buf = io.StringIO()
    yaml.dump_all(docs, buf)
    return buf.getvalue()


def _break_text(text: str, pick: st.DataObject) -> str:
    at = pick.draw(st.integers(0, len(text)))
    how = pick.draw(st.sampled_from(["insert", "delete", "truncate", "indent"]))
    if how == "insert":
        marks = [*":-[]{}\t'\"&*!|>#%@`,?\n", "  ", "---\n"]
        piece = pick.draw(st.one_of(st.sampled_from(marks), st.text(max_size=3)))
        return text[:at] + piece + text[at:]
    if how == "delete":
        return text[:at] + text[at + pick.draw(st.integers(1, 5)):]
    if how == "truncate":
        return text[:at]
    line_start = text.rfind("\n", 0, at) + 1
    return text[:line_start] + pick.draw(st.sampled_from([" ", "   ", "\t"])) + text[line_start:]


def _check(root: Path) -> None:
    try:
        desired = load_desired(root)
    except ConfigError as exc:
        assert exc.problems, "a ConfigError must carry problems"
        for problem in exc.problems:
            pos = problem.position
            assert pos is not None, f"no position: {problem}"
            assert pos.file and pos.line >= 1 and pos.column >= 1, str(problem)
            assert str(problem).startswith(f"{pos.file}:{pos.line}:{pos.column}: ")
        return
    assert isinstance(desired, DesiredState)
    assert desired.digest.startswith("sha256:")
    policy.evaluate(desired)  # what `bosun validate` does next
    plan = Reconciler(state_dir=root / ".bosun", provider_names=["memory"]).plan(desired)
    assert not plan.errors


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))


MUTATIONS = ["drop", "retype", "rename", "reference", "swap", "unicode", "number"]
FAST = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def test_the_starting_points_are_valid() -> None:
    for name, make in BASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            make(Path(tmp))
            desired = load_desired(Path(tmp))
            assert len(desired.resources) >= 5, name


@FAST
@given(data=st.data(), base=st.sampled_from(sorted(BASES)))
def test_mutated_data(data: st.DataObject, base: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        BASES[base](root)
        for _ in range(data.draw(st.integers(1, 3), label="mutations")):
            target = data.draw(st.sampled_from(_files(root)), label="file")
            try:
                docs = [d.data for d in parse_documents(target.read_text("utf-8"), "x")]
            except YAMLSyntaxError:
                continue
            if not docs:
                continue
            i = data.draw(st.integers(0, len(docs) - 1), label="document")
            if data.draw(st.integers(0, 9)) == 0:
                docs.append(docs[i])  # the same document twice: duplicate names
            else:
                path = data.draw(st.sampled_from(_paths(docs[i])), label="path")
                how = data.draw(st.sampled_from(MUTATIONS), label="how")
                docs[i] = _mutate(docs[i], path, how, data)
            target.write_text(_dump(docs), encoding="utf-8")
        _check(root)


@FAST
@given(data=st.data(), base=st.sampled_from(sorted(BASES)))
def test_broken_text(data: st.DataObject, base: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        BASES[base](root)
        for _ in range(data.draw(st.integers(1, 2), label="breaks")):
            target = data.draw(st.sampled_from(_files(root)), label="file")
            text = target.read_text("utf-8")
            target.write_text(_break_text(text, data), encoding="utf-8")
        _check(root)


YAMLISH = st.text(alphabet=st.sampled_from([*"ab1:- \n\t[]{},&*!|>'\"#%@`?<=~.0x", "ü"]),
                  max_size=60)


@FAST
@given(text=st.one_of(YAMLISH, st.text(max_size=40)))
def test_any_text_parses_or_fails_with_a_position(text: str) -> None:
    try:
        docs = parse_documents(text, "f.yaml")
    except YAMLSyntaxError as exc:
        assert exc.line >= 1 and exc.column >= 1 and exc.message
        return
    for doc in docs:
        for position in doc.positions.values():
            assert position.file == "f.yaml" and position.line >= 1 and position.column >= 1
        for problem in doc.problems:
            assert problem.line >= 1 and problem.column >= 1
