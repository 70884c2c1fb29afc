from django.urls import path

from crm.customers import views

urlpatterns = [
    path("", views.account_list, name="account-list"),
    path("export.<str:fmt>", views.account_export, name="account-export"),
    path("create/", views.account_create, name="account-create"),
    path("<int:pk>/", views.account_detail, name="account-detail"),
    path("<int:pk>/update/", views.account_update, name="account-update"),
    path("<int:pk>/delete/", views.account_delete, name="account-delete"),
    path("<int:pk>/lifecycle/", views.account_lifecycle_update, name="account-lifecycle"),
    path("<int:pk>/notes/create/", views.account_note_create, name="account-note-create"),
    path("<int:account_pk>/contacts/create/", views.contact_create, name="contact-create"),
]
