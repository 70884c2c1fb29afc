from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "crm.activities"
    label = "activities"
    verbose_name = _("Activities")

    def ready(self) -> None:
        from crm.activities import panels
        from crm.activities.hooks import pending_activities_check
        from crm.customers.panels import ACCOUNT_PANELS, CONTACT_PANELS
        from crm.leads.panels import LEAD_PANELS
        from crm.sales.panels import OPPORTUNITY_PANELS
        from crm.users.hooks import DEACTIVATION_CHECKS

        # The activities section on the lead, account, contact and opportunity pages.
        ACCOUNT_PANELS.append(panels.account_panel)
        CONTACT_PANELS.append(panels.contact_panel)
        LEAD_PANELS.append(panels.lead_panel)
        OPPORTUNITY_PANELS.append(panels.opportunity_panel)
        # Deactivating a user asks where their pending activities go.
        DEACTIVATION_CHECKS.append(pending_activities_check)

        # Automation: rules fire on the domain events the services record, and each record's
        # page shows the rules that fired on it.
        from crm.activities import automation, automation_views
        from crm.core.events import EVENT_HANDLERS

        if automation.handle_event not in EVENT_HANDLERS:
            EVENT_HANDLERS.append(automation.handle_event)
        ACCOUNT_PANELS.append(automation_views.account_firings_panel)
        LEAD_PANELS.append(automation_views.lead_firings_panel)
        OPPORTUNITY_PANELS.append(automation_views.opportunity_firings_panel)
