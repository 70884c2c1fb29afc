from django.utils.functional import SimpleLazyObject

from crm.alerts.selectors import unread_count


def notifications(request) -> dict:
    """The unread count for the menu's bell, counted only when a page shows the bell."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}
    return {"unread_notifications": SimpleLazyObject(lambda: unread_count(user=user))}
