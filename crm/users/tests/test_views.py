import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from crm.users.models import Role, Team, User
from crm.users.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def login(client, username, password=PASSWORD, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def test_login_and_logout(client, rep):
    response = login(client, "rep")
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200

    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_shows_an_error_on_the_login_page(client, rep):
    response = login(client, "rep", "mal")

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()


def test_repeated_failures_lock_the_username_out_even_with_the_right_password(
    client, rep, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "rep", "mal")

    response = login(client, "rep")

    assert response.status_code == 429
    assert client.get(reverse("home")).status_code == 302


def test_repeated_failures_lock_the_address_out_for_other_usernames(rep, other_rep, settings):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(settings.AXES_FAILURE_LIMIT):
        login(attacker, f"nadie{n}", "mal")

    assert login(attacker, "other").status_code == 429
    # Another address is not affected.
    assert login(Client(REMOTE_ADDR="198.51.100.7"), "other").status_code == 302


def test_inactive_user_cannot_log_in(client, rep):
    rep.is_active = False
    rep.save()

    assert login(client, "rep").status_code == 200
    assert client.get(reverse("home")).status_code == 302


def test_password_reset_sends_a_working_link(client, rep):
    client.post(reverse("password-reset"), {"email": rep.email})

    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/password/reset/\S+/)", mail.outbox[0].body).group(1)
    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link
    response = client.post(
        form_url, {"new_password1": "Otra-Clave-Segura-77", "new_password2": "Otra-Clave-Segura-77"}
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.check_password("Otra-Clave-Segura-77")


def test_password_change_applies_the_validators(client, rep):
    client.force_login(rep)

    response = client.post(
        reverse("password-change"),
        {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
    rep.refresh_from_db()
    assert rep.check_password(PASSWORD)


def test_interface_is_spanish_by_default_and_english_per_user(client, rep):
    client.force_login(rep)
    assert 'lang="es"' in client.get(reverse("account-list")).content.decode()

    client.post(reverse("profile"), {"language": "en"})

    rep.refresh_from_db()
    assert rep.language == "en"
    assert 'lang="en"' in client.get(reverse("account-list")).content.decode()


def test_session_changes_need_a_csrf_token(rep):
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)

    response = client.post(reverse("profile"), {"language": "en"})

    assert response.status_code == 403
    rep.refresh_from_db()
    assert rep.language == "es"


def test_token_regeneration_replaces_the_old_token(client, rep):
    old = Token.objects.create(user=rep)
    client.force_login(rep)

    response = client.post(reverse("token-regenerate"))

    new = Token.objects.get(user=rep)
    assert new.key != old.key
    assert new.key in response.content.decode()


@pytest.mark.parametrize("name", ["user-list", "user-create", "team-create"])
def test_user_management_is_for_administrators_only(client, rep, manager, name):
    for user in (rep, manager):
        client.force_login(user)
        assert client.get(reverse(name)).status_code == 403


def test_admin_creates_a_user_with_role_and_team(client, admin, team):
    client.force_login(admin)

    response = client.post(
        reverse("user-create"),
        {
            "username": "nuevo",
            "first_name": "Nuevo",
            "email": "nuevo@example.com",
            "role": Role.MANAGER,
            "team": team.pk,
            "language": "es",
            "password": "Una-Clave-Bien-Larga-9",
        },
    )

    assert response.status_code == 302
    user = User.objects.get(username="nuevo")
    assert (user.role, user.team) == (Role.MANAGER, team)
    assert user.check_password("Una-Clave-Bien-Larga-9")


def test_weak_initial_password_is_refused_beside_the_field(client, admin):
    client.force_login(admin)

    response = client.post(
        reverse("user-create"),
        {"username": "debil", "role": Role.SALES, "language": "es", "password": "12345678"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["password"]
    assert not User.objects.filter(username="debil").exists()


def test_admin_deactivates_instead_of_deleting(client, admin, rep):
    client.force_login(admin)

    client.post(reverse("user-set-active", args=[rep.pk]), {"active": "0"})

    rep.refresh_from_db()
    assert rep.is_active is False
    assert User.objects.filter(pk=rep.pk).exists()


def test_admin_cannot_deactivate_themselves(client, admin):
    client.force_login(admin)

    client.post(reverse("user-set-active", args=[admin.pk]), {"active": "0"})

    admin.refresh_from_db()
    assert admin.is_active is True


def test_user_list_shows_active_users_against_licensed_seats(client, admin, rep):
    client.force_login(admin)

    response = client.get(reverse("user-list"))

    assert response.context["seats_in_use"] == 2
    assert response.context["licensed_seats"] == 3


def test_unknown_user_is_404(client, admin):
    client.force_login(admin)
    assert client.get(reverse("user-update", args=[99999])).status_code == 404


def test_team_is_created_with_a_manager(client, admin, manager):
    client.force_login(admin)

    response = client.post(reverse("team-create"), {"name": "Levante", "manager": manager.pk})

    assert response.status_code == 302
    assert Team.objects.get(name="Levante").manager == manager


def test_superuser_counts_as_administrator(client):
    boss = UserFactory(role=Role.SALES, is_superuser=True)
    client.force_login(boss)

    assert client.get(reverse("user-list")).status_code == 200


def test_behind_a_proxy_one_clients_failures_do_not_lock_out_the_others(rep, other_rep, settings):
    settings.BEHIND_PROXY = True
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    attacker = Client(HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy)
    for n in range(settings.AXES_FAILURE_LIMIT):
        login(attacker, f"nadie{n}", "mal")

    assert login(attacker, "other").status_code == 429
    colleague = Client(HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)
    assert login(colleague, "other").status_code == 302
