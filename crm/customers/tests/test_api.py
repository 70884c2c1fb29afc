"""The accounts and contacts API: /api/v1/accounts/ and /api/v1/contacts/."""

import json
from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from crm.core.models import Channel, Sector
from crm.customers.models import (
    Account,
    AccountEvent,
    AccountKind,
    ConsentSource,
    Contact,
    EventKind,
    Lifecycle,
    Tag,
)
from crm.customers.tests.factories import AccountFactory, ContactFactory
from crm.users.services import token_for
from crm.users.tests.factories import UserFactory

ACCOUNTS = "/api/v1/accounts/"
CONTACTS = "/api/v1/contacts/"


def _as(client: APIClient, user) -> APIClient:
    """Authenticate with the user's token; English messages so that texts are stable."""
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_for(user=user).key}", HTTP_ACCEPT_LANGUAGE="en"
    )
    return client


def _names(response) -> list[str]:
    return [row["name"] for row in response.json()["results"]]


def _snapshot(model, pk: int) -> dict:
    return model.objects.filter(pk=pk).values().get()


# Listing, paging, visibility


def test_account_list_answers_a_page_of_the_visible_accounts(api_client, rep):
    # given
    AccountFactory(name="Beta SL", owner=rep)
    AccountFactory(name="Alfa SL", owner=rep)
    # when
    response = _as(api_client, rep).get(ACCOUNTS)
    # then
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    assert body["next"] is None
    assert body["previous"] is None
    assert _names(response) == ["Alfa SL", "Beta SL"]


def test_account_list_pages_with_page_size(api_client, rep):
    # given
    for name in ["A", "B", "C", "D", "E"]:
        AccountFactory(name=name, owner=rep)
    # when
    first = _as(api_client, rep).get(ACCOUNTS, {"page_size": 2})
    last = api_client.get(ACCOUNTS, {"page_size": 2, "page": 3})
    # then
    assert first.json()["count"] == 5
    assert _names(first) == ["A", "B"]
    assert first.json()["next"] == "http://testserver/api/v1/accounts/?page=2&page_size=2"
    assert first.json()["previous"] is None
    assert _names(last) == ["E"]
    assert last.json()["next"] is None


def test_account_list_page_out_of_range_answers_404(api_client, rep):
    # given
    AccountFactory(owner=rep)
    # when
    response = _as(api_client, rep).get(ACCOUNTS, {"page": 7})
    # then
    assert response.status_code == 404


def test_account_list_shows_an_admin_every_account(api_client, admin, rep, other_rep):
    # given
    AccountFactory(name="De rep", owner=rep)
    AccountFactory(name="De otro", owner=other_rep)
    # when
    response = _as(api_client, admin).get(ACCOUNTS)
    # then
    assert _names(response) == ["De otro", "De rep"]


def test_account_list_shows_a_manager_their_teams_accounts(api_client, manager, rep, other_rep):
    # given
    AccountFactory(name="De rep", owner=rep)
    AccountFactory(name="Propia", owner=manager)
    AccountFactory(name="De otro", owner=other_rep)
    # when
    response = _as(api_client, manager).get(ACCOUNTS)
    # then
    assert _names(response) == ["De rep", "Propia"]


def test_account_list_shows_a_rep_own_and_shared_accounts(api_client, rep, other_rep, manager):
    # given
    AccountFactory(name="Propia", owner=rep)
    shared = AccountFactory(name="Compartida", owner=other_rep)
    shared.shared_with.add(rep)
    AccountFactory(name="Ajena", owner=other_rep)
    AccountFactory(name="Del jefe", owner=manager)
    # when
    response = _as(api_client, rep).get(ACCOUNTS)
    # then
    assert _names(response) == ["Compartida", "Propia"]


def test_account_list_query_count_does_not_grow_with_rows(api_client, rep):
    # given
    tag = Tag.objects.create(name="vip")
    other = UserFactory()

    def add_accounts(n):
        for _ in range(n):
            account = AccountFactory(owner=rep)
            account.tags.add(tag)
            account.shared_with.add(other)

    add_accounts(2)
    client = _as(api_client, rep)
    client.get(ACCOUNTS)  # the first request of all creates the company settings
    with CaptureQueriesContext(connection) as few:
        client.get(ACCOUNTS)
    add_accounts(6)
    # when
    with CaptureQueriesContext(connection) as many:
        response = client.get(ACCOUNTS)
    # then
    assert response.json()["count"] == 8
    assert len(many.captured_queries) == len(few.captured_queries)


# Filtering (the pages' AccountFilter)


def test_account_search_folds_accents(api_client, rep):
    # given
    AccountFactory(name="Talleres Muñoz SL", owner=rep)
    AccountFactory(name="Talleres Pérez SL", owner=rep)
    # when
    response = _as(api_client, rep).get(ACCOUNTS, {"q": "munoz"})
    # then
    assert _names(response) == ["Talleres Muñoz SL"]


def test_account_search_never_reaches_beyond_visibility(api_client, rep, other_rep):
    # given
    AccountFactory(name="Muñoz propia", owner=rep)
    AccountFactory(name="Muñoz ajena", owner=other_rep)
    # when
    response = _as(api_client, rep).get(ACCOUNTS, {"q": "MUÑOZ"})
    # then
    assert _names(response) == ["Muñoz propia"]


def test_account_list_filters_by_lifecycle_kind_and_province(api_client, rep):
    # given
    AccountFactory(name="Cliente Madrid", owner=rep, lifecycle=Lifecycle.CUSTOMER)
    AccountFactory(
        name="Cliente Sevilla", owner=rep, lifecycle=Lifecycle.CUSTOMER, billing_province="41"
    )
    AccountFactory(
        name="Particular", owner=rep, lifecycle=Lifecycle.CUSTOMER, kind=AccountKind.INDIVIDUAL
    )
    AccountFactory(name="Prospecto", owner=rep)
    client = _as(api_client, rep)
    # when
    by_lifecycle = client.get(ACCOUNTS, {"lifecycle": "customer", "kind": "company"})
    by_province = client.get(ACCOUNTS, {"province": "41"})
    # then
    assert _names(by_lifecycle) == ["Cliente Madrid", "Cliente Sevilla"]
    assert _names(by_province) == ["Cliente Sevilla"]


def test_account_list_filters_by_owner_team_tag_sector_and_channel(api_client, manager, rep):
    # given
    web = Channel.objects.get(name="Web")
    trade = Sector.objects.get(name="Comercio")
    tagged = AccountFactory(name="Etiquetada", owner=manager, sector=trade, channel=web)
    tagged.tags.add(Tag.objects.create(name="vip"))
    AccountFactory(name="De rep", owner=rep)
    client = _as(api_client, manager)
    vip = Tag.objects.get(name="vip")
    # when
    by_owner = client.get(ACCOUNTS, {"owner": rep.pk})
    by_team = client.get(ACCOUNTS, {"team": rep.team_id})
    by_tag = client.get(ACCOUNTS, {"tag": vip.pk})
    by_sector_channel = client.get(ACCOUNTS, {"sector": trade.pk, "channel": web.pk})
    # then
    assert _names(by_owner) == ["De rep"]
    assert _names(by_team) == ["De rep", "Etiquetada"]
    assert _names(by_tag) == ["Etiquetada"]
    assert _names(by_sector_channel) == ["Etiquetada"]


def test_account_list_sorts(api_client, rep):
    # given
    AccountFactory(name="B", owner=rep, billing_city="Zaragoza")
    AccountFactory(name="A", owner=rep, billing_city="Ávila")
    AccountFactory(name="C", owner=rep, billing_city="Madrid")
    client = _as(api_client, rep)
    # when
    by_name_desc = client.get(ACCOUNTS, {"sort": "-name"})
    by_created = client.get(ACCOUNTS, {"sort": "created"})
    # then
    assert _names(by_name_desc) == ["C", "B", "A"]
    assert _names(by_created) == ["B", "A", "C"]


def test_account_list_rejects_invalid_filters_with_400(api_client, rep):
    # given
    client = _as(api_client, rep)
    # when
    response = client.get(ACCOUNTS, {"lifecycle": "zombie", "owner": "abc", "sort": "colour"})
    # then
    assert response.status_code == 400
    assert set(response.json()) == {"lifecycle", "owner", "sort"}


# Retrieve


def test_account_retrieve_answers_every_field(api_client, rep, other_rep):
    # given
    web = Channel.objects.get(name="Web")
    trade = Sector.objects.get(name="Comercio")
    account = AccountFactory(
        name="Ferretería Muñoz SL",
        nif="B12345674",
        lifecycle=Lifecycle.CUSTOMER,
        phone="+34600123456",
        email="hola@ferreteria.example",
        website="https://ferreteria.example",
        sector=trade,
        size_segment="3-9",
        channel=web,
        owner=rep,
        notes="Abre a las 9",
        billing_street="Calle Mayor 1",
        billing_postal_code="28013",
        shipping_city="Getafe",
        shipping_province="28",
        created_by=rep,
        updated_by=rep,
    )
    account.shared_with.add(other_rep)
    account.tags.add(Tag.objects.create(name="vip"), Tag.objects.create(name="ferretería"))
    # when
    response = _as(api_client, rep).get(f"{ACCOUNTS}{account.pk}/")
    # then
    assert response.status_code == 200
    body = response.json()
    created_at, updated_at = body.pop("created_at"), body.pop("updated_at")
    assert datetime.fromisoformat(created_at) == account.created_at
    assert datetime.fromisoformat(updated_at) == account.updated_at
    assert body == {
        "id": account.pk,
        "kind": "company",
        "name": "Ferretería Muñoz SL",
        "nif": "B12345674",
        "lifecycle": "customer",
        "phone": "+34600123456",
        "email": "hola@ferreteria.example",
        "website": "https://ferreteria.example",
        "sector": trade.pk,
        "size_segment": "3-9",
        "channel": web.pk,
        "owner": rep.pk,
        "team": rep.team_id,
        "shared_with": [other_rep.pk],
        "tags": ["ferretería", "vip"],
        "notes": "Abre a las 9",
        "billing_street": "Calle Mayor 1",
        "billing_postal_code": "28013",
        "billing_city": "Madrid",
        "billing_province": "28",
        "billing_country": "ES",
        "shipping_street": "",
        "shipping_postal_code": "",
        "shipping_city": "Getafe",
        "shipping_province": "28",
        "shipping_country": "ES",
        "created_by": rep.pk,
        "updated_by": rep.pk,
    }


# Create


def test_account_create_goes_through_the_service(api_client, rep):
    # given
    web = Channel.objects.get(name="Web")
    payload = {
        "name": "  Talleres Núñez SL ",
        "nif": "b-12345674",
        "phone": "600 12 34 56",
        "email": "Info@Talleres.example",
        "channel": web.pk,
        "lifecycle": "customer",
        "tags": ["vip", " taller "],
        "billing_province": "28",
    }
    # when
    response = _as(api_client, rep).post(ACCOUNTS, payload, format="json")
    # then
    assert response.status_code == 201
    account = Account.objects.get()
    assert response.json()["id"] == account.pk
    assert (account.name, account.nif, account.phone, account.email) == (
        "Talleres Núñez SL",
        "B12345674",
        "+34600123456",
        "info@talleres.example",
    )
    assert (account.owner, account.team, account.created_by, account.channel) == (
        rep,
        rep.team,
        rep,
        web,
    )
    assert sorted(account.tags.values_list("name", flat=True)) == ["taller", "vip"]
    assert response.json()["tags"] == ["taller", "vip"]
    assert response.json()["phone"] == "+34600123456"
    assert list(account.events.values_list("kind", "actor")) == [(EventKind.CREATED, rep.pk)]


def test_account_create_lets_a_manager_give_it_to_their_team(api_client, manager, rep):
    # given
    payload = {"name": "Para rep", "owner": rep.pk}
    # when
    response = _as(api_client, manager).post(ACCOUNTS, payload, format="json")
    # then
    assert response.status_code == 201
    assert Account.objects.get().owner == rep
    assert response.json()["owner"] == rep.pk


def test_account_create_refuses_a_rep_giving_it_away(api_client, rep, other_rep):
    # given
    payload = {"name": "Regalo", "owner": other_rep.pk}
    # when
    response = _as(api_client, rep).post(ACCOUNTS, payload, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {"owner": ["You cannot give this record to that user."]}
    assert Account.objects.count() == 0


def test_account_create_with_invalid_nif_answers_400_and_saves_nothing(api_client, rep):
    # given
    payload = {"name": "Mala SL", "nif": "B12345675", "phone": "12"}
    # when
    response = _as(api_client, rep).post(ACCOUNTS, payload, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {
        "nif": ["“B12345675” is not a valid NIF, CIF or NIE."],
        "phone": ["“12” is not a valid phone number."],
    }
    assert Account.objects.count() == 0
    assert AccountEvent.objects.count() == 0


def test_account_create_with_wrong_types_answers_400_by_field(api_client, rep):
    # given
    payload = {
        "kind": "alien",
        "sector": 999999,
        "tags": "vip",
        "email": "no-es-un-email",
        "billing_province": "99",
    }
    # when
    response = _as(api_client, rep).post(ACCOUNTS, payload, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {
        "kind": ['"alien" is not a valid choice.'],
        "name": ["This field is required."],
        "sector": ['Invalid pk "999999" - object does not exist.'],
        "tags": ['Expected a list of items but got type "str".'],
        "email": ["Enter a valid email address."],
        "billing_province": ['"99" is not a valid choice.'],
    }
    assert Account.objects.count() == 0


def test_account_create_with_a_too_long_name_answers_the_models_error(api_client, rep):
    # given
    payload = {"name": "x" * 201}
    # when
    response = _as(api_client, rep).post(ACCOUNTS, payload, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {
        "name": ["Ensure this value has at most 200 characters (it has 201)."]
    }
    assert Account.objects.count() == 0


def test_account_create_with_malformed_json_answers_400(api_client, rep):
    # when
    response = _as(api_client, rep).post(
        ACCOUNTS, data='{"name": "Rota', content_type="application/json"
    )
    # then
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert Account.objects.count() == 0


def test_account_create_with_a_json_list_answers_400(api_client, rep):
    # when
    response = _as(api_client, rep).post(ACCOUNTS, [{"name": "Lista"}], format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }
    assert Account.objects.count() == 0


def test_account_create_with_duplicates_answers_409_listing_the_visible_ones(
    api_client, rep, other_rep
):
    # given
    mine = AccountFactory(name="Mía SL", owner=rep, nif="B12345674")
    contact = ContactFactory(
        account=mine, first_name="Ana", last_name="Ruiz", email="compras@ejemplo.es"
    )
    AccountFactory(name="Ajena SL", owner=other_rep, phone="+34600123456")
    payload = {
        "name": "Nueva SL",
        "nif": "B12345674",
        "email": "compras@ejemplo.es",
        "phone": "600123456",
    }
    # when
    response = _as(api_client, rep).post(ACCOUNTS, payload, format="json")
    # then
    assert response.status_code == 409
    assert response.json() == {
        "detail": "A record with the same NIF, e-mail or phone already exists.",
        "code": "duplicates",
        "duplicates": [
            {"id": mine.pk, "name": "Mía SL", "kind": "account"},
            {"id": contact.pk, "name": "Ana Ruiz", "kind": "contact"},
        ],
        "hidden": 1,
        "hint": 'Send "allow_duplicates": true in the body to create it anyway.',
    }
    assert Account.objects.filter(name="Nueva SL").count() == 0


def test_account_create_with_allow_duplicates_creates_it(api_client, rep):
    # given
    AccountFactory(name="Mía SL", owner=rep, nif="B12345674")
    payload = {"name": "Nueva SL", "nif": "B12345674", "allow_duplicates": True}
    # when
    response = _as(api_client, rep).post(ACCOUNTS, payload, format="json")
    # then
    assert response.status_code == 201
    assert Account.objects.filter(nif="B12345674").count() == 2


def test_account_create_without_token_answers_401(api_client, rep):
    # when
    response = api_client.post(ACCOUNTS, {"name": "Anónima"}, format="json")
    # then
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    assert Account.objects.count() == 0


def test_account_search_with_a_nul_character_answers_400(api_client, rep):
    # when
    response = _as(api_client, rep).get(ACCOUNTS, {"q": "a\x00b"})
    # then
    assert response.status_code == 400
    assert response.json() == {"q": ["Null characters are not allowed."]}


def test_account_patch_without_token_answers_401_and_changes_nothing(api_client, rep):
    # given
    account = AccountFactory(name="Intacta", owner=rep)
    before = _snapshot(Account, account.pk)
    # when
    response = api_client.patch(f"{ACCOUNTS}{account.pk}/", {"name": "Cambiada"}, format="json")
    # then
    assert response.status_code == 401
    assert _snapshot(Account, account.pk) == before


def test_account_list_without_token_answers_401(api_client, db):
    # when
    response = api_client.get(ACCOUNTS)
    # then
    assert response.status_code == 401
    assert response.json() == {"detail": "Las credenciales de autenticación no se proveyeron."}


# Update


def test_account_patch_changes_only_the_given_fields(api_client, rep):
    # given
    account = AccountFactory(name="Vieja SL", owner=rep, notes="nota", email="a@ejemplo.es")
    account.tags.add(Tag.objects.create(name="vip"))
    # when
    response = _as(api_client, rep).patch(
        f"{ACCOUNTS}{account.pk}/", {"lifecycle": "customer", "phone": "910 123 456"}, format="json"
    )
    # then
    assert response.status_code == 200
    account.refresh_from_db()
    assert (account.name, account.lifecycle, account.phone, account.notes, account.email) == (
        "Vieja SL",
        "customer",
        "+34910123456",
        "nota",
        "a@ejemplo.es",
    )
    assert response.json()["tags"] == ["vip"]
    assert response.json()["lifecycle"] == "customer"
    assert account.updated_by == rep
    event = account.events.get(kind=EventKind.UPDATED)
    assert set(event.changes) == {"lifecycle", "phone"}


def test_account_put_replaces_tags_and_sharing(api_client, rep, other_rep):
    # given
    account = AccountFactory(name="Vieja SL", owner=rep)
    account.tags.add(Tag.objects.create(name="vip"))
    payload = {"name": "Nueva SL", "tags": ["nuevo"], "shared_with": [other_rep.pk]}
    # when
    response = _as(api_client, rep).put(f"{ACCOUNTS}{account.pk}/", payload, format="json")
    # then
    assert response.status_code == 200
    account.refresh_from_db()
    assert account.name == "Nueva SL"
    assert list(account.tags.values_list("name", flat=True)) == ["nuevo"]
    assert list(account.shared_with.all()) == [other_rep]
    assert response.json()["tags"] == ["nuevo"]
    assert response.json()["shared_with"] == [other_rep.pk]


def test_account_put_without_name_answers_400_and_changes_nothing(api_client, rep):
    # given
    account = AccountFactory(name="Vieja SL", owner=rep)
    before = _snapshot(Account, account.pk)
    # when
    response = _as(api_client, rep).put(
        f"{ACCOUNTS}{account.pk}/", {"notes": "sin nombre"}, format="json"
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"name": ["This field is required."]}
    assert _snapshot(Account, account.pk) == before


def test_account_patch_with_invalid_nif_answers_400_and_changes_nothing(api_client, rep):
    # given
    account = AccountFactory(name="Vieja SL", owner=rep, nif="B12345674")
    before = _snapshot(Account, account.pk)
    # when
    response = _as(api_client, rep).patch(
        f"{ACCOUNTS}{account.pk}/", {"nif": "X", "name": "Otra"}, format="json"
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"nif": ["“X” is not a valid NIF, CIF or NIE."]}
    assert _snapshot(Account, account.pk) == before
    assert AccountEvent.objects.count() == 0


# Records outside the user's scope, and unknown ids


@pytest.mark.parametrize(
    ("method", "payload"),
    [("get", None), ("put", {"name": "Robada"}), ("patch", {"name": "Robada"})],
)
def test_account_outside_scope_answers_404_like_an_unknown_id(
    api_client, rep, other_rep, method, payload
):
    # given
    foreign = AccountFactory(name="Ajena", owner=other_rep)
    before = _snapshot(Account, foreign.pk)
    client = _as(api_client, rep)
    # when
    response = getattr(client, method)(f"{ACCOUNTS}{foreign.pk}/", payload, format="json")
    unknown = getattr(client, method)(f"{ACCOUNTS}{foreign.pk + 1000}/", payload, format="json")
    # then
    assert response.status_code == 404
    assert response.json() == unknown.json() == {"detail": "No Account matches the given query."}
    assert unknown.status_code == 404
    assert _snapshot(Account, foreign.pk) == before
    assert AccountEvent.objects.count() == 0


def test_account_outside_scope_answers_404_even_with_invalid_input(api_client, rep, other_rep):
    # given
    foreign = AccountFactory(name="Ajena", owner=other_rep)
    # when
    response = _as(api_client, rep).patch(
        f"{ACCOUNTS}{foreign.pk}/", {"nif": "malo"}, format="json"
    )
    # then
    assert response.status_code == 404


def test_account_with_a_huge_id_answers_404(api_client, rep):
    # when
    response = _as(api_client, rep).get(f"{ACCOUNTS}99999999999999999999999/")
    # then
    assert response.status_code == 404


def test_admin_deletes_an_account_with_its_contacts(api_client, admin, other_rep):
    # given
    account = AccountFactory(name="Borrar", owner=other_rep)
    ContactFactory(account=account)
    # when
    response = _as(api_client, admin).delete(f"{ACCOUNTS}{account.pk}/")
    # then
    assert response.status_code == 204
    assert not Account.objects.filter(pk=account.pk).exists()
    assert Contact.objects.count() == 0


def test_sales_rep_deletes_an_own_account(api_client, rep):
    # given
    account = AccountFactory(owner=rep)
    # when
    response = _as(api_client, rep).delete(f"{ACCOUNTS}{account.pk}/")
    # then
    assert response.status_code == 204
    assert not Account.objects.filter(pk=account.pk).exists()


def test_sales_rep_cannot_delete_an_account_only_shared_with_them(api_client, rep, other_rep):
    # given
    account = AccountFactory(owner=other_rep)
    account.shared_with.add(rep)
    # when
    response = _as(api_client, rep).delete(f"{ACCOUNTS}{account.pk}/")
    # then
    assert response.status_code == 403
    assert Account.objects.filter(pk=account.pk).exists()


def test_deleting_a_foreign_account_answers_404(api_client, rep, other_rep):
    # given
    account = AccountFactory(owner=other_rep)
    # when
    response = _as(api_client, rep).delete(f"{ACCOUNTS}{account.pk}/")
    # then
    assert response.status_code == 404
    assert Account.objects.filter(pk=account.pk).exists()


# Sessions: writes need the CSRF token


def test_account_create_with_a_session_needs_the_csrf_token(rep):
    # given
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(rep)
    # when
    listing = client.get(ACCOUNTS)
    refused = client.post(ACCOUNTS, {"name": "Sin CSRF"}, format="json")
    # then
    assert listing.status_code == 200
    assert refused.status_code == 403
    assert refused.json() == {"detail": "CSRF Failed: CSRF cookie not set."}
    assert Account.objects.count() == 0


# Contacts


def test_contact_list_shows_contacts_of_visible_accounts(api_client, rep, other_rep):
    # given
    mine = AccountFactory(name="Mía", owner=rep)
    ContactFactory(account=mine, first_name="Ana", last_name="Ruiz")
    ContactFactory(account=mine, first_name="Bea", last_name="Gil")
    ContactFactory(account=AccountFactory(owner=other_rep), first_name="Carlos")
    # when
    response = _as(api_client, rep).get(CONTACTS)
    # then
    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert [r["first_name"] for r in response.json()["results"]] == ["Ana", "Bea"]


def test_contact_list_shows_an_admin_every_contact(api_client, admin, rep, other_rep):
    # given
    ContactFactory(account=AccountFactory(owner=rep), first_name="Ana")
    ContactFactory(account=AccountFactory(owner=other_rep), first_name="Carlos")
    # when
    response = _as(api_client, admin).get(CONTACTS)
    # then
    assert [r["first_name"] for r in response.json()["results"]] == ["Ana", "Carlos"]


def test_contact_list_shows_a_manager_their_teams_contacts(api_client, manager, rep, other_rep):
    # given
    ContactFactory(account=AccountFactory(owner=rep), first_name="Ana")
    ContactFactory(account=AccountFactory(owner=other_rep), first_name="Carlos")
    # when
    response = _as(api_client, manager).get(CONTACTS)
    # then
    assert [r["first_name"] for r in response.json()["results"]] == ["Ana"]


def test_contact_search_folds_accents_and_finds_by_account_name(api_client, rep):
    # given
    mine = AccountFactory(name="Ferretería Pérez", owner=rep)
    other = AccountFactory(name="Otra", owner=rep)
    ContactFactory(account=other, first_name="José", last_name="Muñoz")
    ContactFactory(account=mine, first_name="Ana", last_name="Ruiz")
    ContactFactory(account=other, first_name="Bea", last_name="Gil")
    client = _as(api_client, rep)
    # when
    by_name = client.get(CONTACTS, {"q": "munoz"})
    by_account = client.get(CONTACTS, {"q": "perez"})
    # then
    assert [r["last_name"] for r in by_name.json()["results"]] == ["Muñoz"]
    assert [r["last_name"] for r in by_account.json()["results"]] == ["Ruiz"]


def test_contact_list_filters_by_account_and_active(api_client, rep):
    # given
    first = AccountFactory(owner=rep)
    ContactFactory(account=first, first_name="Ana")
    ContactFactory(account=first, first_name="Bea", is_active=False)
    ContactFactory(account=AccountFactory(owner=rep), first_name="Carla")
    client = _as(api_client, rep)
    # when
    by_account = client.get(CONTACTS, {"account": first.pk})
    active_of_account = client.get(CONTACTS, {"account": first.pk, "is_active": "true"})
    # then
    assert [r["first_name"] for r in by_account.json()["results"]] == ["Ana", "Bea"]
    assert [r["first_name"] for r in active_of_account.json()["results"]] == ["Ana"]


def test_contact_retrieve_answers_every_field(api_client, rep):
    # given
    contact = ContactFactory(
        account=AccountFactory(owner=rep),
        first_name="Ana",
        last_name="Ruiz",
        position="Compras",
        email="ana@ejemplo.es",
        phone="+34910123456",
        mobile="+34600123456",
        is_primary=True,
        notes="Llamar por la mañana",
        created_by=rep,
    )
    # when
    response = _as(api_client, rep).get(f"{CONTACTS}{contact.pk}/")
    # then
    assert response.status_code == 200
    body = response.json()
    assert datetime.fromisoformat(body.pop("created_at")) == contact.created_at
    assert datetime.fromisoformat(body.pop("updated_at")) == contact.updated_at
    assert body == {
        "id": contact.pk,
        "account": contact.account_id,
        "first_name": "Ana",
        "last_name": "Ruiz",
        "position": "Compras",
        "email": "ana@ejemplo.es",
        "phone": "+34910123456",
        "mobile": "+34600123456",
        "is_primary": True,
        "is_active": True,
        "marketing_consent": False,
        "marketing_consent_at": None,
        "marketing_consent_source": "",
        "notes": "Llamar por la mañana",
        "created_by": rep.pk,
        "updated_by": None,
    }


def test_contact_create_goes_through_the_service(api_client, rep):
    # given
    account = AccountFactory(owner=rep)
    payload = {
        "account": account.pk,
        "first_name": "Ana",
        "last_name": "Ruiz",
        "email": "Ana@Ejemplo.es",
        "mobile": "600123456",
        "marketing_consent": True,
        "marketing_consent_source": "web_form",
    }
    # when
    response = _as(api_client, rep).post(CONTACTS, payload, format="json")
    # then
    assert response.status_code == 201
    contact = Contact.objects.get()
    assert response.json()["id"] == contact.pk
    assert (contact.account, contact.email, contact.mobile, contact.is_primary) == (
        account,
        "ana@ejemplo.es",
        "+34600123456",
        True,
    )
    assert contact.marketing_consent_source == ConsentSource.WEB_FORM
    assert contact.marketing_consent_at is not None
    assert response.json()["mobile"] == "+34600123456"
    assert list(account.events.values_list("kind", "contact")) == [
        (EventKind.CONTACT_CREATED, contact.pk)
    ]


def test_contact_create_on_an_account_outside_scope_answers_400_like_unknown(
    api_client, rep, other_rep
):
    # given
    foreign = AccountFactory(owner=other_rep)
    missing_pk = foreign.pk + 1000
    client = _as(api_client, rep)
    # when
    response = client.post(CONTACTS, {"account": foreign.pk, "first_name": "X"}, format="json")
    unknown = client.post(CONTACTS, {"account": missing_pk, "first_name": "X"}, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {"account": [f'Invalid pk "{foreign.pk}" - object does not exist.']}
    assert unknown.json() == {"account": [f'Invalid pk "{missing_pk}" - object does not exist.']}
    assert Contact.objects.count() == 0


def test_contact_create_with_consent_but_no_source_answers_400(api_client, rep):
    # given
    account = AccountFactory(owner=rep)
    payload = {"account": account.pk, "first_name": "Ana", "marketing_consent": True}
    # when
    response = _as(api_client, rep).post(CONTACTS, payload, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {"marketing_consent_source": ["Say how the contact gave consent."]}
    assert Contact.objects.count() == 0


def test_contact_create_with_invalid_phone_answers_400(api_client, rep):
    # given
    account = AccountFactory(owner=rep)
    payload = {"account": account.pk, "first_name": "Ana", "phone": "123", "mobile": "600123456"}
    # when
    response = _as(api_client, rep).post(CONTACTS, payload, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {"phone": ["“123” is not a valid phone number."]}
    assert Contact.objects.count() == 0
    assert AccountEvent.objects.count() == 0


def test_contact_create_with_wrong_types_answers_400_by_field(api_client, rep):
    # given
    account = AccountFactory(owner=rep)
    payload = {"account": "uno", "is_primary": "quizá", "marketing_consent_at": "ayer"}
    # when
    response = _as(api_client, rep).post(CONTACTS, payload, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {
        "account": ["Incorrect type. Expected pk value, received str."],
        "first_name": ["This field is required."],
        "is_primary": ["Must be a valid boolean."],
        "marketing_consent_at": [
            "Datetime has wrong format. Use one of these formats instead: "
            "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
        ],
    }
    assert Contact.objects.filter(account=account).count() == 0


def test_contact_create_with_duplicates_answers_409(api_client, rep, other_rep):
    # given
    account = AccountFactory(owner=rep)
    existing = ContactFactory(account=account, first_name="Ana", last_name="Ruiz")
    ContactFactory(account=AccountFactory(owner=other_rep), mobile="+34600123456")
    payload = {
        "account": account.pk,
        "first_name": "Ana",
        "email": existing.email,
        "phone": "600123456",
    }
    client = _as(api_client, rep)
    # when
    refused = client.post(CONTACTS, payload, format="json")
    allowed = client.post(CONTACTS, {**payload, "allow_duplicates": True}, format="json")
    # then
    assert refused.status_code == 409
    assert refused.json()["duplicates"] == [
        {"id": existing.pk, "name": "Ana Ruiz", "kind": "contact"}
    ]
    assert refused.json()["hidden"] == 1
    assert allowed.status_code == 201
    assert Contact.objects.filter(account=account).count() == 2


def test_contact_patch_changes_only_the_given_fields(api_client, rep):
    # given
    contact = ContactFactory(account=AccountFactory(owner=rep), first_name="Ana", position="Jefa")
    # when
    response = _as(api_client, rep).patch(
        f"{CONTACTS}{contact.pk}/", {"last_name": "Ruiz", "phone": "910123456"}, format="json"
    )
    # then
    assert response.status_code == 200
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name, contact.position, contact.phone) == (
        "Ana",
        "Ruiz",
        "Jefa",
        "+34910123456",
    )
    assert contact.updated_by == rep
    assert response.json()["last_name"] == "Ruiz"
    assert contact.events.get().kind == EventKind.CONTACT_UPDATED


def test_contact_put_needs_first_name_and_cannot_move_the_contact(api_client, rep):
    # given
    account = AccountFactory(owner=rep)
    contact = ContactFactory(account=account, first_name="Ana")
    other_account = AccountFactory(owner=rep)
    client = _as(api_client, rep)
    # when
    missing = client.put(f"{CONTACTS}{contact.pk}/", {"last_name": "Ruiz"}, format="json")
    moved = client.put(
        f"{CONTACTS}{contact.pk}/",
        {"first_name": "Anabel", "account": other_account.pk},
        format="json",
    )
    # then
    assert missing.status_code == 400
    assert missing.json() == {"first_name": ["This field is required."]}
    assert moved.status_code == 200
    contact.refresh_from_db()
    assert (contact.first_name, contact.account) == ("Anabel", account)
    assert moved.json()["account"] == account.pk


@pytest.mark.parametrize(
    ("method", "payload"),
    [("get", None), ("put", {"first_name": "Robado"}), ("patch", {"first_name": "Robado"})],
)
def test_contact_outside_scope_answers_404_like_an_unknown_id(
    api_client, rep, other_rep, method, payload
):
    # given
    foreign = ContactFactory(account=AccountFactory(owner=other_rep), first_name="Carlos")
    before = _snapshot(Contact, foreign.pk)
    client = _as(api_client, rep)
    # when
    response = getattr(client, method)(f"{CONTACTS}{foreign.pk}/", payload, format="json")
    unknown = getattr(client, method)(f"{CONTACTS}{foreign.pk + 1000}/", payload, format="json")
    # then
    assert response.status_code == 404
    assert unknown.status_code == 404
    assert response.json() == unknown.json() == {"detail": "No Contact matches the given query."}
    assert _snapshot(Contact, foreign.pk) == before


def test_contact_delete_leaves_a_line_on_the_account_timeline(api_client, rep):
    # given
    account = AccountFactory(owner=rep)
    contact = ContactFactory(account=account, first_name="Borrada")
    # when
    response = _as(api_client, rep).delete(f"{CONTACTS}{contact.pk}/")
    # then
    assert response.status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()
    event = account.events.get(kind="contact_deleted")
    assert (event.actor, event.body) == (rep, "")


def test_deleting_a_foreign_contact_answers_404(api_client, rep, other_rep):
    # given
    contact = ContactFactory(account=AccountFactory(owner=other_rep))
    # when
    response = _as(api_client, rep).delete(f"{CONTACTS}{contact.pk}/")
    # then
    assert response.status_code == 404
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_contact_list_without_token_answers_401(api_client, db):
    # when
    response = api_client.get(CONTACTS)
    # then
    assert response.status_code == 401


def test_contact_create_with_malformed_json_answers_400(api_client, rep):
    # given
    account = AccountFactory(owner=rep)
    body = json.dumps({"account": account.pk, "first_name": "Ana"})[:-3]
    # when
    response = _as(api_client, rep).post(CONTACTS, data=body, content_type="application/json")
    # then
    assert response.status_code == 400
    assert Contact.objects.count() == 0
