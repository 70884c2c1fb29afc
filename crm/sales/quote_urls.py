"""The quote builder under /quotes/ (sending, the PDF and the answer link live elsewhere)."""

from django.urls import path

from crm.sales import quote_views as views

urlpatterns = [
    path("new/", views.quote_create, name="quote-create"),
    path("compare/", views.quote_compare, name="quote-compare"),
    path("<int:pk>/", views.quote_detail, name="quote-detail"),
    path("<int:pk>/update/", views.quote_update, name="quote-update"),
    path("<int:pk>/delete/", views.quote_delete, name="quote-delete"),
    path("<int:pk>/revise/", views.quote_revise, name="quote-revise"),
    path("<int:pk>/duplicate/", views.quote_duplicate, name="quote-duplicate"),
    path("<int:pk>/totals/", views.quote_totals, name="quote-totals"),
    path("<int:pk>/products/", views.quote_product_search, name="quote-product-search"),
    path("<int:pk>/lines/add/", views.quote_line_add, name="quote-line-add"),
    path(
        "<int:pk>/lines/<int:line_pk>/update/",
        views.quote_line_update,
        name="quote-line-update",
    ),
    path(
        "<int:pk>/lines/<int:line_pk>/delete/",
        views.quote_line_delete,
        name="quote-line-delete",
    ),
    path("<int:pk>/lines/<int:line_pk>/move/", views.quote_line_move, name="quote-line-move"),
]
