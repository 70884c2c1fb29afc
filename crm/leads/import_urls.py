"""URLs of the lead import, included at /leads/imports/."""

from django.urls import path

from crm.leads import import_views as views

urlpatterns = [
    path("", views.lead_import_list, name="lead-import-list"),
    path("create/", views.lead_import_create, name="lead-import-create"),
    path("<int:pk>/", views.lead_import_detail, name="lead-import-detail"),
    path("<int:pk>/mapping/", views.lead_import_mapping, name="lead-import-mapping"),
    path("<int:pk>/preview/", views.lead_import_preview, name="lead-import-preview"),
    path("<int:pk>/failures.csv", views.lead_import_failures, name="lead-import-failures"),
    path("<int:pk>/undo/", views.lead_import_undo, name="lead-import-undo"),
    path("<int:pk>/resume/", views.lead_import_resume, name="lead-import-resume"),
]
