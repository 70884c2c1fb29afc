from django.contrib import admin
from django.urls import include, path

from crm.core import views as core_views
from crm.reports import views as report_views

urlpatterns = [
    path("", report_views.dashboard, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("", include("crm.users.urls")),
    path("settings/", include("crm.core.urls")),
    path("accounts/", include("crm.customers.urls.accounts")),
    path("contacts/", include("crm.customers.urls.contacts")),
    path("leads/imports/", include("crm.leads.import_urls")),
    path("leads/", include("crm.leads.urls")),
    path("forms/", include("crm.leads.public_urls")),
    path("opportunities/", include("crm.sales.urls")),
    path("quotes/", include("crm.sales.quote_urls")),
    path("quotes/", include("crm.sales.delivery_urls")),
    path("catalog/", include("crm.sales.catalog_urls")),
    path("q/", include("crm.sales.public_urls")),
    path("activities/", include("crm.activities.urls")),
    path("automation/", include("crm.activities.automation_urls")),
    path("notifications/", include("crm.alerts.urls")),
    path("reports/", include("crm.reports.urls")),
    path("api/", include("crm.api.urls")),
    path("django-admin/", admin.site.urls),
]
