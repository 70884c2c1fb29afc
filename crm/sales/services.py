"""Everything that changes opportunities. Views, the API, lead conversion and tasks call these."""

from typing import Any

from django.db import transaction

from crm.sales.models import Opportunity
from crm.users.models import User

OPPORTUNITY_FIELDS = {
    "title",
    "account",
    "contact",
    "owner",
    "channel",
    "amount",
    "expected_close_date",
    "products_of_interest",
}


@transaction.atomic
def opportunity_create(*, actor: User, fields: dict[str, Any]) -> Opportunity:
    """Open a deal with an account; its owner defaults to the account's, its team to the owner's."""
    unknown = set(fields) - OPPORTUNITY_FIELDS
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")
    fields = dict(fields)
    fields.setdefault("owner", fields["account"].owner)
    opportunity = Opportunity(**fields, team=fields["owner"].team, created_by=actor)
    opportunity.full_clean()
    opportunity.save()
    return opportunity
