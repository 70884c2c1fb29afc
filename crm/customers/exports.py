"""Columns of the account and contact exports."""

from collections.abc import Iterator

from django.utils.translation import gettext_lazy as _

from crm.core.validation import format_phone
from crm.customers.models import Account, Contact

ACCOUNT_HEADERS = [
    _("Name"),
    _("Kind"),
    _("NIF / CIF / NIE"),
    _("Lifecycle"),
    _("Phone"),
    _("E-mail"),
    _("Website"),
    _("Address"),
    _("Postal code"),
    _("City"),
    _("Province"),
    _("Sector"),
    _("Size"),
    _("Channel"),
    _("Owner"),
    _("Team"),
    _("Tags"),
    _("Created"),
]
CONTACT_HEADERS = [
    _("First name"),
    _("Last name"),
    _("Account"),
    _("Position"),
    _("E-mail"),
    _("Phone"),
    _("Mobile"),
    _("Active"),
    _("Accepts marketing"),
    _("Consent date"),
    _("Consent source"),
    _("Created"),
]


def account_rows(queryset) -> Iterator[list]:
    for account in queryset.iterator(chunk_size=2000):
        account: Account
        yield [
            account.name,
            account.get_kind_display(),
            account.nif,
            account.get_lifecycle_display(),
            format_phone(account.phone),
            account.email,
            account.website,
            account.billing_street,
            account.billing_postal_code,
            account.billing_city,
            account.get_billing_province_display(),
            account.sector,
            account.get_size_segment_display(),
            account.channel,
            account.owner,
            account.team,
            ", ".join(tag.name for tag in account.tags.all()),
            account.created_at,
        ]


def contact_rows(queryset) -> Iterator[list]:
    for contact in queryset.iterator(chunk_size=2000):
        contact: Contact
        yield [
            contact.first_name,
            contact.last_name,
            contact.account.name,
            contact.position,
            contact.email,
            format_phone(contact.phone),
            format_phone(contact.mobile),
            contact.is_active,
            contact.marketing_consent,
            contact.marketing_consent_at,
            contact.get_marketing_consent_source_display(),
            contact.created_at,
        ]
