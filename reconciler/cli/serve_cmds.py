"""``bosun serve``, ``bosun status``, ``bosun suspend`` and ``bosun resume``."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
import httpx

from reconciler import logs
from reconciler.api import ApiConfig
from reconciler.api import mount as mount_api
from reconciler.api.models import Overview
from reconciler.api.schedules import schedule_routes
from reconciler.api.views import overview
from reconciler.cli.common import EXIT_ERROR, fail, handle_errors, provider_option
from reconciler.cli.schedule_cmds import overview_rows, table
from reconciler.cli.source_options import git_options, git_source, local_source
from reconciler.model.common import Kind, ResourceRef, duration_seconds
from reconciler.model.schedule import ScheduleOverview
from reconciler.model.sensitive import Sensitive
from reconciler.pipeline import Reconciler
from reconciler.provider import ApplyOptions, Forgetter
from reconciler.registry import select_providers
from reconciler.runtime import ReconcileCycle, Runtime, RuntimeOptions
from reconciler.server import Service, build_app
from reconciler.source import Source
from reconciler.state import StateStore
from reconciler.status import attach as attach_status
from webhook import DEFAULT_MAX_BYTES, WebhookConfig

SECRET_ENV = "BOSUN_WEBHOOK_SECRET"
API_TOKEN_ENV = "BOSUN_API_TOKEN"


def _state_dir(state_dir: Path | None, path: Path | None) -> Path:
    if state_dir is not None:
        return state_dir
    if path is not None:
        return path / ".bosun"
    return Path(".bosun")


local_path_option = click.option(
    "--path", "path", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="The working folder of local mode (state in DIR/.bosun).")

state_option = click.option(
    "--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    envvar="BOSUN_STATE_DIR", show_envvar=True,
    help="bosun's state folder [default: DIR/.bosun with --path, else ./.bosun].",
)


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return duration_seconds(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _secret(file: Path | None, env: str, what: str) -> Sensitive | None:
    """A secret from a file (a mounted Secret) or ``$env``; None when neither gives one."""
    if file is not None:
        try:
            value = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            fail(f"cannot read the {what} file {file}: {exc.strerror}")
        if not value:
            fail(f"the {what} file {file} is empty")
    else:
        value = os.environ.get(env, "").strip()
        if not value:
            return None
    secret = Sensitive(value)
    logs.register(secret)
    return secret


@click.command()
@git_options
@click.option("--path", "path", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=None, help="Local mode: read this working folder and reconcile after "
              "each save (no Git needed).")
@click.option("--listen", default="127.0.0.1:8787", show_default=True, metavar="HOST:PORT",
              help="Where webhooks, the API, the dashboard and /metrics are served.")
@click.option("--interval", default="60s", show_default=True, metavar="DURATION",
              help="Poll the source this often (seconds or 30s, 5m, ...), with jitter.")
@state_option
@click.option("--webhook-secret-file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help=f"Shared secret for webhooks [or ${SECRET_ENV}]; without "
              "one, webhooks are refused.")
@click.option("--webhook-max-bytes", type=click.IntRange(1024), default=DEFAULT_MAX_BYTES,
              show_default=True, help="Larger webhook bodies are refused (413).")
@provider_option
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Independent changes applied at once.")
@click.option("--force", is_flag=True, help="Allow plans past safety thresholds.")
@click.option("--allow-empty", is_flag=True,
              help="Allow deleting every stack of a host whose repository declares none.")
@click.option("--stop-timeout", default="120s", show_default=True, metavar="DURATION",
              help="On SIGTERM, how long changes in flight may take to finish.")
@click.option("--api-token-file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help=f"Bearer token for POST /api/v1/reconcile [or "
              f"${API_TOKEN_ENV}]; without one the API is read-only.")
@click.option("--agent", default=None, envvar="BOSUN_AGENT", show_envvar=True,
              help="This agent's folder on the status branch [default: the repository's "
              "agent, else the host name].")
@click.option("--status-branch/--no-status-branch", default=True, show_default=True,
              help="Commit status to the status branch of the repository followed.")
@click.pass_context
@handle_errors
def serve(ctx: click.Context, repo: str | None, branch: str | None, tag: str | None,
          commit: str | None, subdir: str, git_user: str | None, git_token_file: Path | None,
          git_token_env: str, ssh_key: Path | None, known_hosts: Path | None,
          fetch_timeout: float, path: Path | None, listen: str, interval: str,
          state_dir: Path | None, webhook_secret_file: Path | None, webhook_max_bytes: int,
          providers: tuple[str, ...], concurrency: int, force: bool, allow_empty: bool,
          stop_timeout: str, api_token_file: Path | None, agent: str | None,
          status_branch: bool) -> None:
    """Run bosun as a service: follow a Git repository (or a folder) and keep hosts in sync.

    Polls the source every --interval, reconciles on webhooks from GitHub,
    GitLab or any HMAC signer (POST /hooks/github, /hooks/gitlab, /hooks/generic)
    and, with --path, shortly after each save. Stops cleanly on SIGTERM/Ctrl-C.
    """
    if (repo is None) == (path is None):
        fail("give either --repo URL|PATH (follow a Git repository) or --path DIR (local mode)")
    root_verbose = ctx.find_root().params.get("verbose", 0)
    logs.setup(logging.DEBUG if root_verbose >= 2 else logging.INFO)
    host, port = _listen(listen)
    state = _state_dir(state_dir, path).resolve()
    store = StateStore(state)
    source: Source
    if path is not None:
        source = local_source(path)
    else:
        assert repo is not None
        source = git_source(state, repo, branch, tag, commit, subdir, git_user, git_token_file,
                            git_token_env, ssh_key, known_hosts, fetch_timeout)
    reconciler = Reconciler(
        state_dir=state, provider_names=list(providers) or None,
        options=ApplyOptions(force=force, allow_empty=allow_empty, concurrency=concurrency),
        kv=store,
    )
    cycle = ReconcileCycle(source, reconciler, store)
    runtime = Runtime(cycle, store, RuntimeOptions(
        interval=_seconds(interval), concurrency=max(2, min(concurrency, 8)),
        stop_timeout=_seconds(stop_timeout),
        watch=path.resolve() if path is not None else None, ignore=(state,),
    ))
    from reconciler.changecontrol import ChangeControl

    ChangeControl(runtime).install()  # plans on pull requests, bosun/apply statuses
    secret = _secret(webhook_secret_file, SECRET_ENV, "webhook secret")
    status_service = attach_status(cycle, store, status_branch=status_branch, agent=agent)
    app = build_app(runtime, store, WebhookConfig(secret=secret, max_bytes=webhook_max_bytes),
                    extra_routes=schedule_routes())
    token = _secret(api_token_file, API_TOKEN_ENV, "API token")
    mount_api(app, status_service.feed, ApiConfig(token=token))
    service = Service(runtime, app, host, port)
    log = logging.getLogger("bosun.serve")
    log.info("following %s; state in %s", source.describe(), state)
    if secret is None:
        log.warning("no webhook secret: webhooks are refused (set %s or --webhook-secret-file)",
                    SECRET_ENV)
    status_service.start()
    try:
        clean = service.run()
    except OSError as exc:
        fail(str(exc))
    finally:
        status_service.stop()
        store.close()
    sys.exit(0 if clean else EXIT_ERROR)


def _listen(text: str) -> tuple[str, int]:
    """``HOST:PORT``; port 0 picks a free port (printed once listening)."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        fail(f"--listen {text!r}: give HOST:PORT, such as 127.0.0.1:8787")
    return host, int(port)


def _ago(when: datetime | None) -> str:
    if when is None:
        return "never"
    seconds = int((datetime.now(UTC) - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _short(revision: str | None) -> str:
    if not revision:
        return "-"
    ref, _, sha = revision.partition("@sha1:")
    return f"{ref}@{sha[:7]}" if sha else revision


@click.command()
@state_option
@local_path_option
@click.option("--api", "api", default=None, metavar="URL", envvar="BOSUN_API",
              help="Ask a running bosun serve (http://host:port) instead of reading the "
              "state folder.")
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@handle_errors
def status(state_dir: Path | None, path: Path | None, api: str | None, output: str) -> None:
    """Show the source, the last reconcile and every resource's sync and health.

    Reads the state folder, or with --api the same data from bosun serve's
    HTTP API (GET /api/v1/status). Failing resources come first.
    """
    if api:
        view, schedules = _overview_from_api(api), _schedules_from_api(api)
    else:
        state = _state_dir(state_dir, path)
        view, schedules = _overview_from_store(state), _schedules_from_store(state)
    if output == "json":
        body = view.model_dump(mode="json")
        body["schedules"] = [s.model_dump(mode="json") for s in schedules]
        click.echo(json.dumps(body, indent=2))
        return
    for src in view.sources:
        line = f"Source {src.url} ({src.ref}): {src.state.value}, checked {_ago(src.checked_at)}"
        click.echo(line + (f" at {_short(src.revision)}" if src.revision else ""))
        if src.message:
            click.echo(f"  {src.message}")
    run = view.last_run
    if run is not None:
        click.echo(f"Last reconcile: {run.state.value} ({run.trigger}, "
                   f"{_ago(run.finished_at or run.started_at)}) at {_short(run.revision)}"
                   + (f": {run.summary}" if run.summary else ""))
        if run.message:
            click.echo(f"  {run.message}")
    if not view.resources:
        click.echo("No resources recorded yet: bosun serve records them after each reconcile "
                   "(bosun apply does not; bosun plan shows what is out of sync).")
        return
    counts = view.counts
    click.echo(f"{counts.total} resources: "
               + ", ".join(f"{n} {k}" for k, n in counts.sync.items() if n) + "; "
               + ", ".join(f"{n} {k}" for k, n in counts.health.items() if n))
    rows = [("RESOURCE", "SYNC", "HEALTH", "REVISION", "MESSAGE")]
    for item in view.resources:
        message = f"reconciling: {item.step}" if item.reconciling else item.message
        rows.append((f"{item.kind.value}/{item.name}", item.sync.value, item.health.value,
                     _short(item.last_applied_revision), message[:80]))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    click.echo("")
    for row in rows:
        click.echo("  ".join(row[i].ljust(widths[i]) for i in range(4)) + "  " + row[4])
    if schedules:
        click.echo("")
        for line in table(overview_rows(schedules)):
            click.echo(line)


def _schedules_from_store(state: Path) -> list[ScheduleOverview]:
    store = StateStore(state)
    try:
        return store.schedules_overview()
    finally:
        store.close()


def _schedules_from_api(url: str) -> list[ScheduleOverview]:
    try:
        answer = httpx.get(url.rstrip("/") + "/api/v1/schedules", timeout=10.0,
                           follow_redirects=True)
        if answer.status_code != 200:
            return []  # a bosun without the scheduler's routes
        return [ScheduleOverview.model_validate(item) for item in answer.json()["schedules"]]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return []


def _overview_from_store(state: Path) -> Overview:
    if not (state / "state.db").exists():
        fail(f"no bosun state in {state} (has bosun serve or apply run with this --state-dir?)")
    store = StateStore(state)
    try:
        return overview(store)
    finally:
        store.close()


def _overview_from_api(url: str) -> Overview:
    target = url.rstrip("/") + "/api/v1/status"
    try:
        answer = httpx.get(target, timeout=10.0, follow_redirects=True)
    except httpx.HTTPError as exc:
        fail(f"cannot reach bosun at {url}: {exc}")
    if answer.status_code != 200:
        try:
            message = answer.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = answer.text[:200]
        fail(f"{target} answered {answer.status_code}: {message}")
    try:
        return Overview.model_validate_json(answer.content)
    except ValueError as exc:
        fail(f"{target} did not answer a bosun status: {str(exc).splitlines()[0]}")


def _ref(text: str) -> ResourceRef:
    try:
        ref = ResourceRef.parse(text, default_kind=Kind.STACK)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if ref.kind in (Kind.REPOSITORY, Kind.HOST, Kind.SECRET, Kind.POLICY):
        raise click.BadParameter(f"{ref.kind.value} resources are not applied; nothing to suspend")
    return ref


@click.command()
@click.argument("resource")
@state_option
@local_path_option
@click.option("--reason", default="", help="Why: shown by bosun status and the dashboard.")
@handle_errors
def suspend(resource: str, state_dir: Path | None, path: Path | None, reason: str) -> None:
    """Stop applying changes to RESOURCE (Kind/name, or a stack's name).

    It is still planned (and shown out of sync); its health reads Suspended.
    A running bosun serve notices within seconds; bosun apply holds its changes too.
    """
    ref = _ref(resource)
    store = StateStore(_state_dir(state_dir, path))
    if store.suspend(ref, reason):
        store.add_event("control", f"{ref} suspended" + (f": {reason}" if reason else ""),
                        ref=ref)
        click.echo(f"{ref} suspended: bosun plans it but applies nothing to it.")
    else:
        click.echo(f"{ref} was already suspended.")


@click.command()
@click.argument("resource")
@state_option
@local_path_option
@handle_errors
def resume(resource: str, state_dir: Path | None, path: Path | None) -> None:
    """Apply changes to RESOURCE again (a running bosun serve reconciles at once)."""
    ref = _ref(resource)
    store = StateStore(_state_dir(state_dir, path))
    if store.resume(ref):
        store.add_event("control", f"{ref} resumed", ref=ref)
        click.echo(f"{ref} resumed.")
    else:
        click.echo(f"{ref} was not suspended.")


@click.command()
@click.argument("resource")
@state_option
@local_path_option
@handle_errors
def forget(resource: str, state_dir: Path | None, path: Path | None) -> None:
    """Forget what bosun made behind a Host or DNSZone removed from the repository.

    RESOURCE is Host/NAME or DNSZone/NAME. Without its manifest bosun cannot
    reach that engine or server, so the stacks or records it made there keep
    running and every plan warns about them. This drops bosun's memory of
    them and so the warning; nothing on the engine or server is touched. To
    remove them instead, declare the Host or zone again without stacks or
    records and apply.
    """
    try:
        ref = ResourceRef.parse(resource)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if ref.kind not in (Kind.HOST, Kind.DNS_ZONE):
        raise click.BadParameter(f"{ref}: only Host/NAME and DNSZone/NAME are remembered "
                                 "beyond the repository")
    state = _state_dir(state_dir, path)
    if not state.is_dir():
        fail(f"{state} is not a bosun state folder (--state-dir, or --path of local mode)")
    store = StateStore(state)
    try:
        lines: list[str] = []
        for provider in select_providers()[0]:
            if isinstance(provider, Forgetter):
                lines += provider.forget(ref, state, store)
        if not lines:
            click.echo(f"bosun remembers nothing made behind {ref}.")
            return
        store.add_event("control", f"{ref} forgotten: " + "; ".join(lines), ref=ref)
        click.echo(f"{ref}: forgotten; bosun no longer warns about it. Left as they are:")
        for line in lines:
            click.echo(f"  {line}")
    finally:
        store.close()
