from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "crm.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        # Edited with the other configurable lists on core's page (see crm.leads.apps).
        from crm.core.forms import CHOICE_LISTS
        from crm.customers.panels import ACCOUNT_PANELS
        from crm.sales.models import LostReason, ProductCategory
        from crm.sales.selectors import account_opportunities_panel

        CHOICE_LISTS["lost-reasons"] = (
            LostReason,
            _("Lost reasons"),
            _("Why a deal is lost or cancelled; asked when it moves to such a stage."),
        )
        CHOICE_LISTS["product-categories"] = (
            ProductCategory,
            _("Product categories"),
            _("Groups of the catalog, used by the reports."),
        )
        # The account page lists the account's deals.
        ACCOUNT_PANELS.append(account_opportunities_panel)
