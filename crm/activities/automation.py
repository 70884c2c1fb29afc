"""Automation rules: what they may say (checked when saved), and how they fire.

A rule has a trigger, conditions on the record's fields and actions. Two ways in:

* events (`handle_event`, registered in `crm.core.events.EVENT_HANDLERS`): a service records
  "lead.created", "quote.sent"... in its transaction; after commit the worker hands the event
  here. Each matching rule inserts its `AutomationFiring` row first (occurrence "event:<id>",
  unique), so a retried event never fires a rule twice, then runs the actions with the event's
  automation depth plus one: a rule whose actions trigger rules again stops at `MAX_DEPTH`.
* the periodic cycle (`run_time_rules`, run hourly by `crm.activities.tasks`): for each active
  time rule, one set-based query finds the records that match now and have not fired for this
  occurrence, the firing rows are inserted in bulk and the actions done in bulk.

Conditions become a `Q` (`conditions_q`), used by both paths, so a rule means the same thing
whichever way it fires.
"""

import contextvars
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Exists, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.activities.business_days import add_business_days
from crm.activities.models import (
    TIME_TRIGGERS,
    Activity,
    ActivityKind,
    ActivityStatus,
    AutomationFiring,
    AutomationRule,
    FiringStatus,
    Priority,
    Trigger,
)
from crm.alerts.models import Notification
from crm.core.events import current_depth
from crm.core.selectors import company_settings_get
from crm.core.services import position_move
from crm.customers.models import Account
from crm.leads.models import Lead
from crm.sales.models import Opportunity, Quote, QuoteStatus, StageKind
from crm.sales.money import cents
from crm.users.models import Role, User

logger = logging.getLogger(__name__)

# How many rules may fire one another in a chain before the engine stops it.
MAX_DEPTH = 5
OPERATORS = ("eq", "ne", "in", "gte", "lte", "contains", "is_empty")
ACTION_TYPES = ("create_activity", "notify", "change_owner", "send_email")
ASSIGNEES = ("owner", "manager", "user")
BULK_SIZE = 1000


# -- record types: what a rule may read of each --


@dataclass(frozen=True)
class RecordType:
    name: str  # the placeholder namespace of the record itself: "lead"
    model: type[models.Model]
    # Condition fields: name -> "str" | "int" | "decimal" | "choice" | "fk"
    fields: dict[str, str]
    # Placeholder namespaces available to the templates, with their attributes.
    placeholders: dict[str, tuple[str, ...]]
    related: tuple[str, ...] = ()
    can_change_owner: bool = True
    labels: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.model._meta.label_lower


PERSON = ("first_name", "last_name", "email")
OWNER = ("first_name", "last_name", "email")

RECORD_TYPES: dict[str, RecordType] = {
    rt.label: rt
    for rt in (
        RecordType(
            name="lead",
            model=Lead,
            fields={
                "status": "choice",
                "score": "int",
                "province": "choice",
                "city": "str",
                "company": "str",
                "campaign": "str",
                "products_of_interest": "str",
                "size_segment": "choice",
                "channel": "fk",
                "sector": "fk",
                "owner": "fk",
                "team": "fk",
                "email": "str",
            },
            placeholders={
                "lead": (*PERSON, "company", "phone", "mobile", "city", "campaign", "status"),
                "owner": OWNER,
            },
            related=("owner__team__manager",),
        ),
        RecordType(
            name="opportunity",
            model=Opportunity,
            fields={
                "title": "str",
                "amount": "decimal",
                "probability": "int",
                "stage": "fk",
                "pipeline": "fk",
                "channel": "fk",
                "owner": "fk",
                "team": "fk",
                "products_of_interest": "str",
            },
            placeholders={
                "opportunity": ("title", "amount", "expected_close_date", "stage", "next_step"),
                "account": ("name", "email", "phone"),
                "contact": PERSON,
                "owner": OWNER,
            },
            related=("owner__team__manager", "account", "contact", "stage"),
        ),
        RecordType(
            name="quote",
            model=Quote,
            fields={"title": "str", "total": "decimal", "subtotal": "decimal", "status": "choice"},
            placeholders={
                "quote": ("number", "title", "total", "subtotal", "valid_until", "issue_date"),
                "opportunity": ("title", "amount", "expected_close_date", "stage", "next_step"),
                "account": ("name", "email", "phone"),
                "contact": PERSON,
                "owner": OWNER,
            },
            related=(
                "opportunity__owner__team__manager",
                "opportunity__account",
                "opportunity__stage",
                "contact",
            ),
            can_change_owner=False,
        ),
        RecordType(
            name="account",
            model=Account,
            fields={
                "kind": "choice",
                "lifecycle": "choice",
                "name": "str",
                "billing_province": "choice",
                "billing_city": "str",
                "size_segment": "choice",
                "sector": "fk",
                "channel": "fk",
                "owner": "fk",
                "team": "fk",
            },
            placeholders={"account": ("name", "email", "phone", "billing_city"), "owner": OWNER},
            related=("owner__team__manager",),
        ),
        RecordType(
            name="activity",
            model=Activity,
            fields={"kind": "choice", "priority": "choice", "assignee": "fk", "subject": "str"},
            placeholders={
                "activity": ("subject", "due_at", "kind", "priority"),
                "owner": OWNER,
            },
            related=("assignee__team__manager", "lead", "account", "contact", "opportunity"),
            can_change_owner=False,
        ),
    )
}

TRIGGER_RECORDS = {
    Trigger.LEAD_CREATED: "leads.lead",
    Trigger.LEAD_ASSIGNED: "leads.lead",
    Trigger.LEAD_STATUS_CHANGED: "leads.lead",
    Trigger.OPPORTUNITY_CREATED: "sales.opportunity",
    Trigger.OPPORTUNITY_STAGE: "sales.opportunity",
    Trigger.OPPORTUNITY_IDLE: "sales.opportunity",
    Trigger.QUOTE_SENT: "sales.quote",
    Trigger.QUOTE_EXPIRING: "sales.quote",
    Trigger.QUOTE_ACCEPTED: "sales.quote",
    Trigger.QUOTE_REJECTED: "sales.quote",
    Trigger.ACTIVITY_OVERDUE: "activities.activity",
    Trigger.ACCOUNT_CUSTOMER: "customers.account",
}

# "A date field is reached": which dates, on which records.
DATE_FIELDS = {
    "opportunity.expected_close_date": ("sales.opportunity", "expected_close_date"),
    "quote.valid_until": ("sales.quote", "valid_until"),
}


def date_field_choices() -> list[tuple[str, str]]:
    return [
        ("opportunity.expected_close_date", _("Opportunity: expected close date")),
        ("quote.valid_until", _("Quote: valid until")),
    ]


def record_type_for(*, trigger: str, date_field: str = "") -> RecordType | None:
    if trigger == Trigger.DATE_REACHED:
        entry = DATE_FIELDS.get(date_field)
        return RECORD_TYPES[entry[0]] if entry else None
    label = TRIGGER_RECORDS.get(trigger)
    return RECORD_TYPES[label] if label else None


def _field_label(rt: RecordType, name: str) -> str:
    return str(rt.model._meta.get_field(name).verbose_name)


def condition_field_choices(rt: RecordType) -> list[tuple[str, str]]:
    return [(name, _field_label(rt, name).capitalize()) for name in rt.fields]


def placeholder_names(rt: RecordType) -> list[str]:
    return [f"{{{ns}.{attr}}}" for ns, attrs in rt.placeholders.items() for attr in attrs]


# -- validation: a rule is checked entirely when it is saved --


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def check_template(text: str, rt: RecordType) -> list[str]:
    """The unknown placeholders of a template (empty when all are allowed)."""
    unknown = []
    for match in _PLACEHOLDER.finditer(text or ""):
        ns, _dot, attr = match.group(1).strip().partition(".")
        if attr not in rt.placeholders.get(ns, ()):
            unknown.append("{" + match.group(1) + "}")
    return unknown


def _template_error(text: str, rt: RecordType) -> str | None:
    unknown = check_template(text, rt)
    if not unknown:
        return None
    return _("Unknown placeholder %(names)s. You can use: %(allowed)s.") % {
        "names": ", ".join(unknown),
        "allowed": ", ".join(placeholder_names(rt)),
    }


def _choices_of(rt: RecordType, name: str) -> set[str]:
    return {str(value) for value, _label in rt.model._meta.get_field(name).choices or ()}


def _clean_value(rt: RecordType, name: str, value: Any) -> Any:
    kind = rt.fields[name]
    if kind in ("int", "fk"):
        try:
            return int(str(value).strip())
        except (TypeError, ValueError) as exc:
            raise ValueError(_("a whole number")) from exc
    if kind == "decimal":
        try:
            return str(Decimal(str(value).strip().replace(",", ".")))
        except (InvalidOperation, ValueError) as exc:
            raise ValueError(_("a number")) from exc
    text = str(value if value is not None else "").strip()
    if kind == "choice" and text not in _choices_of(rt, name):
        raise ValueError(_("one of the field's values"))
    return text


def clean_conditions(conditions: Any, rt: RecordType) -> list[dict]:
    """Conditions in their stored shape; ValidationError naming each bad or contradictory one."""
    if not isinstance(conditions, list):
        raise ValidationError({"conditions": _("The conditions are not a list.")})
    clean, errors = [], []
    for index, item in enumerate(conditions, start=1):
        if not isinstance(item, dict):
            errors.append(_("Condition %(n)d is incomplete.") % {"n": index})
            continue
        name, op = item.get("field"), item.get("op")
        if name not in rt.fields:
            errors.append(
                _("Condition %(n)d: a %(record)s has no field “%(field)s” to test.")
                % {"n": index, "record": rt.model._meta.verbose_name, "field": name}
            )
            continue
        if op not in OPERATORS:
            errors.append(_("Condition %(n)d: choose how to compare.") % {"n": index})
            continue
        kind = rt.fields[name]
        if op in ("gte", "lte") and kind not in ("int", "decimal"):
            errors.append(
                _("Condition %(n)d: “at least” and “at most” compare numbers only.") % {"n": index}
            )
            continue
        if op == "contains" and kind != "str":
            errors.append(_("Condition %(n)d: “contains” applies to texts only.") % {"n": index})
            continue
        value = item.get("value")
        try:
            if op == "is_empty":
                value = value not in (False, "false", "0", 0)
            elif op == "in":
                values = value if isinstance(value, list) else str(value or "").split(",")
                value = [_clean_value(rt, name, v) for v in values if str(v).strip()]
                if not value:
                    raise ValueError(_("one value or more"))
            else:
                value = _clean_value(rt, name, value)
                if kind == "str" and not value:
                    raise ValueError(_("a text"))
        except ValueError as exc:
            errors.append(
                _("Condition %(n)d: the value must be %(what)s.") % {"n": index, "what": exc}
            )
            continue
        clean.append({"field": name, "op": op, "value": value})
    if errors:
        raise ValidationError({"conditions": errors})
    contradictions = [
        _("The conditions on “%(field)s” contradict each other: no record can meet them all.")
        % {"field": _field_label(rt, name)}
        for name in dict.fromkeys(c["field"] for c in clean)
        if _contradictory([c for c in clean if c["field"] == name], rt.fields[name])
    ]
    if contradictions:
        raise ValidationError({"conditions": contradictions})
    return clean


def _contradictory(conditions: list[dict], kind: str) -> bool:
    """True when no value can meet all the conditions on one field."""
    numeric = kind in ("int", "decimal")

    def num(v):
        return Decimal(str(v))

    equals = {str(c["value"]) for c in conditions if c["op"] == "eq"}
    excluded = {str(c["value"]) for c in conditions if c["op"] == "ne"}
    empties = {c["value"] for c in conditions if c["op"] == "is_empty"}
    valued = [c for c in conditions if c["op"] in ("eq", "in", "gte", "lte", "contains")]
    if len(empties) > 1 or (True in empties and valued):
        return True
    allowed: set[str] | None = set(equals) if equals else None
    for c in conditions:
        if c["op"] == "in":
            values = {str(v) for v in c["value"]}
            allowed = values if allowed is None else allowed & values
    if len(equals) > 1:
        return True
    if allowed is not None:
        allowed -= excluded
        if numeric:
            for c in conditions:
                if c["op"] == "gte":
                    allowed = {v for v in allowed if num(v) >= num(c["value"])}
                if c["op"] == "lte":
                    allowed = {v for v in allowed if num(v) <= num(c["value"])}
        if not allowed:
            return True
    lows = [num(c["value"]) for c in conditions if c["op"] == "gte"]
    highs = [num(c["value"]) for c in conditions if c["op"] == "lte"]
    if lows and highs and max(lows) > min(highs):
        return True
    if kind == "int" and lows and highs and max(lows) == min(highs):
        return str(int(max(lows))) in excluded
    return False


def _active_user(value: Any) -> User | None:
    try:
        return User.objects.filter(pk=int(value), is_active=True).first()
    except (TypeError, ValueError):
        return None


def _clean_template(item, key, rt, action, problems, *, required, limit=None) -> None:
    text = str(item.get(key) or "").strip()
    what = _template_labels()[key]
    if required and not text:
        problems.append(_("write the %(what)s") % {"what": what})
    elif limit and len(text) > limit:
        problems.append(
            _("the %(what)s has more than %(limit)d characters") % {"what": what, "limit": limit}
        )
    error = _template_error(text, rt)
    if error:
        problems.append(error)
    action[key] = text


def _clean_person(item, key, action, problems) -> None:
    who = item.get(key) or "owner"
    if who not in ASSIGNEES:
        problems.append(_("choose who"))
        return
    action[key] = who
    if who == "user":
        user = _active_user(item.get("user"))
        if user is None:
            problems.append(_("choose an active user"))
        else:
            action["user"] = user.pk


def _clean_action(item: dict, rt: RecordType) -> tuple[dict, list[str]]:
    kind = item["type"]
    action: dict[str, Any] = {"type": kind}
    problems: list[str] = []
    if kind == "create_activity":
        if item.get("kind") not in ActivityKind.values:
            problems.append(_("choose the kind of activity"))
        action["kind"] = item.get("kind")
        _clean_template(item, "subject", rt, action, problems, required=True, limit=200)
        _clean_template(item, "description", rt, action, problems, required=False)
        priority = item.get("priority") or Priority.NORMAL
        if priority not in Priority.values:
            problems.append(_("choose the priority"))
        action["priority"] = priority
        try:
            action["due_days"] = int(item.get("due_days") or 0)
            hour = item.get("due_hour")
            action["due_hour"] = 9 if hour in (None, "") else int(hour)
            if not 0 <= action["due_days"] <= 365 or not 0 <= action["due_hour"] <= 23:
                raise ValueError
        except (TypeError, ValueError):
            problems.append(_("the due date is 0 to 365 business days, at an hour 0 to 23"))
        _clean_person(item, "assignee", action, problems)
    elif kind == "notify":
        _clean_template(item, "title", rt, action, problems, required=True, limit=200)
        _clean_template(item, "body", rt, action, problems, required=False)
        _clean_person(item, "recipient", action, problems)
    elif kind == "change_owner":
        if not rt.can_change_owner:
            problems.append(
                _("a %(record)s's owner cannot be changed by a rule")
                % {"record": rt.model._meta.verbose_name}
            )
        user = _active_user(item.get("user"))
        if user is None:
            problems.append(_("choose an active user"))
        else:
            action["user"] = user.pk
    elif kind == "send_email":
        _clean_template(item, "subject", rt, action, problems, required=True, limit=200)
        _clean_template(item, "body", rt, action, problems, required=True)
    return action, problems


def clean_actions(actions: Any, rt: RecordType) -> list[dict]:
    """Actions in their stored shape; ValidationError naming each incomplete one."""
    if not isinstance(actions, list) or not actions:
        raise ValidationError({"actions": _("Add at least one action: what the rule does.")})
    clean, errors = [], []
    for index, item in enumerate(actions, start=1):
        kind = item.get("type") if isinstance(item, dict) else None
        if kind not in ACTION_TYPES:
            errors.append(_("Action %(n)d: choose what to do.") % {"n": index})
            continue
        action, problems = _clean_action(item, rt)
        if problems:
            errors.append(
                _("Action %(n)d (%(what)s): %(problems)s.")
                % {"n": index, "what": action_label(kind), "problems": "; ".join(problems)}
            )
        clean.append(action)
    if errors:
        raise ValidationError({"actions": errors})
    return clean


def action_label(kind: str) -> str:
    return {
        "create_activity": _("create an activity"),
        "notify": _("notify a user"),
        "change_owner": _("change the owner"),
        "send_email": _("send an e-mail to the contact"),
    }.get(kind, kind)


def _template_labels() -> dict[str, str]:
    return {
        "subject": _("subject"),
        "description": _("description"),
        "title": _("title"),
        "body": _("text"),
    }


RULE_FIELDS = {
    "name",
    "is_active",
    "trigger",
    "days",
    "stage",
    "date_field",
    "conditions",
    "actions",
}


def rule_clean(rule: AutomationRule) -> None:
    """Check everything a rule says, raising ValidationError with a message per field."""
    errors: dict[str, Any] = {}
    if not (rule.name or "").strip():
        errors["name"] = _("Give the rule a name.")
    rule.name = (rule.name or "").strip()
    if rule.trigger not in Trigger.values:
        raise ValidationError({"trigger": _("Choose when the rule fires."), **errors})
    if rule.trigger == Trigger.DATE_REACHED:
        if rule.date_field not in DATE_FIELDS:
            errors["date_field"] = _("Choose which date.")
        rule.days = rule.days or 0
    else:
        rule.date_field = ""
    if rule.trigger in (Trigger.OPPORTUNITY_IDLE, Trigger.QUOTE_EXPIRING):
        low = 1 if rule.trigger == Trigger.OPPORTUNITY_IDLE else 0
        if rule.days is None or not low <= rule.days <= 365:
            errors["days"] = _("Say how many days (%(low)d to 365).") % {"low": low}
    elif rule.trigger == Trigger.DATE_REACHED:
        if not -365 <= rule.days <= 365:
            errors["days"] = _("The offset is -365 to 365 days.")
    else:
        rule.days = None
    if rule.trigger != Trigger.OPPORTUNITY_STAGE:
        rule.stage = None
    rt = record_type_for(trigger=rule.trigger, date_field=rule.date_field)
    if rt is not None:
        for name, clean in (("conditions", clean_conditions), ("actions", clean_actions)):
            try:
                setattr(rule, name, clean(getattr(rule, name), rt))
            except ValidationError as exc:
                errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


def _check_admin(actor: User) -> None:
    if not (actor and actor.is_active and actor.is_admin):
        raise PermissionDenied


@transaction.atomic
def automation_rule_save(
    *, actor: User, fields: dict[str, Any], rule: AutomationRule | None = None
) -> AutomationRule:
    """Create or change an automation rule (administrators); a new one goes last."""
    _check_admin(actor)
    unknown = set(fields) - RULE_FIELDS
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")
    if rule is None:
        last = AutomationRule.objects.order_by("-position").values_list("position", flat=True)
        rule = AutomationRule(position=(last.first() or 0) + 1, created_by=actor)
    for name, value in fields.items():
        setattr(rule, name, value)
    rule_clean(rule)
    rule.full_clean()
    rule.save()
    return rule


@transaction.atomic
def automation_rule_delete(*, actor: User, rule: AutomationRule) -> None:
    _check_admin(actor)
    rule.delete()


@transaction.atomic
def automation_rule_move(*, actor: User, rule: AutomationRule, offset: int) -> None:
    """Move a rule up (-1) or down (+1): rules for one trigger fire in this order."""
    _check_admin(actor)
    rules = list(AutomationRule.objects.select_for_update().order_by("position", "id"))
    position_move(rules, pk=rule.pk, offset=offset)


# -- conditions as a query --


def conditions_q(conditions: Iterable[dict], rt: RecordType) -> Q:
    """All the conditions as one Q on the record's model (they were checked when saved)."""
    q = Q()
    for c in conditions:
        name, op, value = c["field"], c["op"], c["value"]
        kind = rt.fields.get(name)
        if kind is None:
            continue
        column = f"{name}_id" if kind == "fk" else name
        if op == "eq":
            q &= Q(**{column: value})
        elif op == "ne":
            q &= ~Q(**{column: value})
        elif op == "in":
            q &= Q(**{f"{column}__in": value})
        elif op == "gte":
            q &= Q(**{f"{column}__gte": value})
        elif op == "lte":
            q &= Q(**{f"{column}__lte": value})
        elif op == "contains":
            q &= Q(**{f"{column}__icontains": value})
        elif op == "is_empty":
            empty = Q(**{f"{column}__isnull": True})
            if kind in ("str", "choice"):
                empty |= Q(**{column: ""})
            q &= empty if value else ~empty
    return q


# -- reading a record: owner, links, placeholders --


def record_owner(record: models.Model) -> User | None:
    owners = _OWNERS.get()
    if owners is not None:
        return owners.get(_owner_id(record))
    if isinstance(record, Quote):
        return record.opportunity.owner
    if isinstance(record, Activity):
        return record.assignee
    return getattr(record, "owner", None)


def _owner_id(record: models.Model) -> int | None:
    """The owner's id without loading the user (the periodic cycle reads thousands)."""
    if isinstance(record, Quote):
        return record.opportunity.owner_id
    if isinstance(record, Activity):
        return record.assignee_id
    return getattr(record, "owner_id", None)


def _person_id(record: models.Model, who: str, user_id: int | None) -> int | None:
    """Whom an action names: the record's owner, the owner's team manager (or the owner when
    the team has none), or a named user (or the owner when that user was deactivated)."""
    owner_id = _owner_id(record)
    if who == "user":
        users = _USERS.get() or {}
        user = users.get(user_id) if user_id in users else _active_user(user_id)
        return user.pk if user is not None else owner_id
    if who == "manager" and owner_id is not None:
        owner = record_owner(record)
        if owner.team_id and owner.team.manager_id and owner.team.manager.is_active:
            return owner.team.manager_id
    return owner_id


# Users named by rules, and the records' owners (with team and manager), read once per rule
# by the periodic cycle rather than joined to every record.
# Context variables, not module globals: the worker runs tasks in several threads.
_USERS: contextvars.ContextVar[dict[int, User] | None] = contextvars.ContextVar(
    "automation_users", default=None
)
_OWNERS: contextvars.ContextVar[dict[int, User] | None] = contextvars.ContextVar(
    "automation_owners", default=None
)

_DETAIL_URLS = {
    Lead: "lead-detail",
    Opportunity: "opportunity-detail",
    Quote: "quote-detail",
    Account: "account-detail",
}
_URL_MARK = 987654321


@lru_cache(maxsize=8)
def _url_pattern(name: str) -> str:
    return reverse(name, args=[_URL_MARK]).replace(str(_URL_MARK), "{}")


def record_url(record: models.Model) -> str:
    if isinstance(record, Activity):
        for model, pk in (
            (Opportunity, record.opportunity_id),
            (Lead, record.lead_id),
            (Account, record.account_id),
        ):
            if pk is not None:
                return _url_pattern(_DETAIL_URLS[model]).format(pk)
        return ""
    name = _DETAIL_URLS.get(type(record))
    return _url_pattern(name).format(record.pk) if name else ""


def _links(record: models.Model) -> dict[str, Any]:
    """The foreign keys of an activity about this record, as ids."""
    if isinstance(record, Lead):
        return {"lead_id": record.pk}
    if isinstance(record, Opportunity):
        return {
            "opportunity_id": record.pk,
            "account_id": record.account_id,
            "contact_id": record.contact_id,
        }
    if isinstance(record, Quote):
        deal = record.opportunity
        return {
            "quote_id": record.pk,
            "opportunity_id": deal.pk,
            "account_id": deal.account_id,
            "contact_id": record.contact_id or deal.contact_id,
        }
    if isinstance(record, Account):
        return {"account_id": record.pk}
    if isinstance(record, Activity):
        return {
            "lead_id": record.lead_id,
            "account_id": record.account_id,
            "contact_id": record.contact_id,
            "opportunity_id": record.opportunity_id,
            "quote_id": record.quote_id,
            "follows_id": record.pk,
        }
    return {}


def _namespace(record: models.Model, name: str) -> Any:
    """The object a placeholder namespace names for this record, read only when used."""
    if name == "owner":
        return record_owner(record)
    if isinstance(record, Quote):
        deal = record.opportunity
        if name == "contact":
            return record.contact or deal.contact
        return {"quote": record, "opportunity": deal}.get(name) or (
            deal.account if name == "account" else None
        )
    if isinstance(record, Opportunity):
        if name == "opportunity":
            return record
        return getattr(record, name) if name in ("account", "contact") else None
    return record if name == RECORD_TYPES[record._meta.label_lower].name else None


def _format(obj: models.Model | None, attr: str) -> str:
    if obj is None:
        return ""
    try:
        model_field = obj._meta.get_field(attr)
    except Exception:  # noqa: BLE001 (a property such as the deal's stage name)
        model_field = None
    if model_field is not None and getattr(model_field, "choices", None):
        return str(getattr(obj, f"get_{attr}_display")())
    value = getattr(obj, attr, "")
    if value is None:
        return ""
    if attr == "number" and isinstance(obj, Quote):
        return obj.display_number
    if isinstance(value, Decimal):
        return _money(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _money(value: Decimal) -> str:
    """1234.5 -> "1.234,50 €", as the quote PDF writes it (crm.sales.pdf, which loads
    WeasyPrint: too heavy to import for a number)."""
    text = f"{cents(value):,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{text}\xa0€"


def render(text: str, record: models.Model) -> str:
    """A template with its placeholders replaced by the record's values."""
    if not text:
        return ""

    def replace(match: re.Match) -> str:
        name, _dot, attr = match.group(1).strip().partition(".")
        return _format(_namespace(record, name), attr)

    return _PLACEHOLDER.sub(replace, text)


def record_email(record: models.Model) -> str:
    """Whom "send an e-mail to the contact" writes to."""
    if isinstance(record, Lead):
        return record.email
    if isinstance(record, Quote):
        contact = record.contact or record.opportunity.contact
        return (contact.email if contact else "") or record.opportunity.account.email
    if isinstance(record, Opportunity):
        return (record.contact.email if record.contact else "") or record.account.email
    if isinstance(record, Account):
        if record.email:
            return record.email
        primary = record.contacts.filter(is_active=True).exclude(email="").order_by("-is_primary")
        return primary.values_list("email", flat=True).first() or ""
    if isinstance(record, Activity):
        if record.contact_id:
            return record.contact.email
        if record.lead_id:
            return record.lead.email
    return ""


# -- actions --


def _company_zone() -> ZoneInfo:
    return ZoneInfo(company_settings_get().time_zone)


def due_at(action: dict, now: datetime, zone: ZoneInfo) -> datetime:
    """N business days from today (company's time zone), at the action's hour."""
    today = now.astimezone(zone).date()
    day = add_business_days(today, int(action.get("due_days") or 0))
    return datetime.combine(day, time(int(action.get("due_hour", 9))), tzinfo=zone)


def _activity_values(rule, action, record, now, zone, due=None) -> dict[str, Any] | None:
    assignee_id = _person_id(record, action.get("assignee", "owner"), action.get("user"))
    if assignee_id is None:
        return None
    return {
        "kind": action["kind"],
        "subject": render(action["subject"], record)[:200],
        "description": render(action.get("description", ""), record),
        "priority": action.get("priority", Priority.NORMAL),
        "due_at": due or due_at(action, now, zone),
        "assignee_id": assignee_id,
        "automation_rule_id": rule.pk,
        **_links(record),
    }


def _activity(rule, action, record, now, zone, due=None) -> Activity | None:
    values = _activity_values(rule, action, record, now, zone, due)
    return Activity(**values) if values is not None else None


def _notification(action, record) -> Notification | None:
    user_id = _person_id(record, action.get("recipient", "owner"), action.get("user"))
    if user_id is None:
        return None
    return Notification(
        user_id=user_id,
        title=render(action["title"], record)[:200],
        body=render(action.get("body", ""), record),
        url=record_url(record),
    )


def system_actor(rule: AutomationRule) -> User | None:
    """Who a rule acts as when a service needs a person: its author if still an active
    administrator, else the first active administrator."""
    author = rule.created_by
    if author is not None and author.is_active and author.is_admin:
        return author
    return (
        User.objects.filter(is_active=True)
        .filter(Q(role=Role.ADMIN) | Q(is_superuser=True))
        .order_by("id")
        .first()
    )


def _change_owner(rule, action, record) -> dict:
    from crm.customers import services as customer_services
    from crm.leads import services as lead_services
    from crm.sales import services as sales_services

    actor = system_actor(rule)
    owner = User.objects.filter(pk=action["user"], is_active=True).first()
    if actor is None or owner is None:
        return {"action": "change_owner", "skipped": "no active user"}
    if isinstance(record, Lead):
        lead_services.lead_update(actor=actor, lead=record, fields={"owner": owner})
    elif isinstance(record, Opportunity):
        sales_services.opportunity_update(actor=actor, opportunity=record, fields={"owner": owner})
    elif isinstance(record, Account):
        customer_services.account_update(actor=actor, account=record, fields={"owner": owner})
    return {"action": "change_owner", "user": owner.pk}


def _send_email(action, record) -> dict:
    to = record_email(record)
    if not to:
        return {"action": "send_email", "skipped": "no e-mail address"}
    subject, body = render(action["subject"], record), render(action["body"], record)
    owner = record_owner(record)
    reply_to = [owner.email] if owner is not None and owner.email else None

    def send() -> None:
        try:
            mail.EmailMessage(subject, body, to=[to], reply_to=reply_to).send()
        except Exception:
            logger.exception("automation e-mail to %s failed", to)

    # Sent only if the firing commits: a rolled-back firing sends nothing.
    transaction.on_commit(send)
    return {"action": "send_email", "to": to}


def run_actions(rule: AutomationRule, record: models.Model, *, now: datetime | None = None) -> list:
    now = now or timezone.now()
    zone = _company_zone()
    results: list[dict] = []
    for action in rule.actions:
        kind = action["type"]
        if kind == "create_activity":
            activity = _activity(rule, action, record, now, zone)
            if activity is None:
                results.append({"action": kind, "skipped": "no assignee"})
                continue
            activity.full_clean()
            activity.save()
            results.append({"action": kind, "activity": activity.pk})
        elif kind == "notify":
            notification = _notification(action, record)
            if notification is None:
                results.append({"action": kind, "skipped": "no recipient"})
                continue
            notification.save()
            results.append({"action": kind, "user": notification.user_id})
        elif kind == "change_owner":
            results.append(_change_owner(rule, action, record))
        elif kind == "send_email":
            results.append(_send_email(action, record))
    return results


# -- the event path --


def _load(rt: RecordType, object_id: int):
    return rt.model.objects.select_related(*rt.related).filter(pk=object_id).first()


def _matches(rule: AutomationRule, event) -> bool:
    if rule.trigger == Trigger.OPPORTUNITY_STAGE and rule.stage_id:
        return (event.data or {}).get("stage") == rule.stage_id
    return True


def _notify_stopped(rule: AutomationRule) -> None:
    """Tell the administrators, once per rule and day, that a chain was cut."""
    since = timezone.now() - timedelta(days=1)
    earlier = AutomationFiring.objects.filter(
        rule=rule, status=FiringStatus.STOPPED, fired_at__gte=since
    )
    if earlier.count() > 1:  # this firing is one of them
        return
    admins = User.objects.filter(is_active=True).filter(Q(role=Role.ADMIN) | Q(is_superuser=True))
    url = reverse("automation-rule-detail", args=[rule.pk])
    Notification.objects.bulk_create(
        [
            Notification(
                user=admin,
                title=(
                    _("Automation rule “%(name)s” stopped a chain of rules") % {"name": rule.name}
                )[:200],
                body=_(
                    "Its actions set off other rules, which set it off again, %(depth)d times in "
                    "a row. It was stopped there; check the rules that call each other."
                )
                % {"depth": MAX_DEPTH},
                url=url,
            )
            for admin in admins
        ]
    )


def fire(rule: AutomationRule, rt: RecordType, object_id: int, *, occurrence: str, depth: int):
    """Fire one rule for one record once: the log row first (unique), then the actions.

    Returns the firing, or None when this occurrence already fired. An action refused by a
    service (ValidationError, PermissionDenied) marks the firing failed and undoes the
    actions; any other error propagates, so the worker retries the whole event.
    """
    try:
        with transaction.atomic():
            firing = AutomationFiring.objects.create(
                rule=rule,
                trigger=rule.trigger,
                model=rt.label,
                object_id=object_id,
                occurrence=occurrence,
                depth=depth,
                status=FiringStatus.DONE,
            )
    except IntegrityError:
        return None
    if depth >= MAX_DEPTH:
        firing.status = FiringStatus.STOPPED
        firing.result = [{"error": "depth", "depth": depth}]
        firing.save(update_fields=["status", "result"])
        _notify_stopped(rule)
        return firing
    queryset = rt.model.objects.select_related(*rt.related).filter(pk=object_id)
    record = queryset.filter(conditions_q(rule.conditions, rt)).first()
    if record is None:
        firing.status = FiringStatus.SKIPPED
        firing.save(update_fields=["status"])
        return firing
    token = current_depth.set(depth + 1)
    try:
        with transaction.atomic():
            firing.result = run_actions(rule, record)
    except (ValidationError, PermissionDenied) as exc:
        firing.status = FiringStatus.FAILED
        messages = getattr(exc, "messages", None) or [str(exc) or exc.__class__.__name__]
        firing.result = [{"error": "; ".join(str(m) for m in messages)}]
    finally:
        current_depth.reset(token)
    firing.save(update_fields=["status", "result"])
    return firing


def handle_event(event) -> None:
    """The handler of domain events (crm.core.events): fire the active rules of its kind."""
    if event.kind not in Trigger.values or event.kind in TIME_TRIGGERS:
        return
    rules = [
        rule
        for rule in AutomationRule.objects.filter(is_active=True, trigger=event.kind)
        .select_related("created_by")
        .order_by("position", "id")
        if _matches(rule, event)
    ]
    for rule in rules:
        rt = record_type_for(trigger=rule.trigger)
        if rt is None or rt.label != event.model:
            continue
        fire(rule, rt, event.object_id, occurrence=f"event:{event.pk}", depth=event.depth)


# -- the periodic path --


@dataclass
class Candidates:
    queryset: models.QuerySet
    occurrence: Callable[[Any], str]


def _time_candidates(rule: AutomationRule, rt: RecordType, now: datetime, today: date):
    label = rt.label
    fired = AutomationFiring.objects.filter(rule=rule, model=label, object_id=OuterRef("pk"))
    qs = rt.model.objects.select_related(*rt.related)
    if rule.trigger == Trigger.OPPORTUNITY_IDLE:
        # The deal's last sign of life: its last stage change (or creation), or the last
        # activity about it created or changed.
        last_activity = (
            Activity.objects.filter(opportunity=OuterRef("pk"))
            .order_by()
            .values("opportunity")
            .annotate(last=Max("updated_at"))
            .values("last")
        )
        qs = (
            qs.filter(stage__kind=StageKind.OPEN)
            .annotate(
                touched=Greatest(
                    F("stage_changed_at"),
                    Coalesce(Subquery(last_activity), F("stage_changed_at")),
                )
            )
            .filter(touched__lt=now - timedelta(days=rule.days))
            # Once per idle period: not fired since the deal was last touched.
            .filter(~Exists(fired.filter(fired_at__gte=OuterRef("touched"))))
        )
        days = rule.days

        def occurrence(r):
            return f"idle:{timezone.localtime(r.touched + timedelta(days=days)).date()}"

        return Candidates(qs, occurrence)
    if rule.trigger == Trigger.QUOTE_EXPIRING:
        qs = qs.filter(
            status=QuoteStatus.SENT,
            valid_until__gte=today,
            valid_until__lte=today + timedelta(days=rule.days),
        ).filter(~Exists(fired))
        return Candidates(qs, lambda r: f"expiring:{r.valid_until}")
    if rule.trigger == Trigger.ACTIVITY_OVERDUE:
        qs = qs.filter(status=ActivityStatus.PENDING, due_at__lt=now).filter(
            ~Exists(fired.filter(fired_at__gte=OuterRef("due_at")))
        )
        return Candidates(
            qs, lambda r: f"overdue:{r.due_at.astimezone(ZoneInfo('UTC')).isoformat()}"
        )
    if rule.trigger == Trigger.DATE_REACHED:
        _label, name = DATE_FIELDS[rule.date_field]
        target = today - timedelta(days=rule.days or 0)
        occurrence_key = f"date:{target.isoformat()}"
        qs = qs.filter(**{name: target}).filter(~Exists(fired.filter(occurrence=occurrence_key)))
        if rt.model is Opportunity:
            qs = qs.filter(stage__kind=StageKind.OPEN)
        if rt.model is Quote:
            qs = qs.filter(status=QuoteStatus.SENT)
        return Candidates(qs, lambda r: occurrence_key)
    raise ValueError(rule.trigger)


def time_rule_candidates(rule: AutomationRule, *, now: datetime | None = None):
    """The records that would fire this time rule now (a queryset), for the benchmark and
    the rule's page."""
    now = now or timezone.now()
    rt = record_type_for(trigger=rule.trigger, date_field=rule.date_field)
    today = now.astimezone(_company_zone()).date()
    found = _time_candidates(rule, rt, now, today)
    return found.queryset.filter(conditions_q(rule.conditions, rt))


# What each placeholder namespace, the manager and the e-mail need loaded, per record type.
_RELATED = {
    "leads.lead": {"email": []},
    "sales.opportunity": {
        "account": ["account"],
        "contact": ["contact"],
        "stage": ["stage"],
        "email": ["contact", "account"],
    },
    "sales.quote": {
        "": ["opportunity"],
        "account": ["opportunity__account"],
        "contact": ["contact", "opportunity__contact"],
        "stage": ["opportunity__stage"],
        "email": ["contact", "opportunity__contact", "opportunity__account"],
    },
    "customers.account": {"email": []},
    "activities.activity": {"email": ["contact", "lead"]},
}

# The columns of the record itself that the cycle always needs (ids for links and owner, the
# dates of the occurrences); the placeholders add theirs.
_COLUMNS = {
    "leads.lead": ["owner"],
    "sales.opportunity": ["owner", "account", "contact", "stage_changed_at"],
    "customers.account": ["owner"],
    "activities.activity": [
        "assignee",
        "lead",
        "account",
        "contact",
        "opportunity",
        "quote",
        "due_at",
    ],
}


def columns_for(rule: AutomationRule, rt: RecordType) -> list[str] | None:
    """The record's columns this rule reads, or None for all (quotes, rules that call
    services)."""
    base = _COLUMNS.get(rt.label)
    if base is None or any(a["type"] in ("change_owner", "send_email") for a in rule.actions):
        return None
    columns = set(base) | set(related_for(rule, rt))
    if rule.trigger == Trigger.DATE_REACHED:
        columns.add(DATE_FIELDS[rule.date_field][1])
    for action in rule.actions:
        for key in ("subject", "description", "title", "body"):
            for match in _PLACEHOLDER.finditer(action.get(key) or ""):
                ns, _dot, attr = match.group(1).strip().partition(".")
                if ns == rt.name:
                    columns.add(attr)
    return sorted(columns)


def related_for(rule: AutomationRule, rt: RecordType) -> list[str]:
    """Only the relations this rule's actions read: a cycle over thousands of records loads
    no more than it needs."""
    table = _RELATED[rt.label]
    needed = set(table.get("", []))
    for action in rule.actions:
        for key in ("subject", "description", "title", "body"):
            for match in _PLACEHOLDER.finditer(action.get(key) or ""):
                ns, _dot, attr = match.group(1).strip().partition(".")
                if ns != "owner":
                    needed.update(table.get(ns, []))
                if attr == "stage":
                    needed.update(table.get("stage", []))
        if action["type"] == "send_email":
            needed.update(table["email"])
        if action["type"] == "change_owner":
            return list(rt.related)
    return sorted(needed)


@transaction.atomic
def run_time_rule(rule: AutomationRule, *, now: datetime) -> int:
    """One time rule, in one transaction: find, log, act. Returns how many records fired."""
    rt = record_type_for(trigger=rule.trigger, date_field=rule.date_field)
    if rt is None:
        return 0
    zone = _company_zone()
    today = now.astimezone(zone).date()
    found = _time_candidates(rule, rt, now, today)
    queryset = found.queryset.select_related(None).select_related(*related_for(rule, rt))
    columns = columns_for(rule, rt)
    if columns is not None:
        queryset = queryset.only(*columns)
    records = list(queryset.filter(conditions_q(rule.conditions, rt)))
    if not records:
        return 0
    owner_ids = {_owner_id(record) for record in records} - {None}
    named = {a["user"] for a in rule.actions if a.get("user")}
    # The users the actions name and the records' owners, read once.
    users = User.objects.filter(is_active=True).select_related("team__manager").in_bulk(named)
    owners = User.objects.select_related("team__manager").in_bulk(owner_ids)
    tokens = (_USERS.set(users), _OWNERS.set(owners), current_depth.set(1))
    try:
        return _fire_in_bulk(rule, rt, records, found.occurrence, now, zone)
    finally:
        _USERS.reset(tokens[0])
        _OWNERS.reset(tokens[1])
        current_depth.reset(tokens[2])


ACTIVITY_COLUMNS = (
    "kind",
    "subject",
    "description",
    "due_at",
    "all_day",
    "duration_minutes",
    "priority",
    "assignee_id",
    "status",
    "outcome",
    "completed_at",
    "lead_id",
    "account_id",
    "contact_id",
    "opportunity_id",
    "quote_id",
    "follows_id",
    "automation_rule_id",
    "created_by_id",
    "created_at",
    "updated_at",
)
ACTIVITY_DEFAULTS = {
    "all_day": False,
    "duration_minutes": None,
    "status": ActivityStatus.PENDING.value,
    "outcome": "",
    "completed_at": None,
    "lead_id": None,
    "account_id": None,
    "contact_id": None,
    "opportunity_id": None,
    "quote_id": None,
    "follows_id": None,
    "created_by_id": None,
}
FIRING_COLUMNS = (
    "rule_id",
    "trigger",
    "model",
    "object_id",
    "occurrence",
    "depth",
    "status",
    "result",
    "fired_at",
)
NOTIFICATION_COLUMNS = ("user_id", "title", "body", "url", "created_at", "read_at")


def fast_insert(model: type[models.Model], columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert plain rows: COPY on PostgreSQL, one executemany elsewhere. The values are built
    by this module in their stored shape; the database checks the constraints (a firing
    inserted twice breaks the unique key and rolls the rule's transaction back)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    by_attname = {field.attname: field for field in model._meta.concrete_fields}
    fields = [by_attname[name] for name in columns]
    names = ", ".join(quote(field.column) for field in fields)
    table = quote(model._meta.db_table)
    json_columns = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # noqa: S608
                for row in rows:
                    if json_columns:
                        row = list(row)
                        for i in json_columns:
                            row[i] = json.dumps(row[i])
                    copy.write_row(row)
            return
        adapt = connection.ops.adapt_datetimefield_value
        prepared = []
        for row in rows:
            values = []
            for i, value in enumerate(row):
                if i in json_columns:
                    value = json.dumps(value)
                elif isinstance(value, datetime):
                    value = adapt(value)
                values.append(value)
            prepared.append(values)
        placeholders = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders})", prepared)  # noqa: S608


def _fire_in_bulk(rule, rt, records, occurrence, now, zone) -> int:
    """Log the firings first (unique per occurrence), then act, all in bulk."""
    planned = [{"action": a["type"]} for a in rule.actions]
    fired_at = timezone.now()
    fast_insert(
        AutomationFiring,
        FIRING_COLUMNS,
        [
            (
                rule.pk,
                rule.trigger,
                rt.label,
                record.pk,
                occurrence(record),
                0,
                FiringStatus.DONE.value,
                planned,
                fired_at,
            )
            for record in records
        ],
    )
    activities, notifications = [], []
    dues = {
        index: due_at(action, now, zone)
        for index, action in enumerate(rule.actions)
        if action["type"] == "create_activity"
    }
    for record in records:
        for index, action in enumerate(rule.actions):
            kind = action["type"]
            if kind == "create_activity":
                values = _activity_values(rule, action, record, now, zone, due=dues[index])
                if values is not None:
                    values = {**ACTIVITY_DEFAULTS, **values, "created_at": fired_at}
                    values["updated_at"] = fired_at
                    activities.append(tuple(values[name] for name in ACTIVITY_COLUMNS))
            elif kind == "notify":
                notification = _notification(action, record)
                if notification is not None:
                    notifications.append(
                        (
                            notification.user_id,
                            notification.title,
                            notification.body,
                            notification.url,
                            fired_at,
                            None,
                        )
                    )
            elif kind == "change_owner":
                _change_owner(rule, action, record)
            elif kind == "send_email":
                _send_email(action, record)
    fast_insert(Activity, ACTIVITY_COLUMNS, activities)
    fast_insert(Notification, NOTIFICATION_COLUMNS, notifications)
    return len(records)


def run_time_rules(now: datetime | None = None) -> dict[int, int]:
    """One cycle of every active time rule; safe to run twice (fires once per occurrence)."""
    now = now or timezone.now()
    fired = {}
    rules = AutomationRule.objects.filter(is_active=True, trigger__in=TIME_TRIGGERS)
    for rule in rules.select_related("created_by").order_by("position", "id"):
        fired[rule.pk] = run_time_rule(rule, now=now)
    return fired


# -- reading the log --


def firings_for_record(record: models.Model) -> models.QuerySet:
    return AutomationFiring.objects.filter(
        model=record._meta.label_lower, object_id=record.pk
    ).select_related("rule")
