"""Every change to activities and calendar feeds.

Rules decided here:
- An activity may be linked to a lead OR to an account side (account, contact, deal, quote);
  the account is filled from the contact, deal or quote, and the deal from the quote. Every
  linked record must be visible to the actor (PermissionDenied otherwise) and the links must
  agree with each other (ValidationError otherwise).
- The assignee is the actor unless given; it must be one the actor may assign records to
  (`account_assignable_owners`: anyone for an admin, their teams for a manager, themselves for a
  rep); keeping the current assignee on an update is always allowed.
- Only pending activities are edited, completed or cancelled.
- Completing a call, meeting or visit needs an outcome (what happened is the point of
  logging them); a task or an e-mail may be completed without one.
- Completing (and logging a call) writes a line on the linked records' timelines (lead, account,
  deal) and records the domain events "activity.created" / "activity.done" for automation.
"""

from datetime import datetime, time
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm.activities.models import Activity, ActivityKind, ActivityStatus, CalendarFeed
from crm.core.events import record_event
from crm.customers.models import Account, AccountEvent, Contact
from crm.customers.selectors import account_assignable_owners
from crm.leads.models import Lead, LeadEvent
from crm.sales.models import Opportunity, OpportunityEvent, Quote
from crm.users.models import User

ACTIVITY_DONE = "activity_done"  # the timeline kind in customers, leads and sales
OUTCOME_REQUIRED = {ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.VISIT}
LINKS = ("lead", "account", "contact", "opportunity", "quote")
EDITABLE_FIELDS = {
    "kind",
    "subject",
    "description",
    "due_at",
    "all_day",
    "duration_minutes",
    "priority",
    "assignee",
    *LINKS,
}
LINK_MODELS = {
    "lead": Lead,
    "account": Account,
    "contact": Contact,
    "opportunity": Opportunity,
    "quote": Quote,
}


def day_start(day) -> datetime:
    """Midnight of a local day (the company's time zone), aware: how all-day items are stored."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _check_visible(actor: User, fields: dict[str, Any]) -> None:
    for name in LINKS:
        record = fields.get(name)
        if record is None:
            continue
        model = LINK_MODELS[name]
        if not model.objects.visible_to(actor).filter(pk=record.pk).exists():
            raise PermissionDenied


def _resolve_links(fields: dict[str, Any]) -> dict[str, Any]:
    """Fill the deal from the quote and the account from the contact/deal/quote; refuse links
    that disagree (a contact of another account, a lead together with an account)."""
    quote, opportunity = fields.get("quote"), fields.get("opportunity")
    contact, account = fields.get("contact"), fields.get("account")
    if quote is not None:
        if opportunity is not None and opportunity.pk != quote.opportunity_id:
            raise ValidationError({"quote": _("The quote belongs to another opportunity.")})
        opportunity = fields["opportunity"] = quote.opportunity
    derived = [
        r.account_id for r in (contact, opportunity) if r is not None and r.account_id is not None
    ]
    if account is None and derived:
        account = fields["account"] = Account.objects.get(pk=derived[0])
    if account is not None and any(pk != account.pk for pk in derived):
        raise ValidationError(
            {"contact": _("The contact and the opportunity must belong to the same account.")}
        )
    if fields.get("lead") is not None and account is not None:
        raise ValidationError(
            {"lead": _("An activity is about a lead or about an account, not both.")}
        )
    return fields


def _check_assignee(actor: User, assignee: User, *, current: User | None = None) -> None:
    if current is not None and assignee.pk == current.pk:
        return
    if not account_assignable_owners(actor=actor).filter(pk=assignee.pk).exists():
        raise ValidationError({"assignee": _("You cannot assign activities to this user.")})


def _clean(actor: User, fields: dict[str, Any], *, current: Activity | None = None):
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    fields = dict(fields)
    if "subject" in fields:
        fields["subject"] = (fields["subject"] or "").strip()
    if "description" in fields:
        fields["description"] = (fields["description"] or "").strip()
    _check_visible(actor, fields)
    return _resolve_links(fields)


@transaction.atomic
def activity_create(
    *,
    actor: User,
    fields: dict[str, Any],
    follows: Activity | None = None,
    automation_rule=None,
    check_assignee: bool = True,
) -> Activity:
    """A new pending activity. `check_assignee=False` is for automation, which assigns by its
    own rules (the record's owner, a named user, the team's manager)."""
    fields = _clean(actor, fields)
    fields.setdefault("assignee", actor)
    if check_assignee:
        _check_assignee(actor, fields["assignee"])
    activity = Activity(
        **fields,
        status=ActivityStatus.PENDING,
        follows=follows,
        automation_rule=automation_rule,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    activity.full_clean()
    activity.save()
    record_event("activity.created", activity, actor=actor)
    return activity


def _require_pending(activity: Activity) -> None:
    if not activity.is_pending:
        raise ValidationError(_("Only a pending activity can be changed."))


@transaction.atomic
def activity_update(*, actor: User, activity: Activity, fields: dict[str, Any]) -> Activity:
    _require_pending(activity)
    fields = _clean(actor, fields, current=activity)
    if "assignee" in fields:
        _check_assignee(actor, fields["assignee"], current=activity.assignee)
    for name, value in fields.items():
        setattr(activity, name, value)
    activity.full_clean()
    activity.save(update_fields=[*fields, "updated_at"])
    return activity


def _timeline_body(activity: Activity) -> str:
    body = f"{activity.get_kind_display()}: {activity.subject}"
    if activity.outcome:
        body += "\n" + activity.outcome
    return body


def _write_timelines(*, actor: User, activity: Activity) -> None:
    body = _timeline_body(activity)
    when = activity.completed_at or timezone.now()
    if activity.lead_id:
        LeadEvent.objects.create(
            lead_id=activity.lead_id, kind=ACTIVITY_DONE, actor=actor, body=body
        )
    if activity.account_id:
        AccountEvent.objects.create(
            account_id=activity.account_id,
            contact_id=activity.contact_id,
            kind=ACTIVITY_DONE,
            actor=actor,
            body=body,
            created_at=when,
        )
    if activity.opportunity_id:
        OpportunityEvent.objects.create(
            opportunity_id=activity.opportunity_id,
            kind=ACTIVITY_DONE,
            actor=actor,
            body=body,
            created_at=when,
        )


@transaction.atomic
def activity_complete(
    *,
    actor: User,
    activity: Activity,
    outcome: str = "",
    follow_up: dict[str, Any] | None = None,
) -> tuple[Activity, Activity | None]:
    """Mark done with its outcome; optionally schedule the follow-up (same links, `follows`)
    in the same transaction. Returns (activity, follow-up or None)."""
    _require_pending(activity)
    outcome = (outcome or "").strip()
    if activity.kind in OUTCOME_REQUIRED and not outcome:
        raise ValidationError({"outcome": _("Say how it went: the outcome is required.")})
    activity.status = ActivityStatus.DONE
    activity.outcome = outcome
    activity.completed_at = timezone.now()
    activity.full_clean()
    activity.save(update_fields=["status", "outcome", "completed_at", "updated_at"])
    _write_timelines(actor=actor, activity=activity)
    record_event("activity.done", activity, actor=actor)
    next_activity = None
    if follow_up:
        links = {name: getattr(activity, name) for name in LINKS}
        if links["lead"] is not None:
            links["account"] = None
        fields = {**links, **follow_up}
        fields.setdefault("assignee", activity.assignee)
        # Keeping the same assignee is always allowed; another one follows the usual rule.
        same = fields["assignee"].pk == activity.assignee_id
        next_activity = activity_create(
            actor=actor, fields=fields, follows=activity, check_assignee=not same
        )
    return activity, next_activity


@transaction.atomic
def activity_cancel(*, actor: User, activity: Activity, reason: str = "") -> Activity:
    _require_pending(activity)
    activity.status = ActivityStatus.CANCELLED
    activity.outcome = (reason or "").strip()
    activity.full_clean()
    activity.save(update_fields=["status", "outcome", "updated_at"])
    record_event("activity.cancelled", activity, actor=actor)
    return activity


@transaction.atomic
def activity_log_call(
    *,
    actor: User,
    outcome: str,
    subject: str = "",
    duration_minutes: int | None = None,
    lead: Lead | None = None,
    account: Account | None = None,
    contact: Contact | None = None,
    opportunity: Opportunity | None = None,
    quote: Quote | None = None,
) -> Activity:
    """A call that already happened, in one step: created done, on the record's timeline."""
    outcome = (outcome or "").strip()
    if not outcome:
        raise ValidationError({"outcome": _("Say how it went: the outcome is required.")})
    links = {"lead": lead, "account": account, "contact": contact}
    links |= {"opportunity": opportunity, "quote": quote}
    if not any(links.values()):
        raise ValidationError(_("A call is logged on a lead, account, contact or opportunity."))
    fields = _clean(actor, {k: v for k, v in links.items() if v is not None})
    now = timezone.now()
    activity = Activity(
        **fields,
        kind=ActivityKind.CALL,
        subject=(subject or "").strip() or pgettext("activity subject", "Call"),
        due_at=now,
        duration_minutes=duration_minutes,
        assignee=actor,
        status=ActivityStatus.DONE,
        outcome=outcome,
        completed_at=now,
        created_by=actor,
    )
    activity.full_clean()
    activity.save()
    _write_timelines(actor=actor, activity=activity)
    record_event("activity.created", activity, actor=actor)
    record_event("activity.done", activity, actor=actor)
    return activity


@transaction.atomic
def activity_reassign_pending(*, actor: User | None, from_user: User, to_user: User) -> int:
    """Give all of a user's pending activities to another (active) user; the number moved."""
    if not to_user.is_active:
        raise ValidationError({"reassign_to": _("Choose an active user.")})
    if to_user.pk == from_user.pk:
        raise ValidationError({"reassign_to": _("Choose another user.")})
    pending = Activity.objects.filter(assignee=from_user, status=ActivityStatus.PENDING)
    return pending.update(assignee=to_user, updated_at=timezone.now())


def pending_count(*, user: User) -> int:
    return Activity.objects.filter(assignee=user, status=ActivityStatus.PENDING).count()


@transaction.atomic
def calendar_feed_get_or_create(*, user: User) -> CalendarFeed:
    feed, _created = CalendarFeed.objects.get_or_create(user=user)
    return feed


@transaction.atomic
def calendar_feed_revoke(*, user: User) -> CalendarFeed:
    """A new secret address; the old one answers 404 from now on."""
    from crm.activities.models import _new_feed_token

    feed, created = CalendarFeed.objects.get_or_create(user=user)
    if not created:
        feed.token = _new_feed_token()
        feed.save(update_fields=["token", "updated_at"])
    return feed
