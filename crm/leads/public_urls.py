"""The public web-to-lead form, mounted at /forms/ (no login)."""

from django.urls import path

from crm.leads import views

urlpatterns = [
    path("<str:key>/", views.web_form_public, name="web-form-public"),
]
