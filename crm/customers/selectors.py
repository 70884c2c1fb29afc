"""Read queries for accounts and contacts. Every one applies the user's visibility."""

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from crm.core.search import matches, search_words
from crm.core.validation import normalize_nif, normalize_phone
from crm.customers.models import Account, AccountEvent, Contact
from crm.users.models import User

ACCOUNT_SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "city": ("billing_city", "name", "id"),
    "-city": ("-billing_city", "name", "id"),
    "lifecycle": ("lifecycle", "name", "id"),
    "-lifecycle": ("-lifecycle", "name", "id"),
}
CONTACT_SORTS = {
    "name": ("first_name", "last_name", "id"),
    "-name": ("-first_name", "-last_name", "-id"),
    "account": ("account__name", "first_name", "id"),
    "-account": ("-account__name", "first_name", "id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
}


def search_filter(term: str, *, use_index: bool = True) -> Q:
    """Accounts whose folded search text holds every word of the term."""
    return matches(Account, search_words(term), use_index=use_index)


def contact_search_filter(term: str) -> Q:
    """Contacts found by every word, in their own data or in their account's."""
    query = Q()
    for word in search_words(term):
        query &= matches(Contact, [word]) | matches(Account, [word], through="account_id")
    return query


def account_list_for_user(*, user: User) -> QuerySet[Account]:
    """Accounts the user may see, with what a list row shows already joined."""
    return (
        Account.objects.visible_to(user)
        .select_related("owner", "team", "sector", "channel")
        .prefetch_related("tags", "shared_with")
    )


def account_assignable_owners(*, actor: User) -> QuerySet[User]:
    """Users the actor may make owner of a record: anyone (admin), their teams (manager), self."""
    active = User.objects.filter(is_active=True)
    if actor.is_admin:
        return active
    if actor.is_manager:
        return active.filter(Q(team_id__in=actor.scope_team_ids()) | Q(pk=actor.pk))
    return active.filter(pk=actor.pk)


def account_get_for_user(*, user: User, account_id: int) -> Account:
    """One account, or 404 when it does not exist or is outside the user's scope."""
    queryset = (
        Account.objects.visible_to(user)
        .select_related("owner", "team", "sector", "channel", "created_by", "updated_by")
        .prefetch_related("tags", "shared_with")
    )
    return get_object_or_404(queryset, pk=account_id)


def account_contacts(*, account: Account) -> QuerySet[Contact]:
    return account.contacts.order_by("-is_active", "-is_primary", "first_name", "last_name")


def account_timeline(*, account: Account, limit: int = 100) -> QuerySet[AccountEvent]:
    """What happened to an account and its contacts, newest first."""
    return account.events.select_related("actor", "contact")[:limit]


def contact_list_for_user(*, user: User) -> QuerySet[Contact]:
    return Contact.objects.visible_to(user).select_related("account")


def contact_get_for_user(*, user: User, contact_id: int) -> Contact:
    queryset = Contact.objects.visible_to(user).select_related(
        "account", "created_by", "updated_by"
    )
    return get_object_or_404(queryset, pk=contact_id)


def contact_timeline(*, contact: Contact, limit: int = 100) -> QuerySet[AccountEvent]:
    return contact.events.select_related("actor")[:limit]


@dataclass
class Duplicates:
    """Existing records that share an identifier with a new one."""

    accounts: list[Account] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    hidden: int = 0  # matches that exist but are outside the user's scope

    def __bool__(self) -> bool:
        return bool(self.accounts or self.contacts or self.hidden)


def _safe(normalize, value: str) -> str:
    try:
        return normalize(value)
    except Exception:  # an invalid value matches nothing; the form reports it
        return ""


def find_duplicates(
    *,
    user: User,
    nif: str = "",
    emails: tuple[str, ...] = (),
    phones: tuple[str, ...] = (),
    exclude_account_id: int | None = None,
    exclude_contact_id: int | None = None,
) -> Duplicates:
    """Accounts and contacts that share the NIF, an e-mail or a phone with a new record.

    Matches the user cannot see are counted, not shown, so the warning leaks no data.
    """
    nif = _safe(normalize_nif, nif)
    emails = tuple({e.strip().lower() for e in emails if e and e.strip()})
    phones = tuple({p for p in (_safe(normalize_phone, p) for p in phones) if p})
    account_q, contact_q = Q(pk__in=[]), Q(pk__in=[])
    if nif:
        account_q |= Q(nif=nif)
    for email in emails:
        account_q |= Q(email__iexact=email)
        contact_q |= Q(email__iexact=email)
    if phones:
        account_q |= Q(phone__in=phones)
        contact_q |= Q(phone__in=phones) | Q(mobile__in=phones)
    accounts = Account.objects.filter(account_q).exclude(pk=exclude_account_id)
    contacts = Contact.objects.filter(contact_q).exclude(pk=exclude_contact_id)
    visible_accounts = list(accounts.visible_to(user)[:10])
    visible_contacts = list(contacts.visible_to(user).select_related("account")[:10])
    hidden = (
        accounts.count()
        - accounts.visible_to(user).count()
        + contacts.count()
        - contacts.visible_to(user).count()
    )
    return Duplicates(accounts=visible_accounts, contacts=visible_contacts, hidden=hidden)
