"""Tokens: POST /api/v1/auth/token/, `Authorization: Token <token>`, and axes' lockout."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.customers.models import Account
from crm.users.services import token_for, token_regenerate
from crm.users.tests.factories import PASSWORD

TOKEN = "/api/v1/auth/token/"
ACCOUNTS = "/api/v1/accounts/"
BAD_CREDENTIALS = {"non_field_errors": ["Unable to log in with the username and password given."]}


@pytest.fixture
def client():
    return APIClient(HTTP_ACCEPT_LANGUAGE="en")


def _fail(client, username: str, times: int):
    return [
        client.post(TOKEN, {"username": username, "password": "mal"}, format="json")
        for _ in range(times)
    ]


def test_token_flow_gives_a_token_that_authenticates(client, rep):
    # when
    response = client.post(TOKEN, {"username": "rep", "password": PASSWORD}, format="json")
    # then
    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=rep).key}
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get(ACCOUNTS).status_code == 200
    rep.refresh_from_db()
    assert rep.last_login is not None


def test_token_endpoint_gives_the_same_token_twice(client, rep):
    # given
    existing = token_for(user=rep).key
    # when
    response = client.post(TOKEN, {"username": "rep", "password": PASSWORD})
    # then
    assert response.status_code == 200
    assert response.json() == {"token": existing}


def test_token_endpoint_refuses_a_wrong_password_with_400(client, rep):
    # when
    response = client.post(TOKEN, {"username": "rep", "password": "mal"}, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == BAD_CREDENTIALS
    assert not Token.objects.filter(user=rep).exists()


def test_token_endpoint_needs_username_and_password(client, db):
    # when
    response = client.post(TOKEN, {}, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {
        "username": ["This field is required."],
        "password": ["This field is required."],
    }


def test_token_endpoint_answers_malformed_json_with_400(client, db):
    # when
    response = client.post(TOKEN, data="{nope", content_type="application/json")
    # then
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


def test_token_endpoint_refuses_a_deactivated_user(client, rep):
    # given
    rep.is_active = False
    rep.save()
    # when
    response = client.post(TOKEN, {"username": "rep", "password": PASSWORD}, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == BAD_CREDENTIALS
    assert not Token.objects.filter(user=rep).exists()


def test_repeated_wrong_passwords_lock_the_username_out(client, rep):
    # given
    limit = settings.AXES_FAILURE_LIMIT
    minutes = round(settings.AXES_COOLOFF_TIME * 60)
    # when
    failures = _fail(client, "rep", limit)
    right_password = client.post(TOKEN, {"username": "rep", "password": PASSWORD}, format="json")
    # then
    assert [r.status_code for r in failures] == [400] * (limit - 1) + [429]
    for response in (failures[-1], right_password):
        assert response.status_code == 429
        assert response["Content-Type"] == "application/json"
        assert response["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME * 3600))
        assert response.json() == {
            "detail": f"Too many failed login attempts. Try again in {minutes} minutes.",
            "code": "locked_out",
        }
    assert not Token.objects.filter(user=rep).exists()
    assert AccessAttempt.objects.get(username="rep").failures_since_start >= limit


def test_lockout_on_the_token_endpoint_also_locks_the_login_page(client, rep):
    # given
    _fail(client, "rep", settings.AXES_FAILURE_LIMIT)
    # when
    response = client.post("/login/", {"username": "rep", "password": PASSWORD})
    # then
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_success_before_the_limit_resets_the_count(client, rep):
    # given
    limit = settings.AXES_FAILURE_LIMIT
    _fail(client, "rep", limit - 1)
    client.post(TOKEN, {"username": "rep", "password": PASSWORD}, format="json")
    # when
    failures = _fail(client, "rep", limit - 1)
    # then
    assert [r.status_code for r in failures] == [400] * (limit - 1)
    right = client.post(TOKEN, {"username": "rep", "password": PASSWORD}, format="json")
    assert right.status_code == 200


def test_token_endpoint_is_throttled(client, rep):
    # given
    rate = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"].split("/")[0])
    payload = {"username": "rep", "password": PASSWORD}
    for _ in range(rate):
        assert client.post(TOKEN, payload, format="json").status_code == 200
    # when
    response = client.post(TOKEN, payload, format="json")
    # then
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Request was throttled.")


def test_requests_without_a_token_answer_401(client, db):
    # when
    response = client.get(ACCOUNTS)
    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_a_wrong_token_answers_401(client, db):
    # when
    response = client.get(ACCOUNTS, HTTP_AUTHORIZATION="Token 0123456789abcdef")
    # then
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_a_deactivated_users_token_stops_working(client, rep):
    # given: the token survives if the flag is set behind the service's back
    key = token_for(user=rep).key
    rep.is_active = False
    rep.save()
    # when
    response = client.get(ACCOUNTS, HTTP_AUTHORIZATION=f"Token {key}")
    # then
    assert response.status_code == 401
    assert response.json() == {"detail": "User inactive or deleted."}


def test_a_regenerated_token_replaces_the_old_one(client, rep):
    # given
    old = token_for(user=rep).key
    new = token_regenerate(user=rep).key
    # when
    with_old = client.get(ACCOUNTS, HTTP_AUTHORIZATION=f"Token {old}")
    with_new = client.get(ACCOUNTS, HTTP_AUTHORIZATION=f"Token {new}")
    # then
    assert (with_old.status_code, with_new.status_code) == (401, 200)


def test_session_writes_need_the_csrf_token(rep):
    # given
    client = APIClient(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(rep)
    client.get("/profile/")  # a page with a form sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    # when
    refused = client.post(ACCOUNTS, {"name": "Sin CSRF"}, format="json")
    accepted = client.post(
        ACCOUNTS,
        {"name": "Con CSRF"},
        format="json",
        HTTP_X_CSRFTOKEN=csrf,
    )
    # then
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("CSRF Failed")
    assert accepted.status_code == 201
    assert list(Account.objects.values_list("name", flat=True)) == ["Con CSRF"]
