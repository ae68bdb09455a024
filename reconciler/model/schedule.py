"""One run of a Schedule: what the scheduler records and status, the API and the dashboard read.

Part of the model layer. The scheduler provider writes a ``ScheduleRun`` when a
slot fires (result ``running``) and again when the run ends; the state store
keeps the last ``spec.history`` runs of each schedule in its ``schedule_runs``
table. Output is the tail of what the run printed, with every resolved secret
value already replaced by ``(sensitive)``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from reconciler.model.common import Frozen

OUTPUT_LIMIT = 64 * 1024
"""Bytes of a run's output that are kept (the end of it)."""


class ScheduleRunResult(StrEnum):
    """A subset of ``reconciler.state.ScheduleRunState`` (the API's read model)."""

    RUNNING = "running"            # started, not finished yet
    SUCCEEDED = "succeeded"        # exit code 0, or the expected HTTP status
    FAILED = "failed"              # non-zero exit, timeout, replaced, or an error
    SKIPPED = "skipped"            # not run: concurrency forbid, missed: skip, suspended
    INTERRUPTED = "interrupted"    # bosun stopped (or died) while it ran

    @property
    def final(self) -> bool:
        return self is not ScheduleRunResult.RUNNING


class ScheduleRunReason(StrEnum):
    """Why a run ended the way it did (one word, for filters and the dashboard)."""

    EXIT = "exit"                  # the command ended by itself (see exit_code)
    STATUS = "status"              # an http action got a response (see message)
    QUEUED = "queued"              # a reconcile action was put on the queue
    TIMEOUT = "timeout"            # spec.timeout passed; the run was stopped
    REPLACED = "replaced"          # concurrency: replace stopped it for a newer run
    CONCURRENCY = "concurrency"    # concurrency: forbid, the previous run still ran
    MISSED = "missed"              # the slot passed while bosun was down (missed: skip)
    SUSPENDED = "suspended"        # spec.suspend or bosun suspend
    ERROR = "error"                # the action could not be started or followed
    STOPPING = "stopping"          # bosun serve stopped while it ran
    NONE = ""


class ScheduleTrigger(StrEnum):
    CRON = "cron"                  # a cron slot came while bosun serve ran
    EVERY = "every"                # an every: slot came while bosun serve ran
    MISSED = "missed"              # caught up at start-up (missed: run-once)
    MANUAL = "manual"              # started by hand (not by the scheduler)


class ScheduleRun(Frozen):
    id: int | None = Field(default=None, description="Row id; None before it is stored.")
    schedule: str = Field(description="The Schedule's metadata.name.")
    slot: datetime | None = Field(
        default=None, description="The scheduled time this run is for (UTC), before jitter."
    )
    trigger: ScheduleTrigger = ScheduleTrigger.EVERY
    action: str = Field(description="run | exec | http | reconcile")
    revision: str | None = Field(default=None, description="Revision that registered the job.")
    started_at: datetime
    finished_at: datetime | None = None
    result: ScheduleRunResult = ScheduleRunResult.RUNNING
    reason: ScheduleRunReason = ScheduleRunReason.NONE
    exit_code: int | None = Field(
        default=None, description="The command's exit code (run, exec); None otherwise."
    )
    message: str = Field(default="", description="One line for people.")
    output: str = Field(
        default="", description=f"The last {OUTPUT_LIMIT} bytes of output, secrets redacted."
    )
    output_truncated: bool = Field(default=False, description="True when output was cut.")

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


# Where the scheduler provider keeps its registrations in the state store's
# key-value table (readers: bosun status, bosun schedule, the API).
REGISTRATIONS = "scheduler.jobs"
"""Schedule name -> the job as registered: name, owner, spec (JSON), revision, anchor."""
SLOTS = "scheduler.slots"
"""Schedule name -> {"slot": last slot handled, "next": next slot or null, "at": when written}."""


class ScheduleOverview(Frozen):
    """One schedule as ``bosun status``, ``bosun schedule list`` and the API show it."""

    name: str
    registered: bool = Field(description="False: only history is left (removed schedule).")
    when: str = Field(default="", description="'every 2s' or 'cron 0 3 * * * (UTC)'.")
    action: str = Field(default="", description="run | exec | http | reconcile")
    revision: str | None = None
    suspended: bool = False
    next_run: datetime | None = None
    last_slot: datetime | None = None
    last_run: ScheduleRun | None = Field(default=None, description="Without its output.")
