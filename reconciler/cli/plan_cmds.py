"""``bosun validate``, ``bosun plan`` and ``bosun apply``."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler.cli.common import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    default_state_dir,
    display_root,
    handle_errors,
    path_argument,
    policy_line,
    provider_option,
    report_config_error,
    state_dir_option,
)
from reconciler.errors import ConfigError
from reconciler.model.desired import DesiredState
from reconciler.model.plan import ChangeOutcome, ChangeResult
from reconciler.pipeline import Reconciler, load_desired
from reconciler.provider import ApplyOptions
from reconciler.render import render


def _desired(path: Path, output: str = "text") -> DesiredState:
    try:
        return load_desired(path)
    except ConfigError as exc:
        report_config_error(exc, path, output)


@click.command()
@path_argument
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: a machine-readable report on stdout.")
@handle_errors
def validate(path: Path, output: str) -> None:
    """Check the repository at PATH: syntax, schema, references, cycles, policies.

    Prints every problem at once as path:line:col: Kind/name: field: message
    and exits 1; exits 0 when the repository is valid. Nothing is applied.
    """
    desired = _desired(path, output)
    from reconciler import policy as policy_stage

    # The compose files as written: validate reads no engine and needs no secret.
    try:
        results = policy_stage.evaluate(desired, policy_stage.builtin_library())
    except ConfigError as exc:
        report_config_error(exc, path, output)
    enforced = [r for r in results if r.enforced]
    counts: dict[str, int] = {}
    for res in desired.resources:
        counts[res.ref.kind.value] = counts.get(res.ref.kind.value, 0) + 1
    if output == "json":
        click.echo(json.dumps({
            "valid": not enforced,
            "digest": desired.digest,
            "resources": counts,
            "problems": [],
            "policy": [r.model_dump(mode="json") for r in results],
        }, indent=2))
    else:
        prefix = display_root(path)
        for r in results:
            click.echo(policy_line(r, prefix), err=True)
        summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        state = "is valid" if not enforced else "violates enforced policies"
        click.echo(f"Repository {state}: {summary}.")
    sys.exit(EXIT_ERROR if enforced else EXIT_OK)


def _reconciler(path: Path, state_dir: Path | None, providers: tuple[str, ...],
                force: bool = False, allow_empty: bool = False,
                concurrency: int = 4) -> Reconciler:
    return Reconciler(
        state_dir=state_dir or default_state_dir(path.resolve()),
        provider_names=list(providers) or None,
        options=ApplyOptions(force=force, allow_empty=allow_empty, concurrency=concurrency),
    )


safety_options = [
    click.option("--force", is_flag=True,
                 help="Allow plans past safety thresholds (many deletes, large DNS changes)."),
    click.option("--allow-empty", is_flag=True,
                 help="Allow deleting every stack of a host whose repository declares none."),
]


F = TypeVar("F", bound=Callable[..., Any])


def _with_safety(func: F) -> F:
    for option in reversed(safety_options):
        func = option(func)
    return func


@click.command()
@path_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]),
              default="text", show_default=True)
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 when there are no changes, 2 when there are, 1 on error.")
@provider_option
@state_dir_option
@_with_safety
@handle_errors
def plan(path: Path, fmt: str, detailed_exitcode: bool, providers: tuple[str, ...],
         state_dir: Path | None, force: bool, allow_empty: bool) -> None:
    """Show what applying the repository at PATH would change.

    Reads the engines, gateways and DNS servers but writes nothing.
    """
    desired = _desired(path)
    reconciler = _reconciler(path, state_dir, providers, force, allow_empty)
    result = reconciler.plan(desired)
    click.echo(render(result, fmt, color=fmt == "text" and sys.stdout.isatty()), nl=False)
    if result.errors or result.blocked:
        sys.exit(EXIT_ERROR)
    if detailed_exitcode and result.changes:
        sys.exit(EXIT_CHANGES)
    sys.exit(EXIT_OK)


def _progress_line(result: ChangeResult) -> str:
    seconds = ""
    if result.started_at and result.finished_at:
        seconds = f" ({(result.finished_at - result.started_at).total_seconds():.1f}s)"
    mark = {
        ChangeOutcome.APPLIED: click.style("✓", fg="green"),
        ChangeOutcome.FAILED: click.style("✗", fg="red"),
        ChangeOutcome.SKIPPED: click.style("-", fg="yellow"),
        ChangeOutcome.ROLLED_BACK: click.style("↺", fg="magenta"),
    }[result.outcome]
    text = f"{mark} {result.ref} {result.action.value} {result.outcome.value}{seconds}"
    if result.message:
        text += f": {result.message}"
    return text


@click.command()
@path_argument
@provider_option
@state_dir_option
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Independent changes applied at once.")
@_with_safety
@handle_errors
def apply(path: Path, providers: tuple[str, ...], state_dir: Path | None,
          concurrency: int, force: bool, allow_empty: bool) -> None:
    """Apply the repository at PATH: plan, then make the changes, in dependency order."""
    desired = _desired(path)
    reconciler = _reconciler(path, state_dir, providers, force, allow_empty, concurrency)
    started = time.monotonic()
    result = reconciler.plan(desired)
    click.echo(render(result, "text", color=sys.stdout.isatty()), nl=False)
    if not result.changes:
        sys.exit(EXIT_ERROR if result.errors else EXIT_OK)
    if result.blocked:
        click.echo("Not applied: enforced policy violations.", err=True)
        sys.exit(EXIT_ERROR)
    click.echo("")
    click.echo(f"Applying {len(result.changes)} change(s)...")

    def on_result(r: ChangeResult) -> None:
        click.echo("  " + _progress_line(r))

    report = reconciler.apply(result, desired, on_result=on_result)
    failed = [r for r in report.results if r.outcome is not ChangeOutcome.APPLIED]
    elapsed = time.monotonic() - started
    applied = len(report.results) - len(failed)
    click.echo(f"\nApply complete: {applied} applied, {len(failed)} not applied "
               f"in {elapsed:.1f}s.")
    sys.exit(EXIT_ERROR if failed or result.errors else EXIT_OK)
