"""The users API, /api/v1/users/: administrators only; users are deactivated, never deleted."""

from datetime import datetime

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.users.models import Role, User
from crm.users.services import token_for
from crm.users.tests.factories import TeamFactory, UserFactory

USERS = "/api/v1/users/"
NEW_PASSWORD = "Otra-Clave-Segura-77"


def _as(client: APIClient, user) -> APIClient:
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_for(user=user).key}", HTTP_ACCEPT_LANGUAGE="en"
    )
    return client


def _snapshot(user: User) -> dict:
    return User.objects.filter(pk=user.pk).values().get()


def _usernames(response) -> list[str]:
    return [row["username"] for row in response.json()["results"]]


def test_user_list_shows_an_admin_every_user(api_client, admin, manager, rep):
    # given
    gone = UserFactory(username="gone", first_name="Zoe", is_active=False)
    admin.first_name, manager.first_name, rep.first_name = "Ada", "Bruno", "Carla"
    for user in (admin, manager, rep):
        user.save()
    # when
    response = _as(api_client, admin).get(USERS)
    # then
    assert response.status_code == 200
    assert response.json()["count"] == 4
    assert _usernames(response) == ["admin", "manager", "rep", gone.username]


def test_user_list_filters_by_role_team_and_active(api_client, admin, manager, rep, other_rep):
    # given
    UserFactory(username="gone", is_active=False)
    client = _as(api_client, admin)
    # when
    reps = client.get(USERS, {"role": "sales", "team": rep.team_id})
    inactive = client.get(USERS, {"is_active": "false"})
    # then
    assert _usernames(reps) == ["rep"]
    assert _usernames(inactive) == ["gone"]


def test_user_retrieve_answers_the_users_fields(api_client, admin, rep):
    # given
    rep.phone = "+34600123456"
    rep.save()
    # when
    response = _as(api_client, admin).get(f"{USERS}{rep.pk}/")
    # then
    assert response.status_code == 200
    body = response.json()
    assert datetime.fromisoformat(body.pop("date_joined")) == rep.date_joined
    assert body == {
        "id": rep.pk,
        "username": "rep",
        "first_name": rep.first_name,
        "last_name": rep.last_name,
        "email": "rep@example.com",
        "phone": "+34600123456",
        "role": "sales",
        "team": rep.team_id,
        "language": "es",
        "is_active": True,
        "is_superuser": False,
        "last_login": None,
    }


def test_a_superuser_counts_as_administrator(api_client, rep):
    # given
    root = UserFactory(username="root", role=Role.SALES, is_superuser=True)
    # when
    response = _as(api_client, root).get(f"{USERS}{rep.pk}/")
    # then
    assert response.status_code == 200
    assert response.json()["username"] == "rep"


@pytest.mark.parametrize("who", ["manager", "rep"])
@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("get", "", None),
        ("post", "", {"username": "nuevo", "password": NEW_PASSWORD}),
        ("get", "{pk}/", None),
        ("put", "{pk}/", {"username": "cambiado", "role": "admin"}),
        ("patch", "{pk}/", {"role": "admin"}),
        ("delete", "{pk}/", None),
    ],
)
def test_users_endpoint_refuses_non_admins_with_403(
    api_client, request, other_rep, who, method, path, payload
):
    # given
    user = request.getfixturevalue(who)
    before = _snapshot(other_rep)
    count = User.objects.count()
    # when
    response = getattr(_as(api_client, user), method)(
        USERS + path.format(pk=other_rep.pk), payload, format="json"
    )
    # then
    assert response.status_code == 403
    assert response.json() == {"detail": "Only administrators can do this."}
    assert _snapshot(other_rep) == before
    assert User.objects.count() == count


def test_users_endpoint_refuses_a_non_admin_their_own_record(api_client, rep):
    # given
    before = _snapshot(rep)
    # when
    response = _as(api_client, rep).patch(f"{USERS}{rep.pk}/", {"role": "admin"}, format="json")
    # then
    assert response.status_code == 403
    assert _snapshot(rep) == before


def test_users_endpoint_without_token_answers_401(api_client, rep):
    # given
    before = _snapshot(rep)
    # when
    listing = api_client.get(USERS)
    deleting = api_client.delete(f"{USERS}{rep.pk}/")
    # then
    assert listing.status_code == 401
    assert deleting.status_code == 401
    assert _snapshot(rep) == before


def test_user_create_with_password(api_client, admin, team):
    # given
    payload = {
        "username": "lucia",
        "first_name": "Lucía",
        "email": "Lucia@Ejemplo.es",
        "phone": "600 123 456",
        "role": "manager",
        "team": team.pk,
        "language": "en",
        "password": NEW_PASSWORD,
    }
    # when
    response = _as(api_client, admin).post(USERS, payload, format="json")
    # then
    assert response.status_code == 201
    user = User.objects.get(username="lucia")
    assert response.json()["id"] == user.pk
    assert "password" not in response.json()
    assert (user.email, user.phone, user.role, user.team, user.language, user.is_active) == (
        "lucia@ejemplo.es",
        "+34600123456",
        Role.MANAGER,
        team,
        "en",
        True,
    )
    assert user.check_password(NEW_PASSWORD)


def test_user_create_with_a_weak_password_answers_400_and_saves_nothing(api_client, admin):
    # given
    payload = {"username": "lucia", "password": "123"}
    # when
    response = _as(api_client, admin).post(USERS, payload, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {
        "password": [
            "This password is too short. It must contain at least 8 characters.",
            "This password is too common.",
            "This password is entirely numeric.",
        ]
    }
    assert not User.objects.filter(username="lucia").exists()


def test_user_create_with_a_taken_username_or_bad_types_answers_400(api_client, admin, rep):
    # given
    client = _as(api_client, admin)
    count = User.objects.count()
    # when
    taken = client.post(USERS, {"username": "rep", "password": NEW_PASSWORD}, format="json")
    bad = client.post(USERS, {"username": "x", "role": "jefe", "team": 999999}, format="json")
    # then
    assert taken.status_code == 400
    assert taken.json() == {"username": ["A user with that username already exists."]}
    assert bad.status_code == 400
    assert bad.json() == {
        "role": ['"jefe" is not a valid choice.'],
        "team": ['Invalid pk "999999" - object does not exist.'],
        "password": ["This field is required."],
    }
    assert User.objects.count() == count


def test_user_patch_changes_role_and_team(api_client, admin, rep):
    # given
    team = TeamFactory(name="Norte")
    # when
    response = _as(api_client, admin).patch(
        f"{USERS}{rep.pk}/", {"role": "manager", "team": team.pk}, format="json"
    )
    # then
    assert response.status_code == 200
    rep.refresh_from_db()
    assert (rep.role, rep.team, rep.username) == (Role.MANAGER, team, "rep")
    assert response.json()["role"] == "manager"


def test_user_put_needs_the_username(api_client, admin, rep):
    # given
    before = _snapshot(rep)
    # when
    response = _as(api_client, admin).put(f"{USERS}{rep.pk}/", {"role": "admin"}, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {"username": ["This field is required."]}
    assert _snapshot(rep) == before


def test_user_put_with_an_invalid_phone_changes_nothing(api_client, admin, rep):
    # given
    before = _snapshot(rep)
    # when
    response = _as(api_client, admin).put(
        f"{USERS}{rep.pk}/", {"username": "rep2", "phone": "12"}, format="json"
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"phone": ["“12” is not a valid phone number."]}
    assert _snapshot(rep) == before


def test_an_admin_cannot_take_the_admin_role_from_themselves(api_client, admin):
    # given
    before = _snapshot(admin)
    # when
    response = _as(api_client, admin).patch(f"{USERS}{admin.pk}/", {"role": "sales"}, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {"role": ["You cannot take the administrator role from yourself."]}
    assert _snapshot(admin) == before


def test_user_delete_deactivates_instead_of_deleting(api_client, admin, rep):
    # given
    rep_token = token_for(user=rep).key
    # when
    response = _as(api_client, admin).delete(f"{USERS}{rep.pk}/")
    # then
    assert response.status_code == 204
    rep.refresh_from_db()
    assert rep.is_active is False
    assert not Token.objects.filter(user=rep).exists()
    assert api_client.get(f"{USERS}{rep.pk}/").json()["is_active"] is False
    # and the deactivated user's token stops working
    refused = APIClient().get("/api/v1/accounts/", HTTP_AUTHORIZATION=f"Token {rep_token}")
    assert refused.status_code == 401


def test_an_admin_cannot_deactivate_themselves(api_client, admin):
    # when
    response = _as(api_client, admin).delete(f"{USERS}{admin.pk}/")
    # then
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["You cannot deactivate yourself."]}
    admin.refresh_from_db()
    assert admin.is_active is True


def test_user_patch_is_active_reactivates_and_deactivates(api_client, admin, rep):
    # given
    client = _as(api_client, admin)
    # when
    off = client.patch(f"{USERS}{rep.pk}/", {"is_active": False}, format="json")
    rep.refresh_from_db()
    was_active = rep.is_active
    on = client.patch(f"{USERS}{rep.pk}/", {"is_active": True}, format="json")
    # then
    assert (off.status_code, on.status_code) == (200, 200)
    assert was_active is False
    rep.refresh_from_db()
    assert rep.is_active is True
    assert on.json()["is_active"] is True


def test_user_patch_rolls_back_the_data_when_deactivation_fails(api_client, admin):
    # given
    before = _snapshot(admin)
    # when
    response = _as(api_client, admin).patch(
        f"{USERS}{admin.pk}/", {"first_name": "Otra", "is_active": False}, format="json"
    )
    # then
    assert response.status_code == 400
    assert _snapshot(admin) == before


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_user_unknown_id_answers_404(api_client, admin, method):
    # when
    response = getattr(_as(api_client, admin), method)(
        f"{USERS}999999/", {"username": "x"}, format="json"
    )
    # then
    assert response.status_code == 404
    assert response.json() == {"detail": "No User matches the given query."}
