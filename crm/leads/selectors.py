"""Read queries for leads. Every one a user triggers applies `Lead.objects.visible_to`."""

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from crm.core.search import matches, search_words
from crm.customers.models import Account
from crm.customers.selectors import Duplicates, find_duplicates
from crm.leads.models import (
    AssignmentRule,
    ImportMapping,
    Lead,
    LeadEvent,
    LeadImport,
    LeadSettings,
    WebForm,
)
from crm.users.models import User

LEAD_SORTS = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "name": ("first_name", "last_name", "id"),
    "-name": ("-first_name", "-last_name", "-id"),
    "company": ("company", "id"),
    "-company": ("-company", "-id"),
    "score": ("score", "id"),
    "-score": ("-score", "-id"),
    "status": ("status", "-created_at", "-id"),
    "-status": ("-status", "-created_at", "-id"),
}


def lead_search_filter(term: str, *, use_index: bool = True) -> Q:
    return matches(Lead, search_words(term), use_index=use_index)


def lead_list_for_user(*, user: User) -> QuerySet[Lead]:
    """Leads the user may see, with what a list row shows already joined."""
    return Lead.objects.visible_to(user).select_related("owner", "channel", "sector")


def lead_get_for_user(*, user: User, lead_id: int) -> Lead:
    """One lead, or 404 when it does not exist or is outside the user's scope."""
    queryset = Lead.objects.visible_to(user).select_related(
        "owner",
        "team",
        "channel",
        "sector",
        "disqualify_reason",
        "assignment_rule",
        "lead_import",
        "web_form",
        "converted_account",
        "converted_contact",
        "converted_opportunity",
        "created_by",
        "updated_by",
    )
    return get_object_or_404(queryset, pk=lead_id)


def lead_timeline(*, lead: Lead, limit: int = 100) -> QuerySet[LeadEvent]:
    return lead.events.select_related("actor")[:limit]


def lead_assignable_owners(*, actor: User) -> QuerySet[User]:
    """Users the actor may give a lead to: anyone (admin), their teams (manager), self."""
    active = User.objects.filter(is_active=True)
    if actor.is_admin:
        return active
    if actor.is_manager:
        return active.filter(Q(team_id__in=actor.scope_team_ids()) | Q(pk=actor.pk))
    return active.filter(pk=actor.pk)


@dataclass
class LeadDuplicates(Duplicates):
    """Existing leads, accounts and contacts that share an identifier with a new lead."""

    leads: list[Lead] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.leads) or super().__bool__()


def find_lead_duplicates(
    *,
    user: User,
    nif: str = "",
    emails: tuple[str, ...] = (),
    phones: tuple[str, ...] = (),
    exclude_lead_id: int | None = None,
) -> LeadDuplicates:
    """Leads (not converted), accounts and contacts sharing the NIF, an e-mail or a phone.

    Values come normalised (services do it). Matches the user cannot see are counted only.
    """
    customers = find_duplicates(user=user, nif=nif, emails=emails, phones=phones)
    query = Q(pk__in=[])
    if nif:
        query |= Q(nif=nif)
    emails = tuple(e for e in emails if e)
    phones = tuple(p for p in phones if p)
    if emails:
        query |= Q(email__in=emails)
    if phones:
        query |= Q(phone__in=phones) | Q(mobile__in=phones)
    leads = Lead.objects.filter(query).exclude(status="converted").exclude(pk=exclude_lead_id)
    visible = list(leads.visible_to(user).select_related("owner")[:10])
    hidden = leads.count() - leads.visible_to(user).count()
    return LeadDuplicates(
        accounts=customers.accounts,
        contacts=customers.contacts,
        hidden=customers.hidden + hidden,
        leads=visible,
    )


def conversion_account_candidates(*, user: User, lead: Lead) -> QuerySet[Account]:
    """Visible accounts a lead may be attached to instead of creating one: same NIF or e-mail
    (the account's or one of its contacts')."""
    query = Q(pk__in=[])
    if lead.nif:
        query |= Q(nif=lead.nif)
    if lead.email:
        query |= Q(email__iexact=lead.email) | Q(contacts__email__iexact=lead.email)
    return Account.objects.visible_to(user).filter(query).distinct().order_by("name")[:10]


def assignment_rule_list() -> QuerySet[AssignmentRule]:
    return AssignmentRule.objects.select_related(
        "target_user", "target_team", "last_assigned"
    ).prefetch_related("channels", "sectors")


def lead_settings() -> LeadSettings:
    settings, _created = LeadSettings.objects.get_or_create(pk=LeadSettings.SINGLETON_ID)
    return settings


def web_form_list() -> QuerySet[WebForm]:
    return WebForm.objects.select_related("channel")


def lead_import_list_for_user(*, user: User) -> QuerySet[LeadImport]:
    return LeadImport.objects.visible_to(user).select_related("created_by", "undone_by")


def lead_import_get_for_user(*, user: User, import_id: int) -> LeadImport:
    return get_object_or_404(lead_import_list_for_user(user=user), pk=import_id)


def import_mapping_list() -> QuerySet[ImportMapping]:
    return ImportMapping.objects.all()
