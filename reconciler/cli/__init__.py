"""The ``bosun`` command line. Each command lives in its own module here.

Commands are registered by name in ``COMMANDS`` and their modules imported
only when the command runs: ``bosun plan`` of a DNS repository never loads
the web server, Caddy's client or Git. ``bosun --help`` lists the commands
from the short help registered here (``tests/unit/test_cli_lazy.py`` checks
that it matches each command's own docstring).
"""

from __future__ import annotations

import gc
import importlib

import click
from click.formatting import HelpFormatter

from reconciler import __version__

# name -> (module, attribute, first paragraph of the command's help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": ("reconciler.cli.plan_cmds", "validate",
                 "Check the repository at PATH: syntax, schema, references, cycles, policies."),
    "plan": ("reconciler.cli.plan_cmds", "plan",
             "Show what applying the repository at PATH would change."),
    "apply": ("reconciler.cli.plan_cmds", "apply",
              "Apply the repository at PATH (or --repo URL): plan, then make the changes, in\n"
              "dependency order."),
    "schema": ("reconciler.cli.misc_cmds", "schema",
               "JSON Schemas of bosun's manifests, for editors and CI."),
    "init": ("reconciler.cli.misc_cmds", "init",
             "Scaffold a bosun repository at PATH that validates."),
    "serve": ("reconciler.cli.serve_cmds", "serve",
              "Run bosun as a service: follow a Git repository (or a folder) and keep hosts "
              "in sync."),
    "status": ("reconciler.cli.serve_cmds", "status",
               "Show the source, the last reconcile and every resource's sync and health."),
    "suspend": ("reconciler.cli.serve_cmds", "suspend",
                "Stop applying changes to RESOURCE (Kind/name, or a stack's name)."),
    "resume": ("reconciler.cli.serve_cmds", "resume",
               "Apply changes to RESOURCE again (a running bosun serve reconciles at once)."),
    "forget": ("reconciler.cli.serve_cmds", "forget",
               "Forget what bosun made behind a Host or DNSZone removed from the repository."),
    "schedule": ("reconciler.cli.schedule_cmds", "schedule",
                 "Schedules run by bosun serve: what is registered and how the runs went."),
    "gateway": ("reconciler.cli.gateway_cmds", "gateway",
                "bosun's own Caddy, used by Gateways that have no 'admin'."),
    "pr": ("reconciler.cli.pr_cmds", "pr",
           "Report plans on pull requests (GitHub) and merge requests (GitLab)."),
}


class LazyGroup(click.Group):
    """A group whose registered commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute, _ = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows: list[tuple[str, str]] = []
        for name in names:
            if name in self.commands:  # added directly or already imported
                command = self.commands[name]
                if command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(limit)))
            else:  # shortened as click shortens a command's own help
                stand_in = click.Command(name, help=COMMANDS[name][2])
                rows.append((name, stand_in.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


class _Collector:
    """Whether ``main`` paused the cyclic garbage collector for the imports."""

    paused_for_imports = False


def _resume_collector() -> None:
    """Freeze what the imports made and let the collector run again.

    A command imports some 100,000 objects (pydantic's schemas above all) that
    live until the process ends: collecting while they are made, then walking
    them in every full collection afterwards, took 70 ms of a 2,000-record DNS
    plan (bench/dns.py). ``gc.freeze`` moves them out of the collector's sight;
    garbage made by the command itself is still collected as usual.
    """
    if _Collector.paused_for_imports:
        _Collector.paused_for_imports = False
        gc.freeze()
        gc.enable()


def _setup_logs(verbose: int) -> None:
    import logging

    from reconciler import logs

    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logs.setup(level)


@click.group(cls=LazyGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="bosun")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """bosun: GitOps for Docker and Podman hosts, Caddy routes, DNS and schedules.

    A Git repository of YAML manifests is validated, planned against what is
    running, and applied idempotently.
    """
    _resume_collector()  # the command's module is imported by now
    _setup_logs(verbose)


def main() -> None:
    if gc.isenabled():
        gc.disable()
        _Collector.paused_for_imports = True
    try:
        cli(prog_name="bosun")
    finally:
        _resume_collector()

