"""Rendering a stack through Compose itself, and the render cache.

plan / apply -> **render** -> ``docker compose config --format json``

bosun does not re-implement the Compose specification: a stack's compose
files, with its environment passed through the subprocess environment, are
rendered by ``docker compose config``. A render is cached in the state folder
under a digest of its inputs (compose files and the files they pull in, the
``.env`` file, digests of the environment values, profiles, the Compose
version), so an unchanged stack is never rendered again: plan reads the
cache and the one container list. The cache holds no secret value: the model
is stored with every secret value replaced by a placeholder naming the
secret, and per-service digests instead of configurations.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field

from providers.compose.cli import ComposeRun, base_env, compose_identity, compose_version
from reconciler.errors import PermanentError
from reconciler.model.common import Frozen, ResourceRef, SecretRef
from reconciler.model.desired import DesiredResource
from reconciler.model.digest import digest
from reconciler.model.kinds import Stack
from reconciler.model.sensitive import REDACTED, Sensitive
from reconciler.provider import SecretResolver

CACHE_FORMAT = 1
MAX_MODELS_IN_MEMORY = 512
# Bind-mounted folders are hashed up to these limits; beyond, names, sizes and
# modification times stand in for contents.
MAX_HASH_FILES = 2000
MAX_HASH_BYTES = 64 * 1024 * 1024


def placeholder(name: str) -> str:
    return f"(sensitive:{name})"


@dataclass
class StackInput:
    """Everything a render depends on. Holds secret values: never stored or logged."""

    ref: ResourceRef
    project: str
    project_dir: str
    root: str
    files: tuple[str, ...]
    inline: dict[str, Any] | None
    raw: tuple[dict[str, Any], ...]
    env: dict[str, str]
    secrets: dict[str, Sensitive] = field(default_factory=dict)
    profiles: tuple[str, ...] = ()

    def runner(self, docker_host: str | None) -> ComposeRun:
        env = base_env(docker_host)
        env.update(self.env)
        return ComposeRun(self.project, env, list(self.secrets.values()), self.ref)

    def stdin(self) -> str | None:
        return json.dumps(self.inline) if self.inline is not None else None


def stack_input(res: DesiredResource, root: str, secrets: SecretResolver) -> StackInput:
    stack = res.document
    if not isinstance(stack, Stack) or res.compose is None:
        raise PermanentError("not a stack with a compose model", res.ref)
    env: dict[str, str] = {}
    secret_values: dict[str, Sensitive] = {}
    for key, value in stack.spec.env.items():
        if isinstance(value, SecretRef):
            resolved = secrets.resolve(value)
            env[key] = resolved.reveal()
            secret_values[f"{value.secret}#{value.key}"] = resolved
        else:
            env[key] = value
    source = res.compose
    # Compose's own default: relative paths and .env are read from the folder
    # of the first compose file (the manifest's folder for an inline model).
    project_dir = str(Path(source.files[0]).parent) if source.files else source.project_dir
    return StackInput(
        ref=res.ref, project=stack.name, project_dir=project_dir, root=root,
        files=source.files, inline=None if source.files else dict(source.model),
        raw=source.raw, env=env, secrets=secret_values, profiles=tuple(stack.spec.profiles),
    )


# -- input digests -----------------------------------------------------------


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    except OSError as exc:
        raise PermanentError(f"cannot read {path}: {exc.strerror}") from None


def _referenced_files(inp: StackInput) -> list[Path]:
    """Files Compose reads besides the compose files: .env, env_file, extends, include."""
    base = Path(inp.project_dir)
    out = [base / ".env"]
    dirs = [Path(f).parent for f in inp.files] or [base]
    for raw, folder in zip(inp.raw, dirs, strict=False):
        for entry in _listify(raw.get("include")):
            path = entry.get("path") if isinstance(entry, dict) else entry
            for p in _listify(path):
                if isinstance(p, str):
                    out.append(folder / p)
        services = raw.get("services")
        for svc in services.values() if isinstance(services, dict) else []:
            if not isinstance(svc, dict):
                continue
            for entry in _listify(svc.get("env_file")):
                path = entry.get("path") if isinstance(entry, dict) else entry
                if isinstance(path, str):
                    out.append(folder / path)
            extends = svc.get("extends")
            if isinstance(extends, dict) and isinstance(extends.get("file"), str):
                out.append(folder / extends["file"])
    return out


def _listify(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def input_key(inp: StackInput) -> str:
    files = {f: _file_digest(Path(f)) for f in inp.files}
    files.update({str(p): _file_digest(p) for p in _referenced_files(inp)})
    env = {k: hashlib.sha256(f"{k}={v}".encode()).hexdigest() for k, v in inp.env.items()}
    return digest({
        "format": CACHE_FORMAT, "compose": compose_identity(), "project": inp.project,
        "dir": inp.project_dir, "files": files, "inline": inp.inline, "env": env,
        "profiles": list(inp.profiles),
    })


def path_digest(path: str, root: str) -> str | None:
    """Digest of a bind-mounted file or folder inside the repository (None outside it)."""
    real = os.path.realpath(path)
    real_root = os.path.realpath(root)
    if not (real == real_root or real.startswith(real_root.rstrip("/") + "/")):
        return None
    p = Path(real)
    if p.is_file():
        return _file_digest(p)
    if not p.is_dir():
        return None
    h = hashlib.sha256()
    count = size = 0
    for folder, dirs, names in os.walk(real):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(names):
            full = Path(folder) / name
            rel = full.relative_to(p).as_posix()
            try:
                st = full.stat()
            except OSError:
                continue
            count += 1
            size += st.st_size
            if count > MAX_HASH_FILES or size > MAX_HASH_BYTES:
                h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            else:
                h.update(f"{rel}\0{_file_digest(full)}\n".encode())
    return h.hexdigest()


# -- secrets in models -----------------------------------------------------------


def _walk_strings(value: Any, fn: Any) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _walk_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk_strings(v, fn) for v in value]
    return value


def redact_model(model: dict[str, Any], secrets: dict[str, Sensitive]) -> dict[str, Any]:
    """The model with every secret value replaced by a placeholder naming its secret."""
    pairs = sorted(((s.reveal(), placeholder(n)) for n, s in secrets.items() if s.reveal()),
                   key=lambda p: -len(p[0]))
    if not pairs:
        return model

    def fn(text: str) -> str:
        for value, mark in pairs:
            if value in text:
                text = text.replace(value, mark)
        return text

    result: dict[str, Any] = _walk_strings(model, fn)
    return result


def restore_model(model: dict[str, Any], secrets: dict[str, Sensitive]) -> dict[str, Any]:
    """Put today's secret values back in a stored model (for a rollback)."""
    marks = {placeholder(n): s.reveal() for n, s in secrets.items()}

    def fn(text: str) -> str:
        for mark, value in marks.items():
            if mark in text:
                text = text.replace(mark, value)
        return text

    result: dict[str, Any] = _walk_strings(model, fn)
    return result


def display_model(model: dict[str, Any]) -> dict[str, Any]:
    """Placeholders shown as ``(sensitive)`` (plan diffs)."""

    def fn(text: str) -> str:
        return REDACTED if "(sensitive:" in text else text

    result: dict[str, Any] = _walk_strings(model, fn)
    return result


# -- the cache -----------------------------------------------------------------


class ServiceFacts(Frozen):
    config: str = Field(description="Digest of the rendered service configuration.")
    image: str | None = None
    build: bool = False
    build_context: str | None = None
    healthcheck: bool = False
    restart: str = "no"
    replicas: int = 1
    binds: tuple[str, ...] = Field(default=(), description="Host paths it bind-mounts.")


class RenderFacts(Frozen):
    """What plan needs of a render; stored in the state folder, free of secret values."""

    key: str
    compose_version: str
    model: dict[str, Any] = Field(description="The rendered model, secrets as placeholders.")
    services: dict[str, ServiceFacts]
    networks: dict[str, str] = Field(default_factory=dict)
    volumes: dict[str, str] = Field(default_factory=dict)
    hashes: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Digest of the labels bosun injects -> service -> Compose config hash.",
    )


def facts_of(key: str, model: dict[str, Any], secrets: dict[str, Sensitive]) -> RenderFacts:
    services: dict[str, ServiceFacts] = {}
    for name, svc in sorted((model.get("services") or {}).items()):
        build = svc.get("build")
        binds = tuple(
            str(v["source"]) for v in svc.get("volumes") or []
            if isinstance(v, dict) and v.get("type") == "bind" and v.get("source")
        )
        for kind in ("configs", "secrets"):
            for entry in svc.get(kind) or []:
                src = entry.get("source") if isinstance(entry, dict) else entry
                top = (model.get(kind) or {}).get(src) or {}
                if isinstance(top, dict) and isinstance(top.get("file"), str):
                    binds += (top["file"],)
        deploy = svc.get("deploy") or {}
        replicas = svc.get("scale", deploy.get("replicas", 1))
        health = svc.get("healthcheck") or {}
        services[name] = ServiceFacts(
            config=digest(svc),
            image=svc.get("image"),
            build=build is not None,
            build_context=build.get("context") if isinstance(build, dict) else None,
            healthcheck=bool(health) and not health.get("disable", False)
            and health.get("test") not in (["NONE"], "NONE"),
            restart=str(svc.get("restart") or "no"),
            replicas=int(replicas) if isinstance(replicas, int) else 1,
            binds=binds,
        )
    return RenderFacts(
        key=key, compose_version=compose_version(), model=redact_model(model, secrets),
        services=services,
        networks={n: digest(d or {}) for n, d in sorted((model.get("networks") or {}).items())},
        volumes={n: digest(d or {}) for n, d in sorted((model.get("volumes") or {}).items())},
    )


class RenderCache:
    """Render facts by input key: in memory, and as JSON files under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._memory: dict[str, RenderFacts] = {}
        self._lock = threading.Lock()

    def _path(self, key: str) -> Path:
        return self.folder / f"{key.removeprefix('sha256:')}.json"

    def get(self, key: str) -> RenderFacts | None:
        with self._lock:
            if key in self._memory:
                return self._memory[key]
        try:
            facts = RenderFacts.model_validate_json(self._path(key).read_bytes())
        except (OSError, ValueError):
            return None
        with self._lock:
            self._memory[key] = facts
        return facts

    def peek(self, project: str) -> RenderFacts | None:
        """The facts rendered last in this process for ``project`` (no file read)."""
        with self._lock:
            found = [f for f in self._memory.values() if f.model.get("name") == project]
        return found[-1] if found else None

    def put(self, facts: RenderFacts) -> None:
        with self._lock:
            self._memory[facts.key] = facts
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(facts.key)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(facts.model_dump_json(), encoding="utf-8")
        tmp.replace(path)

    def add_hashes(self, key: str, labels_digest: str, hashes: dict[str, str]) -> None:
        facts = self.get(key)
        if facts is None or facts.hashes.get(labels_digest) == hashes:
            return
        # Keep the newest few label sets: older revisions' hashes are dead weight.
        kept = dict(list(facts.hashes.items())[-7:])
        kept[labels_digest] = hashes
        self.put(facts.model_copy(update={"hashes": kept}))


class Renderer:
    """Renders stacks, caching facts on disk and real models in memory for apply."""

    def __init__(self, cache: RenderCache) -> None:
        self.cache = cache
        self._models: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def facts(self, inp: StackInput) -> RenderFacts:
        key = input_key(inp)
        found = self.cache.get(key)
        if found is not None:
            return found
        model = self._render(inp, key)
        facts = facts_of(key, model, inp.secrets)
        self.cache.put(facts)
        return facts

    def model(self, inp: StackInput) -> tuple[str, dict[str, Any]]:
        """The real rendered model (with secret values), rendered when not in memory."""
        key = input_key(inp)
        with self._lock:
            found = self._models.get(key)
        if found is None:
            found = self._render(inp, key)
            if self.cache.get(key) is None:
                self.cache.put(facts_of(key, found, inp.secrets))
        return key, found

    def _render(self, inp: StackInput, key: str) -> dict[str, Any]:
        text = inp.runner(None).run(
            ["config", "--format", "json"], stdin=inp.stdin(), project_dir=inp.project_dir,
            files=inp.files, profiles=inp.profiles, reading=True,
        )
        try:
            model: dict[str, Any] = json.loads(text)
        except ValueError:
            raise PermanentError("docker compose config printed no JSON", inp.ref) from None
        with self._lock:
            if len(self._models) >= MAX_MODELS_IN_MEMORY:
                self._models.clear()  # a long-running agent keeps only recent renders
            self._models[key] = model
        return model


class Renderers:
    """One ``Renderer`` per state folder (its cache under ``compose/renders``), kept by
    the compose and scheduler providers: both render the same stacks."""

    def __init__(self) -> None:
        self._found: dict[Path, Renderer] = {}
        self._lock = threading.Lock()

    def of(self, state_dir: Path) -> Renderer:
        folder = state_dir / "compose" / "renders"
        with self._lock:
            found = self._found.get(folder)
            if found is None:
                found = self._found[folder] = Renderer(RenderCache(folder))
            return found
