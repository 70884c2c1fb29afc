"""Everything that changes accounts and contacts. Views, the API, imports and tasks call these."""

import logging
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.core.events import record_event
from crm.core.validation import (
    normalize_nif,
    normalize_phone,
    normalize_postal_code,
    province_of_postal_code,
)
from crm.customers.models import (
    Account,
    AccountEvent,
    Contact,
    EventKind,
    Lifecycle,
    Tag,
)
from crm.customers.selectors import Duplicates, account_assignable_owners, find_duplicates
from crm.users.models import Team, User

logger = logging.getLogger(__name__)

ACCOUNT_FIELDS = {
    "kind",
    "name",
    "nif",
    "lifecycle",
    "phone",
    "email",
    "website",
    "sector",
    "size_segment",
    "channel",
    "owner",
    "team",
    "notes",
    "billing_street",
    "billing_postal_code",
    "billing_city",
    "billing_province",
    "billing_country",
    "shipping_street",
    "shipping_postal_code",
    "shipping_city",
    "shipping_province",
    "shipping_country",
}
CONTACT_FIELDS = {
    "first_name",
    "last_name",
    "position",
    "email",
    "phone",
    "mobile",
    "is_primary",
    "is_active",
    "marketing_consent",
    "marketing_consent_at",
    "marketing_consent_source",
    "notes",
}
PHONE_FIELDS = {"phone", "mobile"}
POSTAL_CODE_FIELDS = {"billing_postal_code", "shipping_postal_code"}
# Set by the services, never typed; an old record may lack them (imported, creator deleted).


class DuplicatesFound(Exception):
    """A new record shares its NIF, an e-mail or a phone with existing ones.

    The caller shows them and asks the user to confirm (allow_duplicates=True).
    """

    def __init__(self, duplicates: Duplicates):
        super().__init__("duplicates found")
        self.duplicates = duplicates


def _normalize(fields: dict[str, Any], instance=None) -> dict[str, Any]:
    """Give NIF, phones, e-mails and postal codes their stored shape, collecting every error."""
    errors: dict[str, list[ValidationError]] = {}
    clean = dict(fields)
    for name, value in fields.items():
        try:
            if name == "nif":
                clean[name] = normalize_nif(value)
            elif name in PHONE_FIELDS:
                clean[name] = normalize_phone(value)
            elif name in POSTAL_CODE_FIELDS:
                country_field = name.replace("postal_code", "country")
                country = fields.get(country_field, getattr(instance, country_field, "ES"))
                clean[name] = normalize_postal_code(value, country)
                province = name.replace("postal_code", "province")
                if country == "ES" and clean[name] and not fields.get(province):
                    # An empty province is filled from the postal code: 46001 is Valencia.
                    clean[province] = province_of_postal_code(clean[name])
            elif name == "email" and value:
                clean[name] = value.strip().lower()
                validate_email(clean[name])
            elif isinstance(value, str):
                clean[name] = value.strip()
        except ValidationError as exc:
            errors[name] = exc.error_list
    if errors:
        raise ValidationError(errors)
    return clean


def _check_fields(fields: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")


def _manages(actor: User, account: Account) -> bool:
    """Whether the actor is a sales manager of the account's team or of its owner's team."""
    if not actor.is_manager:
        return False
    team_ids = actor.scope_team_ids()
    return account.team_id in team_ids or account.owner.team_id in team_ids


def _check_owner(*, actor: User, owner: User, account: Account | None = None) -> None:
    """Who may give a record to whom.

    Sales reps own what they create and cannot hand over what they do not own; managers
    assign within their teams; admins anywhere. Deactivated users own nothing new.
    """
    if account is not None and not (
        actor.is_admin or account.owner_id == actor.pk or _manages(actor, account)
    ):
        raise ValidationError({"owner": _("Only its owner or their manager can reassign it.")})
    if not account_assignable_owners(actor=actor).filter(pk=owner.pk).exists():
        if not owner.is_active:
            raise ValidationError({"owner": _("A deactivated user cannot own records.")})
        raise ValidationError({"owner": _("You cannot give this record to that user.")})


def _display(instance, name: str) -> str:
    """A field's value as a person reads it, for the audit trail."""
    field = instance._meta.get_field(name)
    if field.many_to_many:
        return ", ".join(sorted(str(obj) for obj in getattr(instance, name).all()))
    value = getattr(instance, name)
    if field.choices:
        return str(getattr(instance, f"get_{name}_display")())
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if hasattr(value, "isoformat"):
        return timezone.localtime(value).strftime("%d/%m/%Y %H:%M")
    return str(value)


def _set_tags(account: Account, names: Iterable[str]) -> None:
    tags = []
    for name in {n.strip()[:50] for n in names if n and n.strip()}:
        tag, _created = Tag.objects.get_or_create(name=name)
        tags.append(tag)
    account.tags.set(tags)


def _apply(instance, fields: dict[str, Any]) -> dict[str, list[str]]:
    """Set the fields that change and return {field name: [old, new]} for the audit trail."""
    changes: dict[str, list[str]] = {}
    for name, value in fields.items():
        if getattr(instance, name) != value:
            old = _display(instance, name)
            setattr(instance, name, value)
            changes[name] = [old, _display(instance, name)]
    return changes


@transaction.atomic
def account_create(
    *,
    actor: User,
    fields: dict[str, Any],
    tags: Iterable[str] = (),
    shared_with: Iterable[User] = (),
    allow_duplicates: bool = False,
) -> Account:
    """Create an account owned by `fields['owner']` (the actor by default).

    Raises ValidationError with field errors, and DuplicatesFound when another record has
    the same NIF, e-mail or phone and the caller did not allow duplicates.
    """
    _check_fields(fields, ACCOUNT_FIELDS)
    fields = _normalize(fields)
    if not fields.get("owner"):
        fields["owner"] = actor
    _check_owner(actor=actor, owner=fields["owner"])
    if not fields.get("team"):
        fields["team"] = fields["owner"].team
    _check_team(actor=actor, owner=fields["owner"], team=fields["team"])
    account = Account(**fields, created_by=actor, updated_by=actor)
    account.refresh_search_text()
    account.full_clean()
    if not allow_duplicates:
        duplicates = find_duplicates(
            user=actor, nif=account.nif, emails=(account.email,), phones=(account.phone,)
        )
        if duplicates:
            raise DuplicatesFound(duplicates)
    account.save()
    _set_tags(account, tags)
    account.shared_with.set(shared_with)
    AccountEvent.objects.create(account=account, kind=EventKind.CREATED, actor=actor)
    return account


@transaction.atomic
def account_update(
    *,
    actor: User,
    account: Account,
    fields: dict[str, Any],
    tags: Iterable[str] | None = None,
    shared_with: Iterable[User] | None = None,
) -> Account:
    """Change an account the actor can see, recording who changed what in its timeline."""
    _check_fields(fields, ACCOUNT_FIELDS)
    fields = _normalize(fields, account)
    if "owner" in fields and fields["owner"] != account.owner:
        _check_owner(actor=actor, owner=fields["owner"], account=account)
        # The team follows the new owner unless the caller names one.
        fields.setdefault("team", fields["owner"].team)
    if "team" in fields and fields["team"] != account.team:
        _check_team(
            actor=actor,
            owner=fields.get("owner", account.owner),
            team=fields["team"],
            account=account,
        )
    changes = _apply(account, fields)
    if tags is not None:
        old = _display(account, "tags")
        _set_tags(account, tags)
        new = _display(account, "tags")
        if old != new:
            changes["tags"] = [old, new]
    if shared_with is not None:
        old = _display(account, "shared_with")
        account.shared_with.set(shared_with)
        new = _display(account, "shared_with")
        if old != new:
            changes["shared_with"] = [old, new]
    if not changes:
        return account
    account.updated_by = actor
    account.refresh_search_text()
    account.full_clean()
    account.save()
    AccountEvent.objects.create(
        account=account, kind=EventKind.UPDATED, actor=actor, changes=changes
    )
    if "lifecycle" in changes and account.lifecycle == Lifecycle.CUSTOMER:
        record_event("account.became_customer", account, actor=actor)
    return account


def _check_team(
    *, actor: User, owner: User, team: Team | None, account: Account | None = None
) -> None:
    """A record sits in its owner's team; only admins and the managers involved move it."""
    if team is None or team.pk == owner.team_id or actor.is_admin:
        return
    in_scope = team.pk in actor.scope_team_ids()
    if in_scope and (account is None or _manages(actor, account)):
        return
    raise ValidationError({"team": _("You cannot put this record in that team.")})


def account_can_delete(*, actor: User, account: Account) -> bool:
    """Admins delete what they see, managers their teams' accounts, a sales rep their own."""
    return actor.is_admin or account.owner_id == actor.pk or _manages(actor, account)


@transaction.atomic
def account_delete(*, actor: User, account: Account) -> None:
    """Delete an account with its contacts and timeline (e.g. a GDPR erasure request)."""
    if not account_can_delete(actor=actor, account=account):
        raise PermissionDenied
    logger.info("account %s deleted by user %s", account.pk, actor.pk)
    account.delete()


@transaction.atomic
def contact_delete(*, actor: User, contact: Contact) -> None:
    """Delete a contact; the account's timeline records who removed one (not whom: erasure)."""
    account = contact.account
    if not account_can_delete(actor=actor, account=account):
        raise PermissionDenied
    contact.delete()
    AccountEvent.objects.create(account=account, kind=EventKind.CONTACT_DELETED, actor=actor)


@transaction.atomic
def account_note_add(*, actor: User, account: Account, body: str) -> AccountEvent:
    """Write a note on an account's timeline."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write the note before saving it.")})
    return AccountEvent.objects.create(account=account, kind=EventKind.NOTE, actor=actor, body=body)


def _consent(fields: dict[str, Any], contact: Contact | None) -> dict[str, Any]:
    """Marketing consent always carries when and how it was given (GDPR)."""
    given = fields.get("marketing_consent", contact.marketing_consent if contact else False)
    given_at = fields.get("marketing_consent_at")
    if given_at and given_at > timezone.now():
        raise ValidationError({"marketing_consent_at": _("Consent cannot be given in the future.")})
    if given:
        had = contact.marketing_consent if contact else False
        if not had and not fields.get("marketing_consent_at"):
            fields["marketing_consent_at"] = timezone.now()
        source = fields.get(
            "marketing_consent_source", contact.marketing_consent_source if contact else ""
        )
        if not source:
            raise ValidationError(
                {"marketing_consent_source": _("Say how the contact gave consent.")}
            )
    else:
        # Without consent there is no date or source to keep.
        fields["marketing_consent_at"] = None
        fields["marketing_consent_source"] = ""
    return fields


def _only_one_primary(contact: Contact) -> None:
    if contact.is_primary:
        contact.account.contacts.exclude(pk=contact.pk).filter(is_primary=True).update(
            is_primary=False
        )


@transaction.atomic
def contact_create(
    *,
    actor: User,
    account: Account,
    fields: dict[str, Any],
    allow_duplicates: bool = False,
) -> Contact:
    """Add a person to an account the actor can see."""
    _check_fields(fields, CONTACT_FIELDS)
    fields = _consent(_normalize(fields), None)
    contact = Contact(account=account, **fields, created_by=actor, updated_by=actor)
    if not account.contacts.exists():
        contact.is_primary = True
    contact.refresh_search_text()
    contact.full_clean()
    if not allow_duplicates:
        duplicates = find_duplicates(
            user=actor, emails=(contact.email,), phones=(contact.phone, contact.mobile)
        )
        if duplicates:
            raise DuplicatesFound(duplicates)
    contact.save()
    _only_one_primary(contact)
    AccountEvent.objects.create(
        account=account, contact=contact, kind=EventKind.CONTACT_CREATED, actor=actor
    )
    return contact


@transaction.atomic
def contact_update(*, actor: User, contact: Contact, fields: dict[str, Any]) -> Contact:
    """Change a contact, recording the change on its account's timeline."""
    _check_fields(fields, CONTACT_FIELDS)
    fields = _consent(_normalize(fields), contact)
    changes = _apply(contact, fields)
    if not changes:
        return contact
    contact.updated_by = actor
    contact.refresh_search_text()
    contact.full_clean()
    contact.save()
    _only_one_primary(contact)
    AccountEvent.objects.create(
        account=contact.account,
        contact=contact,
        kind=EventKind.CONTACT_UPDATED,
        actor=actor,
        changes=changes,
    )
    return contact
