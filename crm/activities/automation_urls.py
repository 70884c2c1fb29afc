from django.urls import path

from crm.activities import automation_views as views

urlpatterns = [
    path("", views.automation_rule_list, name="automation-rule-list"),
    path("new/", views.automation_rule_create, name="automation-rule-create"),
    path("<int:pk>/", views.automation_rule_detail, name="automation-rule-detail"),
    path("<int:pk>/update/", views.automation_rule_update, name="automation-rule-update"),
    path("<int:pk>/delete/", views.automation_rule_delete, name="automation-rule-delete"),
    path("<int:pk>/move/", views.automation_rule_move, name="automation-rule-move"),
]
