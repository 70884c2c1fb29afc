from django.urls import path

from crm.sales import views

urlpatterns = [
    path("", views.opportunity_list, name="opportunity-list"),
    path("board/", views.opportunity_board, name="opportunity-board"),
    path(
        "board/columns/<int:stage_id>/",
        views.opportunity_board_column,
        name="opportunity-board-column",
    ),
    path("create/", views.opportunity_create, name="opportunity-create"),
    path("<int:pk>/", views.opportunity_detail, name="opportunity-detail"),
    path("<int:pk>/update/", views.opportunity_update, name="opportunity-update"),
    path("<int:pk>/move/", views.opportunity_move, name="opportunity-move"),
    path("<int:pk>/notes/", views.opportunity_note, name="opportunity-note"),
    path("<int:pk>/delete/", views.opportunity_delete, name="opportunity-delete"),
    path("pipelines/", views.pipeline_list, name="pipeline-list"),
    path("pipelines/create/", views.pipeline_create, name="pipeline-create"),
    path("pipelines/<int:pk>/update/", views.pipeline_update, name="pipeline-update"),
    path("pipelines/<int:pipeline_pk>/stages/create/", views.stage_create, name="stage-create"),
    path("pipelines/stages/<int:pk>/update/", views.stage_update, name="stage-update"),
    path("pipelines/stages/<int:pk>/move/", views.stage_move, name="stage-move"),
    path("pipelines/stages/<int:pk>/delete/", views.stage_delete, name="stage-delete"),
]
