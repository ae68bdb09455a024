"""``bosun pr comment`` and ``bosun pr status``: report to a pull request from CI.

The CI recipes in examples/ci/ run ``bosun plan --offline --format markdown``
and post it with ``bosun pr comment``: one comment per pull request, edited in
place on every push (found by a hidden marker). The token comes from
BOSUN_GITHUB_TOKEN or BOSUN_GITLAB_TOKEN and is never printed.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.common import handle_errors
from reconciler.model.kinds import ForgeKind

# httpx is imported when a command runs, not for every `bosun` invocation.
STATES = ["pending", "success", "failure", "error"]

forge_options = [
    click.option("--forge", "kind", type=click.Choice([k.value for k in ForgeKind]),
                 required=True, help="Which forge the pull request lives on."),
    click.option("--api", default=None, metavar="URL",
                 help="REST API base (GitHub: $GITHUB_API_URL, GitLab: $CI_API_V4_URL) "
                 "[default: the public github.com / gitlab.com API]."),
    click.option("--project", required=True,
                 help="GitHub owner/name ($GITHUB_REPOSITORY) or GitLab project id "
                 "($CI_PROJECT_ID)."),
]


def _forge_opts(func: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(forge_options):
        func = option(func)
    return func


@click.group()
def pr() -> None:
    """Report plans on pull requests (GitHub) and merge requests (GitLab)."""


@pr.command("comment")
@_forge_opts
@click.option("--number", type=click.IntRange(min=1), required=True,
              help="Pull request number / merge request iid.")
@click.option("--body-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              required=True, help="The Markdown to post, e.g. bosun plan --format markdown.")
@click.option("--key", default="bosun", show_default=True,
              help="Which bosun comment to edit, when several jobs comment.")
@handle_errors
def comment(kind: str, api: str | None, project: str, number: int, body_file: Path,
            key: str) -> None:
    """Create bosun's comment on the pull request, or edit it in place."""
    from reconciler.forge import client_for, token_from, upsert_comment

    forge_kind = ForgeKind(kind)
    client = client_for(forge_kind, project, token_from(forge_kind), api)
    try:
        result = upsert_comment(client, number, body_file.read_text(encoding="utf-8"), key)
    finally:
        client.close()
    verb = "created" if result.created else ("edited" if result.changed else "unchanged")
    click.echo(f"Comment {result.id} {verb} on {project}#{number}.")


@pr.command("status")
@_forge_opts
@click.option("--sha", required=True, help="The commit.")
@click.option("--state", type=click.Choice(STATES), required=True)
@click.option("--context", default="bosun/plan", show_default=True)
@click.option("--description", default="", help="One line (GitHub keeps 140 characters).")
@click.option("--target-url", default=None)
@handle_errors
def status(kind: str, api: str | None, project: str, sha: str, state: str, context: str,
           description: str, target_url: str | None) -> None:
    """Set a commit status such as bosun/plan."""
    from reconciler.forge import CommitState, client_for, token_from

    forge_kind = ForgeKind(kind)
    client = client_for(forge_kind, project, token_from(forge_kind), api)
    try:
        client.set_status(sha, context, CommitState(state), description, target_url)
    finally:
        client.close()
    click.echo(f"Status {context} is {state} on {sha[:12]}.")
