from django.urls import path

from crm.sales import public_views

urlpatterns = [
    path("<str:token>/", public_views.quote_public, name="quote-public"),
    path("<str:token>/pdf/", public_views.quote_public_pdf, name="quote-public-pdf"),
]
