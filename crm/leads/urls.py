from django.urls import path

from crm.leads import views

urlpatterns = [
    path("", views.lead_list, name="lead-list"),
    path("export.<str:fmt>", views.lead_export, name="lead-export"),
    path("create/", views.lead_create, name="lead-create"),
    path("bulk/", views.lead_bulk, name="lead-bulk"),
    path("<int:pk>/", views.lead_detail, name="lead-detail"),
    path("<int:pk>/update/", views.lead_update, name="lead-update"),
    path("<int:pk>/delete/", views.lead_delete, name="lead-delete"),
    path("<int:pk>/status/", views.lead_status, name="lead-status"),
    path("<int:pk>/notes/create/", views.lead_note, name="lead-note"),
    path("<int:pk>/convert/", views.lead_convert, name="lead-convert"),
    path("rules/", views.assignment_rule_list, name="assignment-rule-list"),
    path("rules/create/", views.assignment_rule_create, name="assignment-rule-create"),
    path("rules/try/", views.assignment_rule_try, name="assignment-rule-try"),
    path("rules/settings/", views.lead_settings_update, name="lead-settings"),
    path("rules/<int:pk>/update/", views.assignment_rule_update, name="assignment-rule-update"),
    path("rules/<int:pk>/delete/", views.assignment_rule_delete, name="assignment-rule-delete"),
    path("rules/<int:pk>/move/", views.assignment_rule_move, name="assignment-rule-move"),
    path("web-forms/", views.web_form_list, name="web-form-list"),
    path("web-forms/create/", views.web_form_create, name="web-form-create"),
    path("web-forms/<int:pk>/", views.web_form_detail, name="web-form-detail"),
    path("web-forms/<int:pk>/update/", views.web_form_update, name="web-form-update"),
    path("web-forms/<int:pk>/delete/", views.web_form_delete, name="web-form-delete"),
    path("web-forms/<int:pk>/embed/", views.web_form_embed_snippet, name="web-form-embed-snippet"),
]
