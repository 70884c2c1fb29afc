from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction

from crm.core.models import CompanySettings, ConfigurableChoice
from crm.core.selectors import company_settings_get
from crm.core.validation import normalize_nif, normalize_phone

if TYPE_CHECKING:  # core sits below users; the type is only for readers
    from crm.users.models import User

COMPANY_FIELDS = {
    "name",
    "nif",
    "street",
    "postal_code",
    "city",
    "province",
    "phone",
    "email",
    "website",
    "logo",
    "currency",
    "default_vat_rate",
    "fiscal_year_start_month",
    "time_zone",
    "licensed_seats",
}


@transaction.atomic
def company_settings_update(*, actor: "User", fields: dict[str, Any]) -> CompanySettings:
    """Change the company's settings (administrators only; the view checks the role)."""
    company = company_settings_get()
    old_logo = company.logo.name
    changed = []
    for name, value in fields.items():
        if name not in COMPANY_FIELDS:
            raise ValueError(f"unknown company field {name}")
        try:
            if name == "nif":
                value = normalize_nif(value)
            elif name == "phone":
                value = normalize_phone(value)
            elif name == "logo" and value is False:
                value = ""  # the form's "clear" box
        except ValidationError as exc:
            raise ValidationError({name: exc.error_list}) from exc
        if getattr(company, name) != value:
            setattr(company, name, value)
            changed.append(name)
    if changed:
        company.full_clean()
        company.save(update_fields=[*changed, "updated_at"])
    if old_logo and old_logo != company.logo.name:
        # The replaced file goes only once the new settings are stored.
        storage = company.logo.storage
        transaction.on_commit(lambda: storage.delete(old_logo))
    return company


@transaction.atomic
def choice_save(
    *, instance: ConfigurableChoice, name: str, position: int, is_active: bool
) -> ConfigurableChoice:
    """Create or change one value of a configurable list (channels, sectors)."""
    instance.name = name.strip()
    instance.position = position
    instance.is_active = is_active
    instance.full_clean()
    instance.save()
    return instance


def position_move(items: list, *, pk: int, offset: int) -> list:
    """Move the item `pk` by `offset` places (-1 up, +1 down) in `items`, already in their
    order and locked by the caller's transaction; renumber them from 1 and save the positions
    that changed. Returns the items in their new order."""
    index = next(i for i, item in enumerate(items) if item.pk == pk)
    target = max(0, min(len(items) - 1, index + offset))
    items.insert(target, items.pop(index))
    for position, item in enumerate(items, start=1):
        if item.position != position:
            item.position = position
            item.save(update_fields=["position", "updated_at"])
    return items
