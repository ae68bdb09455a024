"""Shared pieces of the command line: options, error reporting, paths."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from reconciler.errors import BosunError, ConfigError, Problem
from reconciler.model.plan import PolicyResult

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2


def display_root(root: Path) -> str:
    """How to print ``root`` so that ``root/file:line`` can be clicked from the cwd."""
    try:
        rel = os.path.relpath(root.resolve(), Path.cwd())
    except ValueError:
        return str(root.resolve())
    return "" if rel == "." else rel


def problem_line(problem: Problem, prefix: str) -> str:
    text = str(problem)
    if prefix and problem.position is not None and not problem.position.file.startswith("("):
        text = f"{prefix}/{text}"
    return text


def policy_line(result: PolicyResult, prefix: str) -> str:
    """``file:line:col: Kind/name: path: policy RULE: error|warning: message``."""
    where = result.position or ""
    if prefix and where and not where.startswith("("):
        where = f"{prefix}/{where}"
    level = "error" if result.enforced else "warning"
    node = f" {result.path}:" if result.path else ""
    return f"{where}: {result.ref}:{node} policy {result.rule}: {level}: {result.message}"


def problem_json(problem: Problem, prefix: str) -> dict[str, Any]:
    pos = problem.position
    file = None
    if pos is not None:
        file = f"{prefix}/{pos.file}" if prefix and not pos.file.startswith("(") else pos.file
    return {
        "file": file,
        "line": pos.line if pos else None,
        "column": pos.column if pos else None,
        "resource": str(problem.ref) if problem.ref else None,
        "field": problem.field,
        "message": problem.message,
    }


def report_config_error(exc: ConfigError, root: Path, output: str = "text") -> NoReturn:
    prefix = display_root(root)
    if output == "json":
        click.echo(json.dumps(
            {"valid": False, "problems": [problem_json(p, prefix) for p in exc.problems]},
            indent=2,
        ))
    else:
        for problem in exc.problems:
            click.echo(problem_line(problem, prefix), err=True)
        n = len(exc.problems)
        click.echo(f"bosun: {n} problem{'s' if n != 1 else ''} found; nothing was done.",
                   err=True)
    sys.exit(EXIT_ERROR)


def fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def handle_errors(func: F) -> F:
    """Turn bosun's errors into a message and exit status 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BosunError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def default_state_dir(root: Path) -> Path:
    return root / ".bosun"


path_argument = click.argument(
    "path", type=click.Path(file_okay=False, path_type=Path), default=".", required=False
)
state_dir_option = click.option(
    "--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    envvar="BOSUN_STATE_DIR", show_envvar=True,
    help="Where bosun keeps its local state [default: .bosun/ in the repository folder].",
)
provider_option = click.option(
    "--provider", "providers", multiple=True, metavar="NAME",
    help="Use only these providers (repeatable), e.g. --provider memory.",
)
