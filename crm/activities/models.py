"""Commercial actions (tasks, calls, meetings, e-mails, visits) and the automation rules that
create them, with the log of every firing."""

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.core.models import TimeStampedModel
from crm.customers.models import Account, Contact
from crm.leads.models import Lead
from crm.sales.models import Opportunity, Quote, Stage
from crm.users.models import User


class ActivityKind(models.TextChoices):
    TASK = "task", _("Task")
    CALL = "call", pgettext_lazy("activity kind", "Call")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("E-mail")
    VISIT = "visit", _("Visit")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")


class ActivityStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class ActivityQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ActivityQuerySet":
        """The one rule of who sees which activity: administrators all; a sales manager those
        assigned to their teams' members; everybody those assigned to them, those they
        created, and those on the leads, accounts and deals they own."""
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        if user.is_admin:
            return self
        # Subqueries on the owners' records rather than joins of every activity to three
        # tables: the same rows, several times faster on a large table.
        scope = (
            Q(assignee=user)
            | Q(created_by=user)
            | Q(lead_id__in=Lead.objects.filter(owner=user).values("pk"))
            | Q(account_id__in=Account.objects.filter(owner=user).values("pk"))
            | Q(opportunity_id__in=Opportunity.objects.filter(owner=user).values("pk"))
        )
        team_ids = user.scope_team_ids()
        if team_ids:
            members = User.objects.filter(team_id__in=team_ids).values("pk")
            scope |= Q(assignee_id__in=members)
        return self.filter(scope)

    def pending(self) -> "ActivityQuerySet":
        return self.filter(status=ActivityStatus.PENDING)


class Activity(TimeStampedModel):
    """Something to do or done for a customer, linked to the record it is about.

    The links are explicit foreign keys (indexed, with integrity) rather than a generic
    relation. `account` is filled from the contact, deal or quote too, so that the account's
    page finds all of its activities with one condition.
    """

    kind = models.CharField(
        _("kind"), max_length=10, choices=ActivityKind.choices, default=ActivityKind.TASK
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    all_day = models.BooleanField(_("all day"), default=False)
    duration_minutes = models.PositiveIntegerField(
        _("duration (minutes)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60 * 7)],
    )
    priority = models.CharField(
        _("priority"), max_length=6, choices=Priority.choices, default=Priority.NORMAL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.PROTECT,
        related_name="activities",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ActivityStatus.choices, default=ActivityStatus.PENDING
    )
    outcome = models.TextField(_("outcome"), blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    lead = models.ForeignKey(
        Lead,
        verbose_name=_("lead"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
    )
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="activities",
    )
    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
    )
    quote = models.ForeignKey(
        Quote,
        verbose_name=_("quote"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="activities",
    )
    # The activity this one follows up, and the rule that created it (if any).
    follows = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="follow_ups"
    )
    automation_rule = models.ForeignKey(
        "activities.AutomationRule",
        verbose_name=_("created by the rule"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="activities",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    objects = ActivityQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="activity_assignee_due_idx"),
            models.Index(fields=["status", "due_at"], name="activity_status_due_idx"),
            models.Index(fields=["account", "-due_at"], name="activity_account_idx"),
            models.Index(fields=["lead", "-due_at"], name="activity_lead_idx"),
            models.Index(fields=["opportunity", "-due_at"], name="activity_opportunity_idx"),
            models.Index(
                fields=["completed_at"],
                name="activity_completed_idx",
                include=["status", "assignee", "kind"],
            ),
        ]
        constraints = [
            # A lead is not yet an account: an activity is about one or the other.
            models.CheckConstraint(
                condition=Q(lead__isnull=True) | Q(account__isnull=True),
                name="activity_lead_or_account",
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(completed_at__isnull=False),
                name="activity_done_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_pending(self) -> bool:
        return self.status == ActivityStatus.PENDING


def _new_feed_token() -> str:
    return secrets.token_urlsafe(32)


class CalendarFeed(TimeStampedModel):
    """A user's secret iCal address; revoking it makes a new one and the old stops working."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=64, unique=True, default=_new_feed_token)

    def __str__(self) -> str:
        return str(self.user)


# -- automation --


class Trigger(models.TextChoices):
    LEAD_CREATED = "lead.created", _("A lead is created")
    LEAD_ASSIGNED = "lead.assigned", _("A lead is assigned")
    LEAD_STATUS_CHANGED = "lead.status_changed", _("A lead changes status")
    OPPORTUNITY_CREATED = "opportunity.created", _("An opportunity is created")
    OPPORTUNITY_STAGE = "opportunity.stage_entered", _("An opportunity enters a stage")
    OPPORTUNITY_IDLE = "opportunity.idle", _("An opportunity has no activity for N days")
    QUOTE_SENT = "quote.sent", _("A quote is sent")
    QUOTE_EXPIRING = "quote.expiring", _("A quote expires in N days")
    QUOTE_ACCEPTED = "quote.accepted", _("A quote is accepted")
    QUOTE_REJECTED = "quote.rejected", _("A quote is rejected")
    ACTIVITY_OVERDUE = "activity.overdue", _("An activity is overdue")
    ACCOUNT_CUSTOMER = "account.became_customer", _("An account becomes a customer")
    DATE_REACHED = "date.reached", _("A date field is reached")


# Triggers checked by the periodic cycle rather than fired by an event.
TIME_TRIGGERS = {
    Trigger.OPPORTUNITY_IDLE,
    Trigger.QUOTE_EXPIRING,
    Trigger.ACTIVITY_OVERDUE,
    Trigger.DATE_REACHED,
}


class AutomationRule(TimeStampedModel):
    """When something happens (trigger) to a record that meets the conditions, do the actions.

    `conditions`: [{"field": "channel", "op": "eq", "value": 3}, ...], all must hold.
    `actions`: [{"type": "create_activity", ...}, {"type": "notify", ...}, ...], in order.
    Their shapes are checked by the services (crm.activities.automation) when a rule is saved.
    """

    name = models.CharField(_("name"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    trigger = models.CharField(_("when"), max_length=40, choices=Trigger.choices)
    # N of "for N days" / "in N days", and the offset of a date field (days, may be negative).
    days = models.IntegerField(_("days"), null=True, blank=True)
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.CASCADE, null=True, blank=True
    )
    # For "a date field is reached": which one ("opportunity.expected_close_date", ...).
    date_field = models.CharField(_("date field"), max_length=60, blank=True)
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    actions = models.JSONField(_("actions"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("automation rule")
        verbose_name_plural = _("automation rules")

    def __str__(self) -> str:
        return self.name


class FiringStatus(models.TextChoices):
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Conditions not met")
    STOPPED = "stopped", _("Stopped: chain of rules too deep")
    FAILED = "failed", _("Failed")


class AutomationFiring(models.Model):
    """One firing of a rule for one record and one trigger occurrence: the log, and the
    guarantee that an occurrence fires a rule once (unique key), however often the worker
    retries. `occurrence` is "event:<id>" for events and e.g. "idle:2026-11-27" for the
    periodic cycle."""

    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="firings")
    trigger = models.CharField(max_length=40, choices=Trigger.choices)
    model = models.CharField(max_length=50)
    object_id = models.BigIntegerField()
    occurrence = models.CharField(max_length=80)
    depth = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=10, choices=FiringStatus.choices)
    # What it did: [{"action": "create_activity", "activity": 12}, ...] or the error.
    result = models.JSONField(default=list, blank=True)
    fired_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "model", "object_id", "occurrence"], name="firing_once"
            )
        ]
        indexes = [
            models.Index(fields=["model", "object_id", "-fired_at"], name="firing_object_idx"),
            models.Index(fields=["rule", "-fired_at"], name="firing_rule_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.model}#{self.object_id} {self.occurrence}"
