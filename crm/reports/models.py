from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.core.models import TimeStampedModel


class TargetMetric(models.TextChoices):
    """What a target plans; each matches a report measure of the same key."""

    REVENUE_WON = "revenue_won", _("Revenue won")
    DEALS_WON = "deals_won", _("Deals won")
    ACTIVITIES_DONE = "activities_done", _("Activities done")


class Target(TimeStampedModel):
    """A planned figure for one sales rep or one team in one calendar month."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales rep"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="targets",
    )
    team = models.ForeignKey(
        "users.Team",
        verbose_name=_("team"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="targets",
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    metric = models.CharField(_("figure"), max_length=20, choices=TargetMetric.choices)
    value = models.DecimalField(
        _("target"), max_digits=14, decimal_places=2, validators=[MinValueValidator(0)]
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["month", "metric"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, team__isnull=True)
                | Q(user__isnull=True, team__isnull=False),
                name="target_user_or_team",
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="target_not_negative"),
            models.UniqueConstraint(
                fields=["user", "month", "metric"],
                condition=Q(user__isnull=False),
                name="target_unique_user_month",
            ),
            models.UniqueConstraint(
                fields=["team", "month", "metric"],
                condition=Q(team__isnull=False),
                name="target_unique_team_month",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.team} {self.month:%Y-%m} {self.get_metric_display()}"


class PipelineSnapshot(models.Model):
    """The open pipeline and overdue work of one owner (and team) at the end of one day.

    Those figures describe a moment, not a period, so the dashboard compares today's with the
    stored ones of earlier days. A periodic task rewrites today's rows every hour, so the
    last run of a day leaves that day's closing state."""

    day = models.DateField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+"
    )
    team = models.ForeignKey("users.Team", on_delete=models.CASCADE, null=True, related_name="+")
    open_deals = models.PositiveIntegerField(default=0)
    open_amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    weighted_amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    overdue_activities = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "owner"], name="snapshot_day_owner_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.owner_id}/{self.team_id}"


class DailyFigure(models.Model):
    """The report measures' totals of one day (in the company's time zone) for one owner and
    team: what the dashboard and the reports add up for days outside the live window, instead
    of scanning a year of records. Rebuilt whole by a periodic task (see `SummaryState`)."""

    day = models.DateField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+"
    )
    team = models.ForeignKey("users.Team", on_delete=models.CASCADE, null=True, related_name="+")
    leads_new = models.PositiveIntegerField(default=0)
    leads_converted = models.PositiveIntegerField(default=0)
    deals_new = models.PositiveIntegerField(default=0)
    pipeline_created = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    deals_won = models.PositiveIntegerField(default=0)
    revenue_won = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    deals_lost = models.PositiveIntegerField(default=0)
    amount_lost = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    deals_closed = models.PositiveIntegerField(default=0)
    cycle_days_won = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    quotes_sent = models.PositiveIntegerField(default=0)
    quotes_sent_amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    quotes_accepted = models.PositiveIntegerField(default=0)
    activities_done = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "owner"], name="dailyfigure_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.owner_id}/{self.team_id}"


class SummaryState(models.Model):
    """When `DailyFigure` was built: it holds the days before `until`, counted in `time_zone`,
    and is used only on the day it was built (`built_on`) and the next, so missed rebuilds
    fall back to counting the records themselves rather than showing old figures."""

    SINGLETON_ID = 1

    built_on = models.DateField()
    until = models.DateField()
    time_zone = models.CharField(max_length=40)
    built_at = models.DateTimeField()
    seconds = models.DecimalField(max_digits=8, decimal_places=2, default=0)

    def __str__(self) -> str:
        return f"{self.built_on}: before {self.until}"
