"""When a schedule fires: APScheduler triggers for ``cron`` and ``every``, and slots.

plan (next run times) / engine (firing, catching up) -> **timing**

A *slot* is one time a schedule is due, before jitter: the identity of a run.
``every`` intervals count from the job's anchor (the time it was registered,
whole seconds), so slots are the same before and after a restart. Cron
follows crontab(5): numeric day-of-week 0 and 7 are Sunday (APScheduler 3
counts 0 as Monday, so days are handed over by name), and when both
day-of-month and day-of-week are restricted a day matching either fires.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from reconciler.model.common import duration_seconds, expand_cron
from reconciler.model.kinds import ScheduleSpec

MIN_INTERVAL = 1.0
"""``every`` shorter than this runs at this interval: a schedule is not a busy loop."""

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_APS_ORDER = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TICK = timedelta(microseconds=1)
_SEARCH_WINDOWS = (timedelta(minutes=2), timedelta(hours=2), timedelta(days=2),
                   timedelta(days=40), timedelta(days=400), timedelta(days=2000))
_MAX_STEPS = 100_000


def _day(text: str) -> int:
    """Crontab numbering: sun = 0 (and 7), mon = 1, ..."""
    low = text.lower()
    return _DAY_NAMES.index(low) if low in _DAY_NAMES else int(low)


def day_of_week(field: str) -> str:
    """A crontab day-of-week field as APScheduler day names (``*`` stays ``*``)."""
    days: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            low, _, high = base.partition("-")
            first, last = _day(low), _day(high)
        else:
            first = _day(base)
            last = max(first, 6) if step_text else first
        days.update(d % 7 for d in range(first, last + 1, step))
    if days == set(range(7)):
        return "*"
    return ",".join(name for name in _APS_ORDER if _DAY_NAMES.index(name) in days)


def cron_trigger(expression: str, timezone: str) -> BaseTrigger:
    minute, hour, dom, month, dow = expand_cron(expression).split()
    tz = ZoneInfo(timezone)
    days = day_of_week(dow)

    def make(dom_field: str, dow_field: str) -> CronTrigger:
        return CronTrigger(minute=minute, hour=hour, day=dom_field, month=month,
                           day_of_week=dow_field, timezone=tz)

    if not dom.startswith("*") and not dow.startswith("*"):
        return OrTrigger([make(dom, "*"), make("*", days)])
    return make(dom, days)


def interval_seconds(spec: ScheduleSpec) -> float:
    assert spec.every is not None
    return max(MIN_INTERVAL, duration_seconds(spec.every))


def make_trigger(spec: ScheduleSpec, anchor: datetime) -> BaseTrigger:
    """The trigger of a schedule (no jitter: the engine adds jitter after a slot is claimed)."""
    if spec.cron is not None:
        return cron_trigger(spec.cron, spec.timezone)
    return IntervalTrigger(seconds=interval_seconds(spec), start_date=anchor.astimezone(UTC),
                           timezone=UTC)


def whole_second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def next_slot(trigger: BaseTrigger, after: datetime) -> datetime | None:
    """The first slot strictly after ``after`` (UTC), None when there is none."""
    found = trigger.get_next_fire_time(None, after.astimezone(UTC) + _TICK)
    return found.astimezone(UTC) if found is not None else None


def missed_slots(trigger: BaseTrigger, after: datetime, until: datetime
                 ) -> tuple[datetime, datetime] | None:
    """The first and the last slot in ``(after, until]``, None when there is none."""
    first = next_slot(trigger, after)
    if first is None or first > until:
        return None
    start = first
    for window in _SEARCH_WINDOWS:
        begin = until - window
        if begin <= first:
            break
        probe = next_slot(trigger, begin)
        if probe is not None and probe <= until:
            start = probe
            break
    last = start
    for _ in range(_MAX_STEPS):
        following = next_slot(trigger, last)
        if following is None or following > until:
            break
        last = following
    return first, last


def show(moment: datetime | None, timezone: str) -> str | None:
    """A slot as people read it: ISO 8601 in the schedule's time zone."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(timezone)).isoformat()
