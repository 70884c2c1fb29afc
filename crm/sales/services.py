"""Everything that changes deals, the catalog and quotes. Views, the API, lead conversion and
tasks call these; none of them saves a sales object itself."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.core.events import record_event
from crm.customers import services as customer_services
from crm.customers.models import Account, Lifecycle
from crm.customers.selectors import account_assignable_owners
from crm.sales import money
from crm.sales.models import (
    LostReason,
    Opportunity,
    OpportunityEvent,
    OpportunityEventKind,
    Pipeline,
    Product,
    Quote,
    QuoteSequence,
    Stage,
    StageChange,
    StageKind,
)
from crm.users.models import User

OPPORTUNITY_FIELDS = {
    "title",
    "account",
    "contact",
    "owner",
    "channel",
    "amount",
    "expected_close_date",
    "probability",
    "next_step",
    "products_of_interest",
}


class Conflict(Exception):
    """Someone else saved the record after it was read: the caller shows their version."""

    def __init__(self, current):
        super().__init__("conflict")
        self.current = current


def default_pipeline() -> Pipeline:
    pipeline = Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.first()
    if pipeline is None:
        raise ValidationError(_("There is no sales pipeline; an administrator must create one."))
    return pipeline


def first_open_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(kind=StageKind.OPEN, is_active=True).order_by("position").first()
    if stage is None:
        raise ValidationError(_("The pipeline %(name)s has no open stage.") % {"name": pipeline})
    return stage


def _check_fields(fields: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")


def _manages(actor: User, opportunity: Opportunity) -> bool:
    if not actor.is_manager:
        return False
    team_ids = actor.scope_team_ids()
    return opportunity.team_id in team_ids or opportunity.owner.team_id in team_ids


def opportunity_can_manage(*, actor: User, opportunity: Opportunity) -> bool:
    """Admins, the deal's owner and their managers may reassign or delete it."""
    return actor.is_admin or opportunity.owner_id == actor.pk or _manages(actor, opportunity)


def _check_owner(*, actor: User, owner: User, opportunity: Opportunity | None = None) -> None:
    if opportunity is not None and not opportunity_can_manage(actor=actor, opportunity=opportunity):
        raise ValidationError({"owner": _("Only its owner or their manager can reassign it.")})
    if not account_assignable_owners(actor=actor).filter(pk=owner.pk).exists():
        if not owner.is_active:
            raise ValidationError({"owner": _("A deactivated user cannot own records.")})
        raise ValidationError({"owner": _("You cannot give this record to that user.")})


def _display(opportunity: Opportunity, name: str) -> str:
    value = getattr(opportunity, name)
    if value is None or value == "":
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


@transaction.atomic
def opportunity_create(
    *,
    actor: User,
    fields: dict[str, Any],
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
) -> Opportunity:
    """Open a deal with an account, in the first open stage of the (default) pipeline unless
    one is named. Its owner defaults to the account's, its team follows the owner."""
    _check_fields(fields, OPPORTUNITY_FIELDS)
    fields = dict(fields)
    account: Account = fields["account"]
    if not Account.objects.visible_to(actor).filter(pk=account.pk).exists():
        raise PermissionDenied
    owner = fields.setdefault("owner", account.owner)
    if owner != actor:
        _check_owner(actor=actor, owner=owner)
    contact = fields.get("contact")
    if contact is not None and contact.account_id != account.pk:
        raise ValidationError({"contact": _("The contact is not a person of this account.")})
    pipeline = pipeline or (stage.pipeline if stage else default_pipeline())
    stage = stage or first_open_stage(pipeline)
    if stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": _("The stage is not in this pipeline.")})
    overridden = fields.get("probability") is not None
    if not overridden:
        fields["probability"] = stage.probability
    now = timezone.now()
    opportunity = Opportunity(
        **fields,
        pipeline=pipeline,
        stage=stage,
        team=owner.team,
        probability_overridden=overridden,
        stage_changed_at=now,
        furthest_stage=stage if stage.is_open else None,
        # A deal entered already won or lost is closed now, like one moved there.
        closed_at=None if stage.is_open else now,
        created_by=actor,
        updated_by=actor,
    )
    opportunity.refresh_search_text()
    opportunity.full_clean()
    opportunity.save()
    StageChange.objects.create(
        opportunity=opportunity, from_stage=None, to_stage=stage, actor=actor, changed_at=now
    )
    OpportunityEvent.objects.create(
        opportunity=opportunity, kind=OpportunityEventKind.CREATED, actor=actor
    )
    record_event("opportunity.created", opportunity, actor=actor)
    return opportunity


def _lock(opportunity: Opportunity, expected_version: int | None) -> Opportunity:
    """The stored row under a lock; a stale version (someone saved meanwhile) is a conflict."""
    current = (
        Opportunity.objects.select_for_update(of=("self",))
        .select_related("stage", "owner", "account", "furthest_stage")
        .get(pk=opportunity.pk)
    )
    if expected_version is not None and current.version != expected_version:
        raise Conflict(current)
    return current


def _save(opportunity: Opportunity, actor: User) -> None:
    opportunity.updated_by = actor
    opportunity.version = F("version") + 1
    opportunity.refresh_search_text()
    opportunity.save()
    opportunity.refresh_from_db(fields=["version"])


@transaction.atomic
def opportunity_update(
    *,
    actor: User,
    opportunity: Opportunity,
    fields: dict[str, Any],
    expected_version: int | None = None,
) -> Opportunity:
    """Change a deal's data (not its stage: `opportunity_move`). With `expected_version`, a save
    based on a stale read raises Conflict instead of overwriting someone else's change."""
    _check_fields(fields, OPPORTUNITY_FIELDS - {"account"})
    current = _lock(opportunity, expected_version)
    if "owner" in fields and fields["owner"] != current.owner:
        _check_owner(actor=actor, owner=fields["owner"], opportunity=current)
        current.team = fields["owner"].team
    contact = fields.get("contact")
    if contact is not None and contact.account_id != current.account_id:
        raise ValidationError({"contact": _("The contact is not a person of this account.")})
    if "probability" in fields:
        if fields["probability"] is None:
            fields["probability"] = current.stage.probability
            current.probability_overridden = False
        elif fields["probability"] != current.probability:
            current.probability_overridden = True
    changes = {}
    for name, value in fields.items():
        if getattr(current, name) != value:
            old = _display(current, name)
            setattr(current, name, value)
            changes[name] = [old, _display(current, name)]
    if not changes:
        return current
    if isinstance(current.title, str):
        current.title = current.title.strip()
    current.full_clean()
    _save(current, actor)
    OpportunityEvent.objects.create(
        opportunity=current, kind=OpportunityEventKind.UPDATED, actor=actor, changes=changes
    )
    return current


@transaction.atomic
def opportunity_move(
    *,
    actor: User,
    opportunity: Opportunity,
    stage: Stage,
    lost_reason: LostReason | None = None,
    lost_note: str = "",
    expected_version: int | None = None,
) -> Opportunity:
    """Move a deal to another stage of its pipeline, recording the move for reports.

    A lost or cancelled stage needs a reason; a won stage makes the account a customer; the
    probability follows the stage unless someone typed one for this deal (closing resets it).
    """
    current = _lock(opportunity, expected_version)
    if stage.pipeline_id != current.pipeline_id:
        raise ValidationError({"stage": _("The stage is not in this deal's pipeline.")})
    if stage.pk == current.stage_id:
        return current
    if stage.is_lost and lost_reason is None:
        raise ValidationError({"lost_reason": _("Say why the deal was lost or cancelled.")})
    previous = current.stage
    now = timezone.now()
    current.stage = stage
    current.stage_changed_at = now
    if not stage.is_open or not current.probability_overridden:
        current.probability = stage.probability
        current.probability_overridden = False
    current.lost_reason = lost_reason if stage.is_lost else None
    current.lost_note = lost_note.strip() if stage.is_lost else ""
    current.closed_at = now if not stage.is_open else None
    furthest = current.furthest_stage
    if stage.is_open and (furthest is None or stage.position > furthest.position):
        current.furthest_stage = stage
    current.full_clean()
    _save(current, actor)
    StageChange.objects.filter(opportunity=current, left_at__isnull=True).update(left_at=now)
    StageChange.objects.create(
        opportunity=current, from_stage=previous, to_stage=stage, actor=actor, changed_at=now
    )
    OpportunityEvent.objects.create(
        opportunity=current,
        kind=OpportunityEventKind.STAGE,
        actor=actor,
        changes={"stage": [previous.name, stage.name]},
        body=(f"{lost_reason}: {current.lost_note}".rstrip(": ") if stage.is_lost else ""),
    )
    record_event("opportunity.stage_entered", current, actor=actor, stage=stage.pk)
    if stage.is_won and current.account.lifecycle != Lifecycle.CUSTOMER:
        customer_services.account_update(
            actor=actor, account=current.account, fields={"lifecycle": Lifecycle.CUSTOMER}
        )
    return current


@transaction.atomic
def opportunity_note_add(*, actor: User, opportunity: Opportunity, body: str) -> OpportunityEvent:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write the note before saving it.")})
    return OpportunityEvent.objects.create(
        opportunity=opportunity, kind=OpportunityEventKind.NOTE, actor=actor, body=body
    )


@transaction.atomic
def opportunity_delete(*, actor: User, opportunity: Opportunity) -> None:
    if not opportunity_can_manage(actor=actor, opportunity=opportunity):
        raise PermissionDenied
    opportunity.delete()


# -- quotes --


def quote_number_next(year: int) -> int:
    """The next number of the year, under a row lock held until the caller's transaction ends:
    concurrent senders wait, and a rolled-back send gives its number back (no gaps)."""
    QuoteSequence.objects.get_or_create(year=year)
    sequence = QuoteSequence.objects.select_for_update().get(year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return sequence.last_number


def format_quote_number(year: int, sequence: int) -> str:
    return f"P-{year}-{sequence:04d}"


def quote_recalculate(quote: Quote) -> Quote:
    """Store each line's base and the quote's totals from its lines (and the deal's amount
    when this is the quote that sets it)."""
    lines = list(quote.lines.all())
    for line in lines:
        base = money.line_base(line.quantity, line.unit_price, line.discount_percent)
        if base != line.base:
            line.base = base
            line.save(update_fields=["base"])
    result = money.totals((line.base, line.vat_rate) for line in lines)
    quote.subtotal, quote.tax_total, quote.total = result.subtotal, result.tax_total, result.total
    quote.save(update_fields=["subtotal", "tax_total", "total", "updated_at"])
    return quote


def quote_line_values(
    *,
    product: Product | None,
    description: str = "",
    quantity: Decimal | None = None,
    unit_price: Decimal | None = None,
    discount_percent: Decimal | None = None,
    vat_rate: str = "",
    recurrence: str = "",
) -> dict[str, Any]:
    """A line's values: what was typed, else the product's."""
    values = {
        "product": product,
        "description": (description or "").strip() or (product.name if product else ""),
        "quantity": quantity if quantity is not None else Decimal(1),
        "unit": product.unit if product else "",
        "unit_price": unit_price
        if unit_price is not None
        else (product.unit_price if product else None),
        "discount_percent": discount_percent or Decimal(0),
        "vat_rate": vat_rate or (product.vat_rate if product else "21"),
        "recurrence": recurrence or (product.recurrence if product else "one_off"),
    }
    errors = {}
    if not values["description"]:
        errors["description"] = _("Describe the line or choose a product.")
    if values["unit_price"] is None:
        errors["unit_price"] = _("Give the unit price.")
    if errors:
        raise ValidationError(errors)
    return values
