"""Columns of the lead export (written through crm.core.exports, which neutralises formulas)."""

from collections.abc import Iterator

from django.utils.translation import gettext_lazy as _

from crm.core.validation import format_phone
from crm.leads.models import Lead

LEAD_HEADERS = [
    _("First name"),
    _("Last name"),
    _("Company"),
    _("Position"),
    _("E-mail"),
    _("Phone"),
    _("Mobile"),
    _("NIF / CIF / NIE"),
    _("City"),
    _("Province"),
    _("Sector"),
    _("Size"),
    _("Channel"),
    _("Campaign"),
    _("Products of interest"),
    _("Status"),
    _("Disqualification reason"),
    _("Score"),
    _("Owner"),
    _("Team"),
    _("Created"),
]


def lead_rows(queryset) -> Iterator[list]:
    queryset = queryset.select_related("owner", "team", "channel", "sector", "disqualify_reason")
    for lead in queryset.iterator(chunk_size=2000):
        lead: Lead
        yield [
            lead.first_name,
            lead.last_name,
            lead.company,
            lead.position,
            lead.email,
            format_phone(lead.phone),
            format_phone(lead.mobile),
            lead.nif,
            lead.city,
            lead.get_province_display(),
            lead.sector,
            lead.get_size_segment_display(),
            lead.channel,
            lead.campaign,
            lead.products_of_interest,
            lead.get_status_display(),
            lead.disqualify_reason,
            lead.score,
            lead.owner,
            lead.team,
            lead.created_at,
        ]
