from django.urls import path

from crm.sales import delivery_views

urlpatterns = [
    path("<int:pk>/pdf/", delivery_views.quote_pdf, name="quote-pdf"),
    path("<int:pk>/send/", delivery_views.quote_send, name="quote-send"),
    path("<int:pk>/win/", delivery_views.quote_win, name="quote-win"),
]
