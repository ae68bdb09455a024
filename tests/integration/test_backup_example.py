"""``examples/backup`` against Docker: the schedule archives the volume, the README restores it.

The example is copied into a Git repository with three edits that keep the
test short and apart from other tests: a unique stack name, a backup folder
under the test's temporary folder, and ``every: 2s`` instead of the nightly
cron (with ``KEEP: "2"``). The restore is the README's own command.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from providers.compose.cli import compose_command
from reconciler.model.schedule import ScheduleRunResult
from reconciler.state import StateStore
from tests.gitrepo import Repo
from tests.schedules import ran, unique
from tests.serving import running_service, wait_for

pytestmark = pytest.mark.docker

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "backup"


@pytest.fixture
def stack() -> Iterator[str]:
    name = unique("notes")
    yield name
    subprocess.run([*compose_command(), "--project-name", name, "down", "--volumes",
                    "--remove-orphans", "--timeout", "0"], capture_output=True, check=False,
                   cwd="/")
    client = docker.APIClient()
    for c in client.containers(all=True, filters={"label": f"com.docker.compose.project={name}"}):
        client.remove_container(c["Id"], force=True)
    client.close()


def _copy_example(tmp_path: Path, stack: str, backups: Path) -> Repo:
    repo = Repo(tmp_path / "repo")
    shutil.copytree(EXAMPLE, repo.work, dirs_exist_ok=True)
    manifest = repo.work / "stacks" / "notes" / "stack.yaml"
    text = manifest.read_text()
    for old, new in ((r"name: notes$", f"name: {stack}"), (r"stack: notes$", f"stack: {stack}"),
                     (r"/var/backups/bosun-notes", str(backups)),
                     (r'cron: "15 3 \* \* \*"', "every: 2s"), (r"jitter: 2m", "jitter: 100ms"),
                     (r'KEEP: "7"', 'KEEP: "2"')):
        text, count = re.subn(old, new, text, flags=re.M)
        assert count, f"the example no longer contains {old!r}"
    manifest.write_text(text)
    repo.commit({}, "the backup example")
    return repo


def _readme_restore_command() -> str:
    readme = (EXAMPLE / "README.md").read_text()
    section = readme.split("## Restore", 1)[1]
    block = re.search(r"```sh\n(.*?)\n```", section, re.S)
    assert block is not None
    return block.group(1).strip()


def test_backup_archives_the_volume_and_the_archive_restores_it(
        tmp_path: Path, stack: str) -> None:
    backups = tmp_path / "backups"
    repo = _copy_example(tmp_path, stack, backups)
    state = tmp_path / "state"
    client = docker.APIClient()
    try:
        with running_service(state, str(repo.remote), providers=("compose", "scheduler")) as svc:
            store: StateStore = svc.app.state.store
            wait_for(lambda: len(ran(store, "notes-backup")) >= 3, timeout=90,
                     what="three backups")
            runs = ran(store, "notes-backup")
        for run in runs:
            assert run.result is ScheduleRunResult.SUCCEEDED, run
            assert run.exit_code == 0 and "archived the volume to notes-" in run.output
        archives = sorted(backups.glob("notes-*.tar.gz"))
        assert len(archives) == 2, archives  # KEEP: "2"
        assert not list(backups.glob(".*.part"))
        with tarfile.open(archives[-1]) as tar:
            names = tar.getnames()
            log = tar.extractfile("./notes/log.txt")
            assert log is not None
            saved = log.read().decode()
        assert "./notes/log.txt" in names and saved.startswith("started ")

        volume = f"{stack}_data"
        container = client.create_container(
            "bosun.local/busybox:1", ["sh", "-c", "rm -rf /data/* && echo lost > /data/new.txt"],
            host_config=client.create_host_config(binds=[f"{volume}:/data"]))
        client.start(container)
        client.wait(container)
        client.remove_container(container)

        command = _readme_restore_command()
        command = command.replace("notes_data", volume).replace("/var/backups/bosun-notes",
                                                                 str(backups))
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                              check=False, env={"ARCHIVE": archives[-1].name,
                                                "PATH": "/usr/local/bin:/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr

        reader = client.create_container(
            "bosun.local/busybox:1", ["sh", "-c", "cat /data/notes/log.txt; ls /data"],
            host_config=client.create_host_config(binds=[f"{volume}:/data:ro"]))
        client.start(reader)
        client.wait(reader)
        restored = client.logs(reader).decode()
        client.remove_container(reader)
        assert restored.startswith(saved)
        assert "new.txt" not in restored
    finally:
        client.close()
        shutil.rmtree(backups, ignore_errors=True)
