from django.urls import path

from crm.activities import views

urlpatterns = [
    path("", views.activity_my_day, name="activity-my-day"),
    path("team/", views.activity_team, name="activity-team"),
    path("calendar/", views.activity_calendar, name="activity-calendar"),
    path("all/", views.activity_list, name="activity-list"),
    path("new/", views.activity_create, name="activity-create"),
    path("log-call/", views.activity_log_call, name="activity-log-call"),
    path("feed/", views.calendar_feed, name="calendar-feed"),
    path("feed/<str:token>.ics", views.calendar_feed_ics, name="calendar-feed-ics"),
    path("<int:pk>/", views.activity_detail, name="activity-detail"),
    path("<int:pk>/update/", views.activity_update, name="activity-update"),
    path("<int:pk>/complete/", views.activity_complete, name="activity-complete"),
    path("<int:pk>/cancel/", views.activity_cancel, name="activity-cancel"),
]
