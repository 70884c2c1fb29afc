from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "crm.leads"
    label = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        # The administrator edits the reasons with the other configurable lists (core's page,
        # which knows nothing of leads: the list is registered here).
        from crm.core.forms import CHOICE_LISTS
        from crm.customers.models import EventKind
        from crm.customers.templatetags.customers import EVENT_FIELD_MODELS
        from crm.leads.models import DisqualifyReason, Lead

        CHOICE_LISTS["disqualify-reasons"] = (
            DisqualifyReason,
            _("Disqualification reasons"),
            _("Why a lead is dropped; asked when a lead is disqualified."),
        )
        # The lead's history on the account's timeline names the lead's fields.
        EVENT_FIELD_MODELS[EventKind.LEAD_HISTORY] = Lead
