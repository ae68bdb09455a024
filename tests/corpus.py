"""Where the awesome-compose corpus is, for the tests that read it.

The corpus lives outside the project (``shared/corpus`` beside the repository,
or ``$BOSUN_CORPUS``) and is read, never copied into it.
"""

from __future__ import annotations

import os
from pathlib import Path

COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def awesome_compose() -> Path:
    """The awesome-compose folder; ``$BOSUN_CORPUS`` may name it or the corpus above it."""
    env = os.environ.get("BOSUN_CORPUS")
    if env:
        path = Path(env)
        return path / "awesome-compose" if (path / "awesome-compose").is_dir() else path
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "corpus" / "awesome-compose"
        if candidate.is_dir():
            return candidate
    raise AssertionError("the awesome-compose corpus is missing: set BOSUN_CORPUS to its "
                         "folder, or keep shared/corpus beside the repository")


def compose_file(sample: Path) -> Path:
    """The compose file of one sample folder."""
    for name in COMPOSE_NAMES:
        if (sample / name).is_file():
            return sample / name
    raise AssertionError(f"{sample} has no compose file")
