from django.urls import path

from crm.reports import views

urlpatterns = [
    path("", views.report_view, name="report"),
    path("dashboard/export.<str:fmt>", views.dashboard_export, name="dashboard-export"),
    path("export.<str:fmt>", views.report_export, name="report-export"),
    path("pipeline/", views.pipeline_view, name="report-pipeline"),
    path("pipeline/export.<str:fmt>", views.pipeline_export, name="report-pipeline-export"),
    path("planning/", views.planning_view, name="report-planning"),
    path("planning/export.<str:fmt>", views.planning_export, name="report-planning-export"),
    path("planning/targets/", views.targets_edit, name="report-targets"),
    path("records/", views.records_view, name="report-records"),
]
