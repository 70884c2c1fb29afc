"""Everything that changes leads, their assignment rules, settings and web forms.

Views, the API, the import, the web form and tasks call these. The import (crm.leads.imports)
cleans each row with `lead_clean_fields` and assigns owners with the same `Assigner`, so a lead
obeys one set of rules whichever way it arrives.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.core.events import record_event
from crm.core.models import PROVINCES, Channel
from crm.core.services import position_move
from crm.core.text import fold
from crm.core.validation import normalize_nif, normalize_phone
from crm.customers import services as customer_services
from crm.customers.models import Account, AccountEvent, AccountKind, Contact, EventKind
from crm.customers.services import DuplicatesFound
from crm.leads.assignment import Assignment, assign_one, preview
from crm.leads.models import (
    AssignmentRule,
    AssignmentTarget,
    DisqualifyReason,
    Lead,
    LeadEvent,
    LeadEventKind,
    LeadSettings,
    LeadStatus,
    WebForm,
)
from crm.leads.selectors import find_lead_duplicates, lead_assignable_owners
from crm.sales import services as sales_services
from crm.sales.models import Opportunity
from crm.users.models import User

logger = logging.getLogger(__name__)

LEAD_FIELDS = {
    "first_name",
    "last_name",
    "company",
    "position",
    "email",
    "phone",
    "mobile",
    "nif",
    "province",
    "city",
    "sector",
    "size_segment",
    "channel",
    "campaign",
    "products_of_interest",
    "score",
    "owner",
    "notes",
}
# Fields a person fills in; status, owner and the conversion links move through their own services.
TEXT_LIMITS = {
    f.name: f.max_length
    for f in Lead._meta.get_fields()
    if getattr(f, "max_length", None) and f.name in LEAD_FIELDS
}
_validate_email = EmailValidator()
_PROVINCE_CODES = {code for code, _name in PROVINCES}


def channel_named(name: str) -> Channel | None:
    """The configured channel with this name, folded ("importacion" finds "Importación")."""
    wanted = fold(name)
    for channel in Channel.objects.filter(is_active=True):
        if fold(channel.name) == wanted:
            return channel
    return None


def lead_clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Give a lead's typed values their stored shape, collecting every field's error.

    NIF compact and checked, phones as E.164, e-mail lower-case and checked, texts trimmed and
    within their length, score 0-100, a name (person or company). Used for every lead that is
    written, whether typed, imported, posted by the web form or sent through the API.
    """
    errors: dict[str, list] = {}
    clean = dict(fields)
    for name, value in fields.items():
        try:
            if name == "nif":
                clean[name] = normalize_nif(value)
            elif name in ("phone", "mobile"):
                clean[name] = normalize_phone(value)
            elif name == "email":
                clean[name] = (value or "").strip().lower()
                if clean[name]:
                    _validate_email(clean[name])
            elif name == "score":
                clean[name] = _score(value)
            elif name == "province":
                clean[name] = (value or "").strip()
                if clean[name] and clean[name] not in _PROVINCE_CODES:
                    raise ValidationError(_("Unknown province."))
            elif isinstance(value, str):
                clean[name] = value.strip()
                limit = TEXT_LIMITS.get(name)
                if limit and len(clean[name]) > limit:
                    raise ValidationError(
                        _("At most %(limit)d characters (it has %(length)d).")
                        % {"limit": limit, "length": len(clean[name])}
                    )
        except ValidationError as exc:
            errors[name] = exc.error_list
    if errors:
        raise ValidationError(errors)
    return clean


def _score(value) -> int:
    if value in (None, ""):
        return 0
    try:
        score = int(Decimal(str(value).strip().replace(",", ".")))
    except (ArithmeticError, ValueError) as exc:
        raise ValidationError(_("The score is a whole number from 0 to 100.")) from exc
    if not 0 <= score <= 100:
        raise ValidationError(_("The score is a whole number from 0 to 100."))
    return score


def _check_name(lead: Lead) -> None:
    if not (lead.first_name or lead.last_name or lead.company):
        raise ValidationError({"first_name": _("Give the person's name or the company's.")})


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - LEAD_FIELDS
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")


def _manages(actor: User, lead: Lead) -> bool:
    if not actor.is_manager:
        return False
    team_ids = actor.scope_team_ids()
    owner_team = lead.owner.team_id if lead.owner_id else None
    return lead.owner_id is None or lead.team_id in team_ids or owner_team in team_ids


def lead_can_manage(*, actor: User, lead: Lead) -> bool:
    """Admins, the lead's owner and the managers of its team may reassign or delete it."""
    return actor.is_admin or lead.owner_id == actor.pk or _manages(actor, lead)


def _check_owner(*, actor: User, owner: User | None, lead: Lead | None = None) -> None:
    if lead is not None and not lead_can_manage(actor=actor, lead=lead):
        raise ValidationError({"owner": _("Only its owner or their manager can reassign it.")})
    if owner is None:
        return
    if not lead_assignable_owners(actor=actor).filter(pk=owner.pk).exists():
        if not owner.is_active:
            raise ValidationError({"owner": _("A deactivated user cannot own records.")})
        raise ValidationError({"owner": _("You cannot give this record to that user.")})


def _display(lead: Lead, name: str) -> str:
    field = lead._meta.get_field(name)
    value = getattr(lead, name)
    if field.choices:
        return str(getattr(lead, f"get_{name}_display")())
    if value is None or value == "":
        return ""
    return str(value)


def _apply(lead: Lead, fields: dict[str, Any]) -> dict[str, list[str]]:
    changes: dict[str, list[str]] = {}
    for name, value in fields.items():
        if getattr(lead, name) != value:
            old = _display(lead, name)
            setattr(lead, name, value)
            changes[name] = [old, _display(lead, name)]
    return changes


def _check_duplicates(*, actor: User, lead: Lead, exclude_lead_id: int | None = None) -> None:
    duplicates = find_lead_duplicates(
        user=actor,
        nif=lead.nif,
        emails=(lead.email,),
        phones=(lead.phone, lead.mobile),
        exclude_lead_id=exclude_lead_id,
    )
    if duplicates:
        raise DuplicatesFound(duplicates)


@transaction.atomic
def lead_create(
    *,
    actor: User | None,
    fields: dict[str, Any],
    allow_duplicates: bool = False,
    web_form: WebForm | None = None,
) -> Lead:
    """Create a lead. Without an owner the assignment rules choose one (then the fallback).

    `actor` is None for the public web form. Raises ValidationError with field errors and
    DuplicatesFound when a lead, account or contact has the same NIF, e-mail or phone.
    """
    _check_fields(fields)
    fields = lead_clean_fields(fields)
    owner = fields.pop("owner", None)
    lead = Lead(**fields, created_by=actor, updated_by=actor, web_form=web_form)
    _check_name(lead)
    if owner is not None:
        _check_owner(actor=actor, owner=owner)
        lead.owner = owner
        lead.team_id = owner.team_id
    else:
        assign_one(lead)
    lead.refresh_search_text()
    lead.full_clean(exclude=["owner"])
    if not allow_duplicates and actor is not None:
        _check_duplicates(actor=actor, lead=lead)
    lead.save()
    record_event("lead.created", lead, actor=actor)
    if lead.owner_id:
        record_event("lead.assigned", lead, actor=actor, owner=lead.owner_id)
    return lead


def _check_editable(lead: Lead) -> None:
    if lead.is_converted:
        raise ValidationError(_("A converted lead cannot be changed."))


@transaction.atomic
def lead_update(*, actor: User, lead: Lead, fields: dict[str, Any]) -> Lead:
    """Change a lead the actor can see, recording who changed what on its timeline."""
    _check_editable(lead)
    _check_fields(fields)
    fields = lead_clean_fields(fields)
    if "owner" in fields and fields["owner"] != lead.owner:
        if fields["owner"] is None:
            raise ValidationError({"owner": _("Choose who owns the lead.")})
        _check_owner(actor=actor, owner=fields["owner"], lead=lead)
        lead.team_id = fields["owner"].team_id
    changes = _apply(lead, fields)
    if not changes:
        return lead
    _check_name(lead)
    lead.updated_by = actor
    lead.refresh_search_text()
    lead.full_clean()
    lead.save()
    kind = LeadEventKind.ASSIGNED if set(changes) == {"owner"} else LeadEventKind.UPDATED
    LeadEvent.objects.create(lead=lead, kind=kind, actor=actor, changes=changes)
    if "owner" in changes:
        record_event("lead.assigned", lead, actor=actor, owner=lead.owner_id)
    return lead


@transaction.atomic
def lead_note_add(*, actor: User, lead: Lead, body: str) -> LeadEvent:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write the note before saving it.")})
    return LeadEvent.objects.create(lead=lead, kind=LeadEventKind.NOTE, actor=actor, body=body)


@transaction.atomic
def lead_change_status(
    *,
    actor: User,
    lead: Lead,
    status: str,
    reason: DisqualifyReason | None = None,
    note: str = "",
) -> Lead:
    """Move a lead between new, contacted, qualified and disqualified (which needs a reason).

    Converting has its own service, `lead_convert`.
    """
    _check_editable(lead)
    if status == LeadStatus.CONVERTED or status not in LeadStatus.values:
        raise ValidationError({"status": _("Choose new, contacted, qualified or disqualified.")})
    if status == LeadStatus.DISQUALIFIED and reason is None:
        raise ValidationError({"reason": _("Say why the lead is disqualified.")})
    new_reason = reason if status == LeadStatus.DISQUALIFIED else None
    if lead.status == status and lead.disqualify_reason == new_reason:
        return lead
    previous = lead.status
    changes = _apply(lead, {"status": status, "disqualify_reason": new_reason})
    lead.updated_by = actor
    lead.save(update_fields=["status", "disqualify_reason", "updated_by", "updated_at"])
    LeadEvent.objects.create(
        lead=lead, kind=LeadEventKind.STATUS, actor=actor, changes=changes, body=note.strip()
    )
    if previous != status:
        record_event("lead.status_changed", lead, actor=actor, **{"from": previous, "to": status})
    return lead


def lead_can_delete(*, actor: User, lead: Lead) -> bool:
    return lead_can_manage(actor=actor, lead=lead)


@transaction.atomic
def lead_delete(*, actor: User, lead: Lead) -> None:
    """Delete a lead with its timeline (a mistake, or a GDPR erasure request)."""
    if not lead_can_delete(actor=actor, lead=lead):
        raise PermissionDenied
    logger.info("lead %s deleted by user %s", lead.pk, actor.pk)
    lead.delete()


# -- bulk actions: all or nothing --


@dataclass
class BulkResult:
    changed: int
    refused: int  # leads the actor may not change this way (converted, not theirs to give)


@transaction.atomic
def lead_bulk_assign(*, actor: User, leads: QuerySet[Lead], owner: User) -> BulkResult:
    """Give the chosen visible leads to one owner; leads the actor may not reassign are left."""
    _check_owner(actor=actor, owner=owner)
    changed = refused = 0
    for lead in leads.select_related("owner").select_for_update(of=("self",)):
        if lead.is_converted or not lead_can_manage(actor=actor, lead=lead):
            refused += 1
            continue
        if lead.owner_id != owner.pk:
            lead_update(actor=actor, lead=lead, fields={"owner": owner})
            changed += 1
    return BulkResult(changed=changed, refused=refused)


@transaction.atomic
def lead_bulk_change_status(
    *, actor: User, leads: QuerySet[Lead], status: str, reason: DisqualifyReason | None = None
) -> BulkResult:
    changed = refused = 0
    for lead in leads.select_for_update(of=("self",)):
        if lead.is_converted:
            refused += 1
            continue
        if lead.status != status:
            lead_change_status(actor=actor, lead=lead, status=status, reason=reason)
            changed += 1
    return BulkResult(changed=changed, refused=refused)


@transaction.atomic
def lead_bulk_delete(*, actor: User, leads: QuerySet[Lead]) -> BulkResult:
    deletable = [
        lead.pk for lead in leads.select_related("owner") if lead_can_delete(actor=actor, lead=lead)
    ]
    total = leads.count()
    Lead.objects.filter(pk__in=deletable).delete()
    logger.info("%s leads deleted by user %s", len(deletable), actor.pk)
    return BulkResult(changed=len(deletable), refused=total - len(deletable))


# -- conversion --


@dataclass
class Conversion:
    account: Account
    contact: Contact | None
    opportunity: Opportunity | None


def _account_fields(lead: Lead, owner: User) -> dict[str, Any]:
    return {
        "kind": AccountKind.COMPANY if lead.company else AccountKind.INDIVIDUAL,
        "name": lead.company or lead.person_name,
        "nif": lead.nif,
        "email": lead.email,
        "phone": lead.phone or lead.mobile,
        "billing_city": lead.city,
        "billing_province": lead.province,
        "sector": lead.sector,
        "size_segment": lead.size_segment,
        "channel": lead.channel,
        "owner": owner,
        "notes": lead.notes,
    }


def _contact_fields(lead: Lead) -> dict[str, Any]:
    first, last = lead.first_name, lead.last_name
    if not first:
        first, last = last, ""
    return {
        "first_name": first,
        "last_name": last,
        "position": lead.position,
        "email": lead.email,
        "phone": lead.phone,
        "mobile": lead.mobile,
    }


def _copy_history(lead: Lead, account: Account, contact: Contact | None, actor: User) -> None:
    """The lead's timeline becomes part of the account's, with its original times."""
    origin = _("Lead created")
    if lead.lead_import_id:
        origin = _("Lead imported from %(file)s") % {"file": lead.lead_import.filename}
    elif lead.web_form_id:
        origin = _("Lead received through the web form %(form)s") % {"form": lead.web_form.name}
    rows = [
        AccountEvent(
            account=account,
            kind=EventKind.LEAD_HISTORY,
            actor=lead.created_by,
            created_at=lead.created_at,
            body=origin,
        )
    ]
    for event in lead.events.order_by("created_at", "id"):
        title = str(event.get_kind_display())
        rows.append(
            AccountEvent(
                account=account,
                kind=EventKind.LEAD_HISTORY,
                actor=event.actor,
                created_at=event.created_at,
                changes=event.changes,
                body=f"{title}: {event.body}" if event.body else title,
            )
        )
    rows.append(
        AccountEvent(
            account=account,
            contact=contact,
            kind=EventKind.LEAD_CONVERTED,
            actor=actor,
            body=lead.display_name,
        )
    )
    AccountEvent.objects.bulk_create(rows)


@transaction.atomic
def lead_convert(
    *,
    actor: User,
    lead: Lead,
    account: Account | None = None,
    create_contact: bool = True,
    create_opportunity: bool = False,
    opportunity_title: str = "",
    opportunity_amount: Decimal | None = None,
    expected_close_date: date | None = None,
) -> Conversion:
    """Turn a lead into an account (or attach it to an existing, visible one), a contact and
    optionally an opportunity, in one transaction. The lead keeps its data, becomes read-only
    and links to what it became; its history is copied onto the account's timeline."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.is_converted:
        raise ValidationError(_("This lead has already been converted."))
    if lead.status == LeadStatus.DISQUALIFIED:
        raise ValidationError(_("A disqualified lead cannot be converted; reopen it first."))
    owner = lead.owner if lead.owner and lead.owner.is_active else actor
    if account is None:
        account = customer_services.account_create(
            actor=actor, fields=_account_fields(lead, owner), allow_duplicates=True
        )
    elif not Account.objects.visible_to(actor).filter(pk=account.pk).exists():
        raise PermissionDenied
    contact = None
    if create_contact and lead.person_name:
        contact = customer_services.contact_create(
            actor=actor, account=account, fields=_contact_fields(lead), allow_duplicates=True
        )
    opportunity = None
    if create_opportunity:
        opportunity = sales_services.opportunity_create(
            actor=actor,
            fields={
                "title": opportunity_title.strip()
                or lead.products_of_interest
                or _("Deal with %(name)s") % {"name": account.name},
                "account": account,
                "contact": contact,
                "owner": owner,
                "channel": lead.channel,
                "amount": opportunity_amount,
                "expected_close_date": expected_close_date,
                "products_of_interest": lead.products_of_interest,
            },
        )
    _copy_history(lead, account, contact, actor)
    lead.status = LeadStatus.CONVERTED
    lead.converted_account = account
    lead.converted_contact = contact
    lead.converted_opportunity = opportunity
    lead.converted_at = timezone.now()
    lead.updated_by = actor
    lead.save()
    LeadEvent.objects.create(
        lead=lead, kind=LeadEventKind.CONVERTED, actor=actor, body=account.name
    )
    return Conversion(account=account, contact=contact, opportunity=opportunity)


# -- assignment rules and settings (administrators) --

RULE_FIELDS = {
    "name",
    "is_active",
    "provinces",
    "size_segments",
    "min_score",
    "product_contains",
    "text_contains",
    "target",
    "target_user",
    "target_team",
}


def _check_admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied


@transaction.atomic
def assignment_rule_save(
    *,
    actor: User,
    fields: dict[str, Any],
    channels: Iterable[Channel] = (),
    sectors: Iterable = (),
    rule: AssignmentRule | None = None,
) -> AssignmentRule:
    """Create or change an assignment rule; a new one goes to the end of the list."""
    _check_admin(actor)
    unknown = set(fields) - RULE_FIELDS
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")
    if rule is None:
        last = AssignmentRule.objects.order_by("-position").values_list("position", flat=True)
        rule = AssignmentRule(position=(last.first() or 0) + 1)
    for name, value in fields.items():
        setattr(rule, name, value)
    if rule.target == AssignmentTarget.USER:
        rule.target_team = None
        if rule.target_user is None:
            raise ValidationError({"target_user": _("Choose the user who gets the leads.")})
        if not rule.target_user.is_active:
            raise ValidationError({"target_user": _("A deactivated user cannot own records.")})
    else:
        rule.target_user = None
        if rule.target_team is None:
            raise ValidationError({"target_team": _("Choose the team whose members get them.")})
    rule.full_clean()
    rule.save()
    rule.channels.set(channels)
    rule.sectors.set(sectors)
    return rule


@transaction.atomic
def assignment_rule_delete(*, actor: User, rule: AssignmentRule) -> None:
    _check_admin(actor)
    rule.delete()


@transaction.atomic
def assignment_rule_move(*, actor: User, rule: AssignmentRule, offset: int) -> None:
    """Move a rule up (-1) or down (+1) in the order in which rules are tried."""
    _check_admin(actor)
    rules = list(AssignmentRule.objects.select_for_update().order_by("position", "id"))
    position_move(rules, pk=rule.pk, offset=offset)


@transaction.atomic
def lead_settings_update(*, actor: User, fallback_owner: User | None) -> LeadSettings:
    _check_admin(actor)
    if fallback_owner is not None and not fallback_owner.is_active:
        raise ValidationError({"fallback_owner": _("A deactivated user cannot own records.")})
    settings, _created = LeadSettings.objects.get_or_create(pk=LeadSettings.SINGLETON_ID)
    settings.fallback_owner = fallback_owner
    settings.save()
    return settings


def assignment_preview(*, fields: dict[str, Any]) -> Assignment:
    """Which rule would take a sample lead, and whom it would go to, changing nothing."""
    clean = lead_clean_fields({k: v for k, v in fields.items() if k in LEAD_FIELDS})
    clean.pop("owner", None)
    return preview(Lead(**clean))


# -- web-to-lead --

WEB_FORM_SETTINGS = {
    "name",
    "is_active",
    "fields",
    "channel",
    "campaign",
    "title",
    "thank_you_message",
    "redirect_url",
}
OPTIONAL_FORM_FIELDS = {name for name, _label in WebForm.OPTIONAL_FIELDS}


@transaction.atomic
def web_form_save(
    *, actor: User, fields: dict[str, Any], web_form: WebForm | None = None
) -> WebForm:
    """Create or change a public lead form (administrators)."""
    _check_admin(actor)
    unknown = set(fields) - WEB_FORM_SETTINGS
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")
    if web_form is None:
        web_form = WebForm(channel=channel_named("Web"))
    for name, value in fields.items():
        setattr(web_form, name, value)
    web_form.fields = [name for name in web_form.fields if name in OPTIONAL_FORM_FIELDS]
    web_form.full_clean()
    web_form.save()
    return web_form


@transaction.atomic
def web_form_delete(*, actor: User, web_form: WebForm) -> None:
    _check_admin(actor)
    web_form.delete()


@transaction.atomic
def web_form_submit(*, web_form: WebForm, data: dict[str, str]) -> Lead:
    """A visitor's submission: a lead with the form's channel and campaign, its owner chosen
    by the assignment rules. Only the fields the form shows are taken."""
    if not web_form.is_active:
        raise PermissionDenied
    allowed = {"first_name", "last_name", "email"} | set(web_form.fields)
    fields = {name: (data.get(name) or "").strip() for name in allowed}
    message = fields.pop("message", "")
    errors = {}
    if not fields["first_name"]:
        errors["first_name"] = _("Tell us your name.")
    if not fields["email"] and not fields.get("phone"):
        errors["email"] = _("Give an e-mail or a phone so that we can answer you.")
    if errors:
        raise ValidationError(errors)
    fields.update(channel=web_form.channel, campaign=web_form.campaign, notes=message)
    return lead_create(actor=None, fields=fields, web_form=web_form)
