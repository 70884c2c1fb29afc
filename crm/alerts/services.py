"""Notifications: written by the automation rules (and any app that needs to tell a user
something), read and dismissed by their recipient."""

from django.db import transaction
from django.utils import timezone

from crm.alerts.models import Notification
from crm.users.models import User


@transaction.atomic
def notify(*, user: User, title: str, body: str = "", url: str = "") -> Notification:
    """Tell one user something in the app; `url` is a page of the app (a path)."""
    notification = Notification(user=user, title=title[:200], body=body, url=url)
    notification.full_clean()
    notification.save()
    return notification


@transaction.atomic
def notification_mark_read(*, user: User, notification: Notification) -> Notification:
    """Mark one of the user's notifications read (someone else's: nothing happens)."""
    if notification.user_id == user.pk and notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notification_mark_all_read(*, user: User) -> int:
    return Notification.objects.visible_to(user).unread().update(read_at=timezone.now())
