from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from crm.api.auth import obtain_token
from crm.customers.api import AccountViewSet, ContactViewSet
from crm.leads import api as lead_api
from crm.leads import import_api as lead_import_api
from crm.sales import api as sales_api
from crm.users.api import UserViewSet

router = DefaultRouter()
router.register("accounts", AccountViewSet, basename="api-account")
router.register("contacts", ContactViewSet, basename="api-contact")
router.register("users", UserViewSet, basename="api-user")
lead_api.register(router)
lead_import_api.register(router)
sales_api.register(router)

urlpatterns = [
    path("v1/auth/token/", obtain_token, name="api-token"),
    path("v1/reports/", include("crm.reports.api")),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
