from django import template
from django.core.exceptions import FieldDoesNotExist

from crm.customers.models import Account, Contact

register = template.Library()

# Events that later apps copy onto the timeline name the fields of their own model
# (a lead's "status"); each app registers its model here for the labels (see crm.leads.apps).
EVENT_FIELD_MODELS: dict[str, type] = {}

LIFECYCLE_BADGES = {
    "prospect": "text-bg-info",
    "customer": "text-bg-success",
    "inactive": "text-bg-secondary",
}


@register.filter
def lifecycle_badge(value: str) -> str:
    return LIFECYCLE_BADGES.get(value, "text-bg-light")


@register.filter
def change_label(field_name: str, event) -> str:
    """The label, in the reader's language, of a field named in a timeline change."""
    model = EVENT_FIELD_MODELS.get(event.kind) or (Contact if event.contact_id else Account)
    try:
        return str(model._meta.get_field(field_name).verbose_name)
    except FieldDoesNotExist:
        return field_name
