"""``bosun validate``, ``bosun plan`` and ``bosun apply``."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler import binding
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
from reconciler.cli.source_options import git_options, git_source
from reconciler.errors import ConfigError
from reconciler.model.common import ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.plan import ChangeOutcome, ChangeResult
from reconciler.model.source import Revision
from reconciler.pipeline import Reconciler, load_desired
from reconciler.provider import ApplyOptions
from reconciler.render import render
from reconciler.state import StateStore


def _desired(path: Path, output: str = "text") -> DesiredState:
    try:
        return load_desired(path)
    except ConfigError as exc:
        report_config_error(exc, path, output)


def _desired_at(root: Path, revision: Revision | None) -> DesiredState:
    """The desired state at ``root``; for --repo, with the fetched revision recorded."""
    try:
        return load_desired(root, revision)
    except ConfigError as exc:
        report_config_error(exc, root)


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
        if enforced:
            warned = len(results) - len(enforced)
            click.echo(f"Repository violates enforced policies ({len(enforced)} error(s), "
                       f"{warned} warning(s) above); nothing was applied. Resources: "
                       f"{summary}.")
        else:
            click.echo(f"Repository is valid: {summary}.")
    sys.exit(EXIT_ERROR if enforced else EXIT_OK)


def _suspended(reconciler: Reconciler) -> dict[ResourceRef, str]:
    """Suspended resources and why, from the state store of ``reconciler``."""
    store = reconciler.kv
    if not isinstance(store, StateStore):
        return {}
    return {ref: rec.reason for ref, rec in store.suspended().items()}


def _reconciler_options(force: bool, allow_empty: bool, concurrency: int = 4) -> ApplyOptions:
    return ApplyOptions(force=force, allow_empty=allow_empty, concurrency=concurrency)


def _reconciler(path: Path, state_dir: Path | None, providers: tuple[str, ...],
                force: bool = False, allow_empty: bool = False,
                concurrency: int = 4) -> Reconciler:
    state = state_dir or default_state_dir(path.resolve())
    return Reconciler(
        state_dir=state,
        provider_names=list(providers) or None,
        options=ApplyOptions(force=force, allow_empty=allow_empty, concurrency=concurrency),
        kv=StateStore(state),  # providers keep last healthy configs here, as under serve
    )


def _from_repo(path: Path, state_dir: Path | None, git: dict[str, Any]
               ) -> tuple[Path, Revision | None]:
    """With --repo: fetch into the cache; the exported revision's folder and the revision."""
    if not git.get("repo"):
        return path, None
    state = state_dir or Path(".bosun")
    source = git_source(state, **git)
    revision = source.fetch()
    click.echo(f"Fetched {source.display_url}: {revision}", err=True)
    return source.checkout(revision), revision


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
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Save the plan for `bosun apply --plan` (never holds secret values).")
@click.option("--base", "base", metavar="REV", default=None,
              help="Plan a change: what merging --head into this Git revision would do.")
@click.option("--head", "head", metavar="REV", default=None,
              help="The revision to merge (with --base) [default: HEAD].")
@click.option("--offline", is_flag=True,
              help="With --base: plan against the base revision's desired state "
              "instead of the running hosts (for CI).")
@provider_option
@state_dir_option
@_with_safety
@handle_errors
def plan(path: Path, fmt: str, detailed_exitcode: bool, out: Path | None, base: str | None,
         head: str | None, offline: bool, providers: tuple[str, ...],
         state_dir: Path | None, force: bool, allow_empty: bool) -> None:
    """Show what applying the repository at PATH would change.

    Reads the engines, gateways and DNS servers but writes nothing. With
    --base/--head, shows what merging a Git revision would do (read from Git,
    the working copy is not touched), plus the policy results.
    """
    if base is None and (head is not None or offline):
        raise click.UsageError("--head and --offline need --base")
    if base is not None:
        if out is not None:
            raise click.UsageError("--out saves plans of the working folder; not with --base")
        from reconciler.cli.review_cmd import run_review

        run_review(path, base, head or "HEAD", offline, fmt, detailed_exitcode,
                   _reconciler_options(force, allow_empty), providers, state_dir)
    desired = _desired(path)
    reconciler = _reconciler(path, state_dir, providers, force, allow_empty)
    try:
        result = reconciler.plan(desired)
    except ConfigError as exc:
        report_config_error(exc, path)
    click.echo(render(result, fmt, color=fmt == "text" and sys.stdout.isatty()), nl=False)
    if out is not None:
        binding.save(result, out, [p.name for p in reconciler.providers])
        click.echo(f"Saved the plan to {out}; apply it with: bosun apply --plan {out}",
                   err=True)
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
@click.option("--plan", "saved_path", type=click.Path(dir_okay=False, exists=True,
              path_type=Path), default=None,
              help="Apply this saved plan (bosun plan --out) exactly, if it is not stale.")
@_with_safety
@git_options
@handle_errors
def apply(path: Path, providers: tuple[str, ...], state_dir: Path | None,
          concurrency: int, saved_path: Path | None, force: bool, allow_empty: bool,
          **git: Any) -> None:
    """Apply the repository at PATH (or --repo URL): plan, then make the changes, in
    dependency order.

    With --plan, apply a saved plan instead: it is refused as stale when the
    revision, the repository or the running state moved on since it was made.
    """
    if git.get("repo") and state_dir is None:
        state_dir = Path(".bosun")
    root, revision = _from_repo(path, state_dir, git)
    desired = _desired_at(root, revision)
    saved = binding.load(saved_path) if saved_path is not None else None
    if saved is not None and not providers:
        providers = tuple(saved.providers)
    reconciler = _reconciler(path, state_dir, providers, force, allow_empty, concurrency)
    started = time.monotonic()
    try:
        result = saved.plan if saved is not None else reconciler.plan(desired)
    except ConfigError as exc:
        report_config_error(exc, path)
    click.echo(render(result, "text", color=sys.stdout.isatty()), nl=False)
    if result.blocked:
        click.echo("Not applied: enforced policy violations.", err=True)
        sys.exit(EXIT_ERROR)
    if not result.changes:
        sys.exit(EXIT_ERROR if result.errors else EXIT_OK)
    if saved is not None:
        reconciler.check_saved(result, desired)
    # Suspended resources are planned but not applied, as under bosun serve.
    suspended = _suspended(reconciler)
    held = [c for c in result.changes if c.ref in suspended]
    if held:
        click.echo("")
        for ref in sorted({c.ref for c in held}, key=ResourceRef.sort_key):
            reason = f" ({suspended[ref]})" if suspended[ref] else ""
            click.echo(f"Held: {ref} is suspended{reason}; 'bosun resume {ref}' hands it back.")
        result = result.model_copy(update={
            "changes": tuple(c for c in result.changes if c.ref not in suspended)})
        if not result.changes:
            sys.exit(EXIT_ERROR if result.errors else EXIT_OK)
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
