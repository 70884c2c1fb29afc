"""The "Activities" section of the lead, account, contact and opportunity pages: pending and
recently done activities, the inline "log a call" form and a "New activity" button."""

from django.urls import reverse

from crm.activities.forms import LogCallForm
from crm.activities.selectors import record_activities
from crm.customers.panels import Panel

TEMPLATE = "activities/partials/record_panel.html"
DETAIL_URLS = {
    "lead": "lead-detail",
    "account": "account-detail",
    "contact": "contact-detail",
    "opportunity": "opportunity-detail",
}


def panel_context(*, user, **record) -> dict:
    ((name, obj),) = record.items()
    return {
        "record_name": name,
        "record": obj,
        "record_url": reverse(DETAIL_URLS[name], args=[obj.pk]),
        "log_form": LogCallForm(),
        **record_activities(user=user, **record),
    }


def lead_panel(*, user, lead) -> Panel:
    return Panel(template=TEMPLATE, context=panel_context(user=user, lead=lead))


def account_panel(*, user, account) -> Panel:
    return Panel(template=TEMPLATE, context=panel_context(user=user, account=account))


def contact_panel(*, user, contact) -> Panel:
    return Panel(template=TEMPLATE, context=panel_context(user=user, contact=contact))


def opportunity_panel(*, user, opportunity) -> Panel:
    return Panel(template=TEMPLATE, context=panel_context(user=user, opportunity=opportunity))
