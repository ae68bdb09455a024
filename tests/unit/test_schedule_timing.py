"""Schedule timing: crontab semantics on APScheduler 3, anchored intervals, missed slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.base import BaseTrigger

from providers.scheduler.timing import (
    MIN_INTERVAL,
    cron_trigger,
    day_of_week,
    make_trigger,
    missed_slots,
    next_slot,
    show,
)
from reconciler.model.kinds import ScheduleSpec

NOON = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)  # a Wednesday


def spec(**fields: object) -> ScheduleSpec:
    return ScheduleSpec.model_validate({"action": {"reconcile": {}}, **fields})


def slots(trigger: BaseTrigger, start: datetime, n: int) -> list[datetime]:
    out: list[datetime] = []
    at = start
    for _ in range(n):
        found = next_slot(trigger, at)
        assert found is not None
        out.append(found)
        at = found
    return out


@pytest.mark.parametrize(("field", "names"), [
    ("0", "sun"), ("7", "sun"), ("1-5", "mon,tue,wed,thu,fri"), ("5-7", "fri,sat,sun"),
    ("*/2", "tue,thu,sat,sun"), ("sat,sun", "sat,sun"), ("mon-fri/2", "mon,wed,fri"),
    ("*", "*"), ("0-6", "*"), ("SUN", "sun"),
])
def test_day_of_week_follows_crontab_numbering(field: str, names: str) -> None:
    assert day_of_week(field) == names


def test_cron_sunday_is_zero_not_monday() -> None:
    fired = slots(cron_trigger("0 9 * * 0", "UTC"), NOON, 2)
    assert [d.strftime("%a %H:%M") for d in fired] == ["Sun 09:00", "Sun 09:00"]


def test_cron_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    fired = slots(cron_trigger("0 0 13 * 5", "UTC"), NOON, 5)
    assert [d.strftime("%a %d") for d in fired] == ["Fri 03", "Fri 10", "Mon 13", "Fri 17",
                                                    "Fri 24"]
    # A step on day-of-month counts as unrestricted (crontab): both must match.
    fired = slots(cron_trigger("0 0 */10 * 1", "UTC"), NOON, 2)
    assert all(d.strftime("%a") == "Mon" and d.day in (1, 11, 21, 31) for d in fired)


def test_cron_in_a_time_zone_and_across_a_dst_change() -> None:
    shanghai = next_slot(cron_trigger("0 3 * * *", "Asia/Shanghai"), NOON)
    assert shanghai == datetime(2025, 1, 1, 19, 0, tzinfo=UTC)
    assert show(shanghai, "Asia/Shanghai") == "2025-01-02T03:00:00+08:00"
    berlin = ZoneInfo("Europe/Berlin")
    before = datetime(2025, 3, 29, 12, 0, tzinfo=UTC)  # the night before summer time
    fired = slots(cron_trigger("15 3 * * *", "Europe/Berlin"), before, 2)
    assert [d.astimezone(berlin).strftime("%d %H:%M %Z") for d in fired] == [
        "30 03:15 CEST", "31 03:15 CEST"]
    assert fired[0] == datetime(2025, 3, 30, 1, 15, tzinfo=UTC)


def test_aliases_and_month_names() -> None:
    assert next_slot(cron_trigger("@daily", "UTC"), NOON) == datetime(2025, 1, 2, tzinfo=UTC)
    assert next_slot(cron_trigger("0 0 1 feb *", "UTC"), NOON) == datetime(2025, 2, 1,
                                                                           tzinfo=UTC)


def test_every_counts_from_the_anchor_so_slots_survive_restarts() -> None:
    anchor = NOON - timedelta(seconds=7)
    trigger = make_trigger(spec(every="2s"), anchor)
    assert next_slot(trigger, NOON) == NOON + timedelta(seconds=1)
    again = make_trigger(spec(every="2s"), anchor)
    assert slots(trigger, NOON, 3) == slots(again, NOON, 3)
    assert next_slot(trigger, NOON + timedelta(seconds=1)) == NOON + timedelta(seconds=3)


def test_every_is_never_shorter_than_the_minimum() -> None:
    trigger = make_trigger(spec(every="10ms"), NOON)
    first, second = slots(trigger, NOON, 2)
    assert second - first == timedelta(seconds=MIN_INTERVAL)


def test_missed_slots_first_and_last() -> None:
    trigger = make_trigger(spec(every="2s"), NOON)
    assert missed_slots(trigger, NOON, NOON + timedelta(seconds=1)) is None
    found = missed_slots(trigger, NOON, NOON + timedelta(seconds=9))
    assert found == (NOON + timedelta(seconds=2), NOON + timedelta(seconds=8))
    daily = cron_trigger("0 3 * * *", "UTC")
    month = missed_slots(daily, NOON, NOON + timedelta(days=30))
    assert month == (datetime(2025, 1, 2, 3, tzinfo=UTC), datetime(2025, 1, 31, 3, tzinfo=UTC))
    # A year of minutes is found without walking every one of them.
    minutely = cron_trigger("* * * * *", "UTC")
    year = missed_slots(minutely, NOON, NOON + timedelta(days=365, seconds=30))
    assert year is not None and year[1] == NOON + timedelta(days=365)
