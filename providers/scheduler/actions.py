"""What a run does: the action of a Schedule, and the ``http`` and ``reconcile`` actions.

engine -> **actions** -> containers (run, exec) / HTTP / the runtime's queue

``make_action`` picks the action of a registered job. ``run`` and ``exec``
live in ``containers``. ``http`` sends one request (values of headers may
come from Secrets); ``reconcile`` puts a reconcile of the named resources on
the runtime's queue, never a reconcile of its own.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from providers.scheduler.containers import ContainerExec, ContainerRun
from providers.scheduler.jobs import RegisteredJob
from providers.scheduler.output import OutputTail
from providers.scheduler.runs import Action, Outcome, RunContext
from reconciler.errors import BosunError
from reconciler.model.common import ResourceRef, SecretRef, duration_seconds
from reconciler.model.kinds import HTTPAction, ReconcileAction
from reconciler.model.schedule import ScheduleRunReason, ScheduleRunResult
from reconciler.model.sensitive import Sensitive

HTTP_DEFAULT_TIMEOUT = 300.0


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    # Building one loads the system's CA certificates (tens of milliseconds):
    # once per process, not once per run.
    return ssl.create_default_context()


@dataclass
class HTTPRequest:
    """``http``: one request; a status in ``expectStatus`` is success."""

    job: RegisteredJob
    spec: HTTPAction
    rc: RunContext
    timeout: float | None
    _secrets: list[Sensitive] = field(default_factory=list)
    _client: httpx.Client | None = None
    # Closing the client does not interrupt a request in flight: the run is
    # recorded at once and the request is left to its own timeout.
    kill_grace: float = 0.5

    def secrets(self) -> list[Sensitive]:
        return list(self._secrets)

    def run(self, out: OutputTail) -> Outcome:
        headers: dict[str, str] = {}
        for key, value in self.spec.headers.items():
            if isinstance(value, SecretRef):
                secret = self.rc.ctx.secrets.resolve(value)
                self._secrets.append(secret)
                headers[key] = secret.reveal()
            else:
                headers[key] = value
        timeout = self.timeout or HTTP_DEFAULT_TIMEOUT
        self._client = httpx.Client(timeout=timeout, follow_redirects=False,
                                    verify=_tls_context())
        try:
            with self._client.stream(self.spec.method, self.spec.url, headers=headers,
                                     content=self.spec.body) as response:
                for chunk in response.iter_bytes():
                    out.write(chunk)
                status, phrase = response.status_code, response.reason_phrase
        except httpx.TimeoutException:
            return Outcome(ScheduleRunResult.FAILED, ScheduleRunReason.TIMEOUT, None,
                           f"no answer from {self.spec.url} within {timeout:g}s")
        except httpx.HTTPError as exc:
            return Outcome(ScheduleRunResult.FAILED, ScheduleRunReason.ERROR, None,
                           f"{self.spec.method} {self.spec.url} failed: {exc}")
        finally:
            self._client.close()
        expected = ", ".join(map(str, self.spec.expect_status))
        ok = status in self.spec.expect_status
        return Outcome(ScheduleRunResult.SUCCEEDED if ok else ScheduleRunResult.FAILED,
                       ScheduleRunReason.STATUS, None,
                       f"{self.spec.method} {self.spec.url}: HTTP {status} {phrase}"
                       + ("" if ok else f" (expected {expected})"))

    def kill(self) -> None:
        if self._client is not None:
            self._client.close()


@dataclass
class QueueReconcile:
    """``reconcile``: a request on the runtime's queue (never a reconcile of its own)."""

    job: RegisteredJob
    spec: ReconcileAction
    rc: RunContext
    kill_grace: float = 0.5

    def secrets(self) -> list[Sensitive]:
        return []

    def run(self, out: OutputTail) -> Outcome:
        refs = [ResourceRef.parse(text) for text in self.spec.resources]
        what = ", ".join(map(str, refs)) or "every resource"
        if self.rc.host.stopping:
            return Outcome(ScheduleRunResult.FAILED, ScheduleRunReason.STOPPING, None,
                           "bosun is stopping; no reconcile queued")
        fresh = self.rc.host.reconcile(refs, f"Schedule/{self.job.name}")
        message = f"queued a reconcile of {what}" if fresh else \
            f"a reconcile was already waiting; it now covers {what}"
        out.write(message + "\n")
        return Outcome(ScheduleRunResult.SUCCEEDED, ScheduleRunReason.QUEUED, None, message)

    def kill(self) -> None:
        return None


def make_action(job: RegisteredJob, run_id: int, rc: RunContext) -> Action:
    spec = job.schedule
    action = spec.action
    if action.run is not None:
        return ContainerRun(job, run_id, action.run, rc)
    if action.exec is not None:
        return ContainerExec(job, action.exec, rc)
    if action.http is not None:
        timeout = duration_seconds(spec.timeout) if spec.timeout else None
        return HTTPRequest(job, action.http, rc, timeout)
    if action.reconcile is not None:
        return QueueReconcile(job, action.reconcile, rc)
    raise BosunError(f"schedule {job.name!r} has no action")


def redaction_values(rc: RunContext, action: Action) -> Sequence[Sensitive]:
    """Every secret value bosun can resolve for this repository, and the action's own."""
    resolver = rc.ctx.secrets
    every = getattr(resolver, "resolve_all", None)
    values: list[Sensitive] = list(every()) if callable(every) else []
    values += resolver.known()
    values += action.secrets()
    return values
