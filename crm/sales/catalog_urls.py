"""The catalog of products and services under /catalog/."""

from django.urls import path

from crm.sales import catalog_views as views

urlpatterns = [
    path("", views.product_list, name="product-list"),
    path("new/", views.product_create, name="product-create"),
    path("import/", views.product_import, name="product-import"),
    path("<int:pk>/update/", views.product_update, name="product-update"),
]
