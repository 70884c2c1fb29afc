from django.urls import path

from crm.core import views

urlpatterns = [
    path("company/", views.company_settings_update, name="company-settings"),
    path("company/logo/", views.company_logo, name="company-logo"),
    path("lists/<slug:kind>/", views.choice_list, name="choice-list"),
    path("lists/<slug:kind>/<int:pk>/update/", views.choice_update, name="choice-update"),
]
