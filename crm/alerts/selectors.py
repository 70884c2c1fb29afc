from django.shortcuts import get_object_or_404

from crm.alerts.models import Notification
from crm.users.models import User


def notification_list_for_user(*, user: User, unread_only: bool = False):
    notifications = Notification.objects.visible_to(user)
    return notifications.unread() if unread_only else notifications


def notification_get_for_user(*, user: User, notification_id: int) -> Notification:
    """One of the user's notifications; anyone else's answers 404."""
    return get_object_or_404(Notification.objects.visible_to(user), pk=notification_id)


def unread_count(*, user: User) -> int:
    return Notification.objects.visible_to(user).unread().count()
