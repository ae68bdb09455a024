"""``bosun plan --base REV --head REV [--offline]``: a plan for a proposed change."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click

from reconciler.cli.common import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from reconciler.provider import ApplyOptions
from reconciler.review import as_json, markdown, review, text


def run_review(path: Path, base: str, head: str, offline: bool, fmt: str,
               detailed_exitcode: bool, options: ApplyOptions,
               providers: tuple[str, ...], state_dir: Path | None) -> NoReturn:
    result = review(path, base, head, state_dir=state_dir, providers=providers or None,
                    offline=offline, options=options)
    if fmt == "json":
        click.echo(json.dumps(as_json(result), indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        click.echo(markdown(result), nl=False)
    else:
        click.echo(text(result, color=sys.stdout.isatty()), nl=False)
    if not result.ok:
        sys.exit(EXIT_ERROR)
    if detailed_exitcode and result.plan is not None and result.plan.changes:
        sys.exit(EXIT_CHANGES)
    sys.exit(EXIT_OK)
