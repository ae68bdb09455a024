"""The ``bosun`` command line. Each command lives in its own module here."""

from __future__ import annotations

import logging

import click

from reconciler import __version__, logs
from reconciler.cli.gateway_cmds import gateway
from reconciler.cli.misc_cmds import init, schema
from reconciler.cli.plan_cmds import apply, plan, validate
from reconciler.cli.pr_cmds import pr
from reconciler.cli.schedule_cmds import schedule
from reconciler.cli.serve_cmds import resume, serve, status, suspend


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="bosun")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """bosun: GitOps for Docker and Podman hosts, Caddy routes, DNS and schedules.

    A Git repository of YAML manifests is validated, planned against what is
    running, and applied idempotently.
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logs.setup(level)


cli.add_command(validate)
cli.add_command(plan)
cli.add_command(apply)
cli.add_command(schema)
cli.add_command(init)
cli.add_command(serve)
cli.add_command(status)
cli.add_command(suspend)
cli.add_command(resume)
cli.add_command(schedule)
cli.add_command(gateway)
cli.add_command(pr)


def main() -> None:
    cli(prog_name="bosun")
