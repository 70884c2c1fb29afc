from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission


class IsAdministrator(BasePermission):
    """Administrators only (a Django superuser counts as one), as the settings pages."""

    message = _("Only administrators can do this.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_admin)
