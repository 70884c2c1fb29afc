from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.db import DatabaseError
from django.utils import timezone
from rest_framework.views import APIView

from crm.core.selectors import company_settings_get


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Every page needs a login, except those marked `login_not_required`.

    API views are left to DRF, which authenticates tokens as well as sessions and answers
    401/403 in JSON instead of redirecting to the login page.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        view_class = getattr(view_func, "cls", None)
        if view_class is not None and issubclass(view_class, APIView):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class CompanyTimezoneMiddleware:
    """Show times in the company's time zone (stored times are always UTC)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            company = company_settings_get()
        except DatabaseError:
            # Let /healthz report the database as down instead of failing here.
            company = None
        request.company = company
        timezone.activate(company.time_zone if company else settings.TIME_ZONE)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
