"""The compose provider's acceptance scenarios on Podman (its Docker-compatible socket)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration import scenarios
from tests.integration.helpers import Engine, StackRepo

pytestmark = [pytest.mark.podman, pytest.mark.slow]

MakeRepo = Callable[[Engine], StackRepo]


def test_four_step(podman_engine: Engine, make_repo: MakeRepo) -> None:
    scenarios.four_step(make_repo(podman_engine))


def test_env_change_recreates_only_that_service(podman_engine: Engine,
                                                make_repo: MakeRepo) -> None:
    scenarios.env_change_recreates_one_service(make_repo(podman_engine))


def test_removed_stack_keeps_its_volume(podman_engine: Engine, make_repo: MakeRepo) -> None:
    scenarios.remove_keeps_volume(make_repo(podman_engine))


def test_container_removed_by_hand_comes_back(podman_engine: Engine,
                                              make_repo: MakeRepo) -> None:
    scenarios.removed_container_comes_back(make_repo(podman_engine))


def test_self_heal_off_reports_drift_only(podman_engine: Engine, make_repo: MakeRepo) -> None:
    scenarios.self_heal_off_only_reports(make_repo(podman_engine))


def test_unhealthy_revision_rolls_back(podman_engine: Engine, make_repo: MakeRepo) -> None:
    scenarios.failed_revision_rolls_back(make_repo(podman_engine))


def test_dead_engine_plans_no_delete(podman_engine: Engine, make_repo: MakeRepo,
                                     tmp_path: Path) -> None:
    scenarios.dead_engine_plans_no_delete(make_repo(podman_engine), tmp_path)


def test_builds_from_a_context_in_the_repository(podman_engine: Engine,
                                                 make_repo: MakeRepo) -> None:
    scenarios.builds_from_repository_context(make_repo(podman_engine))
