from functools import wraps

from django.core.exceptions import PermissionDenied


def admin_required(view):
    """Configuration pages: administrators only (a superuser counts as one)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_admin:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
