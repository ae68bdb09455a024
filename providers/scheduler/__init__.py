"""The scheduler provider: Schedules declared in the repository, run by ``bosun serve``.

Registered as ``scheduler`` in the ``bosun.providers`` entry-point group. See
``provider.py`` for how its modules fit together.
"""

from providers.scheduler.provider import SchedulerProvider

__all__ = ["SchedulerProvider"]
