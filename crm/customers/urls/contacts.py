from django.urls import path

from crm.customers import views

urlpatterns = [
    path("", views.contact_list, name="contact-list"),
    path("export.<str:fmt>", views.contact_export, name="contact-export"),
    path("<int:pk>/", views.contact_detail, name="contact-detail"),
    path("<int:pk>/update/", views.contact_update, name="contact-update"),
    path("<int:pk>/delete/", views.contact_delete, name="contact-delete"),
]
