from datetime import UTC, date, datetime

import pytest
from django.http import Http404
from django.utils import timezone

from crm.activities.models import ActivityStatus
from crm.activities.selectors import (
    activity_get_for_user,
    activity_list_for_user,
    calendar,
    calendar_range,
    my_day,
    record_activities,
    team_view,
)
from crm.activities.tests.factories import ActivityFactory
from crm.customers.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 3, 10)  # Tuesday; Madrid is UTC+1 (CET) then


def _utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_my_day_buckets_use_madrid_days(rep):
    # 22:59 UTC on the 9th is 23:59 in Madrid on the 9th: overdue.
    overdue = ActivityFactory(assignee=rep, due_at=_utc(2026, 3, 9, 22, 59))
    # 23:00 UTC on the 9th is 00:00 in Madrid on the 10th: today.
    today_first = ActivityFactory(assignee=rep, due_at=_utc(2026, 3, 9, 23, 0))
    today_last = ActivityFactory(assignee=rep, due_at=_utc(2026, 3, 10, 22, 59))
    tomorrow = ActivityFactory(assignee=rep, due_at=_utc(2026, 3, 10, 23, 0))
    in_seven = ActivityFactory(assignee=rep, due_at=_utc(2026, 3, 17, 22, 59))
    ActivityFactory(assignee=rep, due_at=_utc(2026, 3, 17, 23, 0))  # day 8: not shown
    undated = ActivityFactory(assignee=rep, due_at=None)
    ActivityFactory(assignee=rep, due_at=_utc(2026, 3, 9, 10), status=ActivityStatus.CANCELLED)
    ActivityFactory(due_at=_utc(2026, 3, 10, 10))  # someone else's

    day = my_day(user=rep, today=TODAY)

    assert day.overdue == [overdue]
    assert day.today == [today_first, today_last]
    assert day.upcoming == [tomorrow, in_seven]
    assert day.undated == [undated]
    assert day.total == 6


def test_activity_visibility(rep, other_rep, manager, admin):
    own = ActivityFactory(assignee=rep)
    on_my_account = ActivityFactory(assignee=other_rep, account=AccountFactory(owner=rep))
    foreign = ActivityFactory(assignee=other_rep)

    assert set(activity_list_for_user(user=rep)) == {own, on_my_account}
    assert set(activity_list_for_user(user=manager)) == {own}
    assert set(activity_list_for_user(user=admin)) == {own, on_my_account, foreign}
    with pytest.raises(Http404):
        activity_get_for_user(user=rep, activity_id=foreign.pk)
    assert activity_get_for_user(user=rep, activity_id=own.pk) == own


def test_team_view_groups_by_member_with_overdue_counts(manager, rep, other_rep):
    late = ActivityFactory(assignee=rep, due_at=_utc(2026, 3, 1, 10))
    soon = ActivityFactory(assignee=rep, due_at=_utc(2026, 3, 12, 10))
    ActivityFactory(assignee=other_rep)

    groups = team_view(user=manager, today=TODAY)

    by_member = {g.member: g for g in groups}
    assert set(by_member) == {manager, rep}
    assert by_member[rep].activities == [late, soon]
    assert by_member[rep].overdue == 1
    assert by_member[manager].activities == []
    assert groups[0].member == rep


def test_team_view_is_empty_for_a_rep(rep):
    ActivityFactory(assignee=rep)
    assert team_view(user=rep) == []


def test_calendar_range_month_and_week():
    assert calendar_range(view="month", anchor=date(2026, 3, 10)) == (
        date(2026, 2, 23),
        date(2026, 4, 5),
    )
    assert calendar_range(view="week", anchor=date(2026, 3, 12)) == (
        date(2026, 3, 9),
        date(2026, 3, 15),
    )


def test_calendar_puts_activities_on_their_madrid_day(rep):
    late_night = ActivityFactory(assignee=rep, due_at=_utc(2026, 3, 9, 23, 30))
    ActivityFactory(assignee=rep, due_at=_utc(2026, 3, 9, 10), status=ActivityStatus.CANCELLED)

    days = calendar(user=rep, first=date(2026, 3, 9), last=date(2026, 3, 15))

    assert len(days) == 7
    assert days[date(2026, 3, 10)] == [late_night]
    assert days[date(2026, 3, 9)] == []


def test_record_activities_pending_and_done(rep):
    account = AccountFactory(owner=rep)
    pending = ActivityFactory(assignee=rep, account=account)
    done = ActivityFactory(
        assignee=rep, account=account, status=ActivityStatus.DONE, completed_at=timezone.now()
    )
    ActivityFactory(assignee=rep)

    result = record_activities(user=rep, account=account)

    assert result == {"pending": [pending], "done": [done]}
