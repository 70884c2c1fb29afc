from django.urls import path

from crm.alerts import views

urlpatterns = [
    path("", views.notification_list, name="notification-list"),
    path("bell/", views.notification_bell, name="notification-bell"),
    path("read-all/", views.notification_read_all, name="notification-read-all"),
    path("<int:pk>/read/", views.notification_read, name="notification-read"),
]
