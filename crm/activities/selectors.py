"""Read queries for activities. Every one applies the user's visibility."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from crm.activities.models import Activity, ActivityStatus, CalendarFeed
from crm.activities.services import day_start
from crm.users.models import User

RELATED = ("assignee", "lead", "account", "contact", "opportunity", "quote")
UPCOMING_DAYS = 7


def activity_list_for_user(*, user: User) -> QuerySet[Activity]:
    return Activity.objects.visible_to(user).select_related(*RELATED)


def activity_get_for_user(*, user: User, activity_id: int) -> Activity:
    """One activity, or 404 when it does not exist or is outside the user's scope."""
    queryset = activity_list_for_user(user=user).select_related("created_by", "follows")
    return get_object_or_404(queryset, pk=activity_id)


@dataclass
class MyDay:
    overdue: list[Activity] = field(default_factory=list)
    today: list[Activity] = field(default_factory=list)
    upcoming: list[Activity] = field(default_factory=list)
    undated: list[Activity] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.overdue) + len(self.today) + len(self.upcoming) + len(self.undated)


def my_day(*, user: User, today: date | None = None, limit: int = 200) -> MyDay:
    """The user's pending activities: overdue, today, the next 7 days, and those with no date.
    Days are the company's local days (Europe/Madrid), not UTC ones."""
    today = today or timezone.localdate()
    start = day_start(today)
    tomorrow = day_start(today + timedelta(days=1))
    horizon = day_start(today + timedelta(days=UPCOMING_DAYS + 1))
    mine = Activity.objects.filter(assignee=user, status=ActivityStatus.PENDING).select_related(
        *RELATED
    )
    result = MyDay()
    result.overdue = list(mine.filter(due_at__lt=start).order_by("due_at", "id")[:limit])
    result.today = list(
        mine.filter(due_at__gte=start, due_at__lt=tomorrow).order_by("due_at", "id")[:limit]
    )
    result.upcoming = list(
        mine.filter(due_at__gte=tomorrow, due_at__lt=horizon).order_by("due_at", "id")[:limit]
    )
    result.undated = list(mine.filter(due_at__isnull=True).order_by("-created_at", "-id")[:limit])
    return result


@dataclass
class MemberWork:
    member: User
    activities: list[Activity] = field(default_factory=list)
    overdue: int = 0


def team_members(*, user: User) -> QuerySet[User]:
    """Whose work the user oversees: everybody (admin), their teams' members (manager)."""
    active = User.objects.filter(is_active=True)
    if user.is_admin:
        return active
    if user.is_manager:
        return active.filter(Q(team_id__in=user.scope_team_ids()) | Q(pk=user.pk))
    return active.none()


def team_view(*, user: User, today: date | None = None, per_member: int = 50) -> list[MemberWork]:
    """Pending activities of the members the user oversees, grouped by person, overdue first
    counted. Two queries whatever the number of people."""
    today = today or timezone.localdate()
    start = day_start(today)
    members = list(team_members(user=user).select_related("team"))
    groups = {m.pk: MemberWork(member=m) for m in members}
    pending = (
        Activity.objects.filter(assignee_id__in=groups.keys(), status=ActivityStatus.PENDING)
        .select_related(*RELATED)
        .order_by("assignee_id", "due_at", "id")
    )
    for activity in pending:
        group = groups[activity.assignee_id]
        if activity.due_at is not None and activity.due_at < start:
            group.overdue += 1
        if len(group.activities) < per_member:
            group.activities.append(activity)
    return [g for g in groups.values() if g.activities] + [
        g for g in groups.values() if not g.activities
    ]


def calendar_range(*, view: str, anchor: date) -> tuple[date, date]:
    """The first and last day shown: whole weeks (Monday to Sunday) around the month or week."""
    if view == "week":
        first = anchor - timedelta(days=anchor.weekday())
        return first, first + timedelta(days=6)
    month_first = anchor.replace(day=1)
    next_month = (month_first + timedelta(days=32)).replace(day=1)
    month_last = next_month - timedelta(days=1)
    first = month_first - timedelta(days=month_first.weekday())
    last = month_last + timedelta(days=6 - month_last.weekday())
    return first, last


def calendar(*, user: User, first: date, last: date) -> dict[date, list[Activity]]:
    """The user's activities (not cancelled) per local day from `first` to `last`."""
    days: dict[date, list[Activity]] = {}
    day = first
    while day <= last:
        days[day] = []
        day += timedelta(days=1)
    queryset = (
        Activity.objects.filter(
            assignee=user,
            due_at__gte=day_start(first),
            due_at__lt=day_start(last + timedelta(days=1)),
        )
        .exclude(status=ActivityStatus.CANCELLED)
        .select_related(*RELATED)
        .order_by("due_at", "id")
    )
    for activity in queryset:
        local = timezone.localtime(activity.due_at).date()
        days.setdefault(local, []).append(activity)
    return days


def record_activities(*, user: User, limit: int = 10, **record) -> dict[str, list[Activity]]:
    """For a record's panel: its pending activities and the latest done, visible to the user.
    `record` is one of lead=, account=, contact=, opportunity=."""
    ((name, obj),) = record.items()
    base = activity_list_for_user(user=user).filter(**{name: obj})
    return {
        "pending": list(base.filter(status=ActivityStatus.PENDING).order_by("due_at", "id")[:50]),
        "done": list(
            base.filter(status=ActivityStatus.DONE).order_by("-completed_at", "-id")[:limit]
        ),
    }


def feed_for_token(*, token: str) -> CalendarFeed:
    """The feed of a secret address; 404 for an unknown (revoked) one or an inactive user."""
    return get_object_or_404(
        CalendarFeed.objects.select_related("user"), token=token, user__is_active=True
    )


def feed_activities(*, user: User, today: date | None = None) -> QuerySet[Activity]:
    """What a subscribed calendar shows: the user's dated activities from 60 days back."""
    today = today or timezone.localdate()
    return (
        Activity.objects.filter(
            assignee=user, due_at__isnull=False, due_at__gte=day_start(today - timedelta(days=60))
        )
        .select_related(*RELATED)
        .order_by("due_at", "id")[:2000]
    )
