"""Notifications: the list, the bell polled by htmx, marking read; each user sees only theirs."""

import pytest
from django.urls import reverse
from django.utils import translation

from crm.alerts import services
from crm.alerts.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def rep_client(client, rep):
    rep.language = "en"
    rep.save()
    client.force_login(rep)
    return client


def test_the_list_shows_the_users_notifications_only(rep_client, rep, other_rep):
    services.notify(user=rep, title="Llamar a Ana", body="Hoy", url="/leads/1/")
    services.notify(user=other_rep, title="Ajena")
    html = rep_client.get(reverse("notification-list")).content.decode()
    assert "Llamar a Ana" in html
    assert "Ajena" not in html


def test_the_bell_counts_the_unread(rep_client, rep):
    services.notify(user=rep, title="Uno")
    services.notify(user=rep, title="Dos")
    read = services.notify(user=rep, title="Tres")
    services.notification_mark_read(user=rep, notification=read)
    response = rep_client.get(reverse("notification-bell"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert 'hx-trigger="every 60s"' in html
    assert ">2<span" in html


def test_the_list_query_count_does_not_grow(rep_client, rep, django_assert_max_num_queries):
    for n in range(30):
        services.notify(user=rep, title=f"N{n}")
    with django_assert_max_num_queries(13):
        rep_client.get(reverse("notification-list"))


def test_mark_read_and_open_follows_the_link(rep_client, rep):
    notification = services.notify(user=rep, title="Uno", url="/leads/7/")
    response = rep_client.post(reverse("notification-read", args=[notification.pk]), {"open": "1"})
    assert response.status_code == 302
    assert response["Location"] == "/leads/7/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_mark_read_with_htmx_returns_the_item(rep_client, rep):
    notification = services.notify(user=rep, title="Uno")
    response = rep_client.post(
        reverse("notification-read", args=[notification.pk]), headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert f'id="notification-{notification.pk}"' in html
    assert "Mark as read" not in html


def test_someone_elses_notification_is_404_and_stays_unread(rep_client, other_rep):
    notification = services.notify(user=other_rep, title="Ajena")
    response = rep_client.post(reverse("notification-read", args=[notification.pk]))
    assert response.status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_all_read(rep_client, rep, other_rep):
    services.notify(user=rep, title="Uno")
    services.notify(user=rep, title="Dos")
    services.notify(user=other_rep, title="Ajena")
    rep_client.post(reverse("notification-read-all"))
    assert not Notification.objects.filter(user=rep, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=other_rep, read_at__isnull=True).count() == 1


def test_an_outside_link_is_refused(rep, db):
    with pytest.raises(Exception):  # noqa: B017, PT011 (the model's check: a path of the app)
        services.notify(user=rep, title="Fuera", url="https://evil.example.com/")
    assert not Notification.objects.exists()
