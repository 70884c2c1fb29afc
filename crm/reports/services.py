"""Writes of the reports app: the daily pipeline snapshot and the sales targets."""

import datetime as dt
import time
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.activities.models import Activity, ActivityStatus
from crm.reports import metrics
from crm.reports.models import (
    DailyFigure,
    PipelineSnapshot,
    SummaryState,
    Target,
    TargetMetric,
)
from crm.sales.models import Opportunity, StageKind
from crm.sales.selectors import weighted_sum, weighted_value
from crm.users.models import Team, User

CENT = Decimal("0.01")


@transaction.atomic
def snapshot_take(*, day: dt.date, at: dt.datetime | None = None) -> int:
    """Store the open pipeline and overdue activities per owner and team as they are now,
    as `day`'s closing state (replacing that day's rows). Returns the rows written."""
    at = at or timezone.now()
    rows: dict[tuple, dict] = defaultdict(
        lambda: {"open_deals": 0, "open_amount": 0, "weighted": 0, "overdue": 0}
    )
    deals = (
        Opportunity.objects.filter(stage__kind=StageKind.OPEN)
        .order_by()
        .values("owner_id", "team_id")
        .annotate(n=Count("id"), sum_amount=Sum("amount"), sum_weighted=weighted_sum())
    )
    for row in deals:
        entry = rows[row["owner_id"], row["team_id"]]
        entry.update(
            open_deals=row["n"], open_amount=row["sum_amount"], weighted=row["sum_weighted"]
        )
    overdue = (
        Activity.objects.filter(status=ActivityStatus.PENDING, due_at__lt=at)
        .order_by()
        .values("assignee_id", "assignee__team_id")
        .annotate(n=Count("id"))
    )
    for row in overdue:
        rows[row["assignee_id"], row["assignee__team_id"]]["overdue"] = row["n"]
    PipelineSnapshot.objects.filter(day=day).delete()
    PipelineSnapshot.objects.bulk_create(
        PipelineSnapshot(
            day=day,
            owner_id=owner_id,
            team_id=team_id,
            open_deals=entry["open_deals"],
            open_amount=Decimal(entry["open_amount"] or 0).quantize(CENT, ROUND_HALF_UP),
            weighted_amount=weighted_value(entry["weighted"]),
            overdue_activities=entry["overdue"],
        )
        for (owner_id, team_id), entry in rows.items()
    )
    return len(rows)


def can_plan_for(actor: User, *, user: User | None = None, team: Team | None = None) -> bool:
    """Administrators set anyone's targets; a sales manager those of their teams and of
    their teams' members; a sales rep none."""
    if actor.is_admin:
        return True
    if not actor.is_manager:
        return False
    team_ids = set(actor.scope_team_ids())
    if team is not None:
        return team.pk in team_ids
    return user is not None and (user.team_id in team_ids)


@transaction.atomic
def targets_save(
    *,
    actor: User,
    user: User | None = None,
    team: Team | None = None,
    values: dict[tuple[dt.date, str], Decimal | None],
) -> int:
    """Set one rep's or one team's targets, {(first day of month, metric): value}; an empty
    value removes that month's target. All or nothing. Returns how many targets are set."""
    if (user is None) == (team is None):
        raise ValidationError(_("Choose a sales rep or a team."))
    if not can_plan_for(actor, user=user, team=team):
        raise PermissionDenied(_("You cannot set these targets."))
    subject = {"user": user} if user is not None else {"team": team}
    errors = []
    for (month, metric), value in values.items():
        if metric not in TargetMetric.values:
            errors.append(_("Unknown figure: %(metric)s.") % {"metric": metric})
        if month.day != 1:
            errors.append(_("A target is set for a whole month."))
        if value is not None and value < 0:
            errors.append(_("A target cannot be negative."))
        whole = metric in (TargetMetric.DEALS_WON, TargetMetric.ACTIVITIES_DONE)
        if whole and value is not None and value != value.to_integral_value():
            errors.append(_("Deals and activities are whole numbers."))
    if errors:
        raise ValidationError(sorted(set(errors)))
    saved = 0
    for (month, metric), value in values.items():
        if value is None:
            Target.objects.filter(month=month, metric=metric, **subject).delete()
            continue
        target = Target.objects.filter(month=month, metric=metric, **subject).first()
        if target is None:
            target = Target(month=month, metric=metric, **subject)
        target.value = value.quantize(CENT, ROUND_HALF_UP)
        target.updated_by = actor
        target.full_clean()
        target.save()
        saved += 1
    return saved


# Days this close to today are always counted from the records themselves: that is where
# conversions, answers and late edits land. Older days come from `DailyFigure`, rebuilt hourly.
LIVE_DAYS = 62


@transaction.atomic
def daily_figures_rebuild(*, today: dt.date, tz) -> int:
    """Recount every report measure per day, owner and team for the days before
    `today - LIVE_DAYS`, replacing the whole summary in one transaction. Returns the rows."""
    started = time.perf_counter()
    until = today - dt.timedelta(days=LIVE_DAYS)
    until_moment = dt.datetime.combine(until, dt.time.min, tzinfo=tz)
    rows: dict[tuple, dict] = defaultdict(dict)
    for (source, date_field), group in metrics.summary_groups().items():
        owner, team = metrics.SUMMARY_OWNERS[source]
        queryset = (
            metrics.source_model(source)
            .objects.filter(**{f"{date_field}__lt": until_moment})
            .annotate(day=TruncDate(date_field, tzinfo=tz))
            .order_by()
            .values("day", owner, team)
            .annotate(**{m.key: m.expression() for m in group})
        )
        for row in queryset:
            entry = rows[row["day"], row[owner], row[team]]
            for m in group:
                entry[m.key] = m.clean(row[m.key])
    DailyFigure.objects.all().delete()
    DailyFigure.objects.bulk_create(
        (
            DailyFigure(day=day, owner_id=owner_id, team_id=team_id, **values)
            for (day, owner_id, team_id), values in rows.items()
        ),
        batch_size=2000,
    )
    SummaryState.objects.update_or_create(
        pk=SummaryState.SINGLETON_ID,
        defaults={
            "built_on": today,
            "until": until,
            "time_zone": str(tz),
            "built_at": timezone.now(),
            "seconds": Decimal(str(round(time.perf_counter() - started, 2))),
        },
    )
    return len(rows)
