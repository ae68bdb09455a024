"""``bosun schedule list`` and ``bosun schedule runs``: schedules and their history.

Reads the state store that ``bosun serve`` writes (``schedule_runs``, and the
scheduler's registrations in the key-value table); never changes anything.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from reconciler.cli.common import fail, handle_errors
from reconciler.model.schedule import ScheduleOverview, ScheduleRun
from reconciler.state import StateStore


def _open(state_dir: Path | None, path: Path | None) -> StateStore:
    from reconciler.cli.serve_cmds import _state_dir

    state = _state_dir(state_dir, path)
    if not (state / "state.db").exists():
        fail(f"no bosun state in {state} (has bosun serve or apply run with this --state-dir?)")
    return StateStore(state)


def _time(when: datetime | None) -> str:
    if when is None:
        return "-"
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _seconds(run: ScheduleRun) -> str:
    seconds = run.seconds
    return "-" if seconds is None else f"{seconds:.1f}s"


def run_line(run: ScheduleRun) -> str:
    """``succeeded (exit 0)`` / ``failed (timeout)`` / ``skipped (concurrency)``."""
    if run.exit_code is not None:
        why = f"exit {run.exit_code}" + (f", {run.reason.value}"
                                         if run.reason.value not in ("exit", "") else "")
    else:
        why = run.reason.value
    return f"{run.result.value} ({why})" if why else run.result.value


def overview_rows(schedules: list[ScheduleOverview]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [("SCHEDULE", "WHEN", "ACTION", "NEXT RUN", "LAST RUN",
                                    "RESULT")]
    for s in schedules:
        last = s.last_run
        nxt = "suspended" if s.suspended else _time(s.next_run)
        rows.append((s.name, s.when if s.registered else "(removed)", s.action or "-",
                     nxt if s.registered else "-", _time(last.started_at) if last else "never",
                     run_line(last) if last else "-"))
    return rows


def table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]


state_dir_option = click.option(
    "--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    envvar="BOSUN_STATE_DIR", show_envvar=True,
    help="bosun's state folder [default: DIR/.bosun with --path, else ./.bosun].")
path_option = click.option(
    "--path", "path", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="The working folder of local mode (state in DIR/.bosun).")
output_option = click.option("--output", "-o", type=click.Choice(["text", "json"]),
                             default="text", show_default=True)


@click.group()
def schedule() -> None:
    """Schedules run by bosun serve: what is registered and how the runs went."""


@schedule.command("list")
@state_dir_option
@path_option
@output_option
@handle_errors
def list_(state_dir: Path | None, path: Path | None, output: str) -> None:
    """Every schedule: when it runs, its next run and how its last run went."""
    store = _open(state_dir, path)
    schedules = store.schedules_overview()
    if output == "json":
        click.echo(json.dumps([s.model_dump(mode="json") for s in schedules], indent=2))
        return
    if not schedules:
        click.echo("No schedules registered.")
        return
    for line in table(overview_rows(schedules)):
        click.echo(line)


@schedule.command("runs")
@click.argument("name")
@click.option("--limit", "-n", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--show-output", "show_output", is_flag=True,
              help="Print each run's output (the last 64 KiB, secrets redacted).")
@state_dir_option
@path_option
@output_option
@handle_errors
def runs(name: str, limit: int, show_output: bool, state_dir: Path | None, path: Path | None,
         output: str) -> None:
    """The last runs of schedule NAME, newest first."""
    store = _open(state_dir, path)
    found = store.schedule_history(name, limit, output=show_output or output == "json")
    if output == "json":
        click.echo(json.dumps([r.model_dump(mode="json") for r in found], indent=2))
        return
    if not found:
        click.echo(f"No runs of schedule {name!r} recorded.")
        return
    rows: list[tuple[str, ...]] = [("RUN", "SLOT", "STARTED", "TOOK", "RESULT", "MESSAGE")]
    for r in found:
        rows.append((str(r.id), _time(r.slot), _time(r.started_at), _seconds(r), run_line(r),
                     r.message[:100]))
    if not show_output:
        for line in table(rows):
            click.echo(line)
        return
    for r, row in zip(found, rows[1:], strict=True):
        click.echo(" ".join(row[:5]) + (f"  {r.message}" if r.message else ""))
        text = r.output.rstrip("\n")
        if text:
            if r.output_truncated:
                click.echo("  (output cut: only its end is kept)")
            for line in text.splitlines():
                click.echo(f"  | {line}")
        click.echo("")
