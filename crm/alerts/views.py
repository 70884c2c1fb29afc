from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from crm.alerts import selectors, services

PAGE_SIZE = 25


@require_GET
def notification_list(request):
    unread_only = request.GET.get("unread") == "1"
    notifications = selectors.notification_list_for_user(user=request.user, unread_only=unread_only)
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "unread_only": unread_only,
        "unread": selectors.unread_count(user=request.user),
        "querystring": "unread=1" if unread_only else "",
    }
    return render(request, "alerts/notification_list.html", context)


@require_GET
def notification_bell(request):
    """The bell of the menu with the unread count; htmx polls it every minute."""
    context = {"unread": selectors.unread_count(user=request.user)}
    return render(request, "alerts/notification_bell.html", context)


@require_POST
def notification_read(request, pk: int):
    """Mark read; follow the notification's link when asked to (a path of the app only)."""
    notification = selectors.notification_get_for_user(user=request.user, notification_id=pk)
    services.notification_mark_read(user=request.user, notification=notification)
    if request.POST.get("open") and url_has_allowed_host_and_scheme(
        notification.url, allowed_hosts=None
    ):
        return redirect(notification.url or "notification-list")
    if request.htmx:
        return render(request, "alerts/notification_list.html#item", {"notification": notification})
    return redirect("notification-list")


@require_POST
def notification_read_all(request):
    services.notification_mark_all_read(user=request.user)
    return redirect("notification-list")
