"""The leads API: /api/v1/leads/, /api/v1/assignment-rules/ and /api/v1/disqualify-reasons/."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from crm.core.models import Channel, Sector
from crm.customers.models import Account, AccountEvent, Contact, EventKind
from crm.customers.tests.factories import AccountFactory, ContactFactory
from crm.leads import api as lead_api
from crm.leads.models import (
    AssignmentRule,
    AssignmentTarget,
    DisqualifyReason,
    Lead,
    LeadEvent,
    LeadEventKind,
    LeadStatus,
)
from crm.leads.tests.factories import AssignmentRuleFactory, LeadFactory
from crm.sales.models import Opportunity
from crm.users.services import token_for
from crm.users.tests.factories import UserFactory

LEADS = "/api/v1/leads/"
RULES = "/api/v1/assignment-rules/"
REASONS = "/api/v1/disqualify-reasons/"


def _as(client: APIClient, user) -> APIClient:
    """Authenticate with the user's token; English messages so that texts are stable."""
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_for(user=user).key}", HTTP_ACCEPT_LANGUAGE="en"
    )
    return client


def _companies(response) -> list[str]:
    return [row["company"] for row in response.json()["results"]]


def _snapshot(pk: int) -> dict:
    return Lead.objects.filter(pk=pk).values().get()


def _reason(name: str = "Sin presupuesto") -> DisqualifyReason:
    return DisqualifyReason.objects.get(name=name)


# Without a token


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", LEADS),
        ("post", LEADS),
        ("get", f"{LEADS}1/"),
        ("patch", f"{LEADS}1/"),
        ("put", f"{LEADS}1/"),
        ("delete", f"{LEADS}1/"),
        ("post", f"{LEADS}1/status/"),
        ("post", f"{LEADS}1/notes/"),
        ("get", f"{LEADS}1/timeline/"),
        ("post", f"{LEADS}1/convert/"),
        ("post", f"{LEADS}bulk/"),
        ("get", RULES),
        ("post", RULES),
        ("post", f"{RULES}preview/"),
        ("get", REASONS),
    ],
)
def test_every_endpoint_without_token_answers_401(api_client, db, method, path):
    # when
    response = getattr(api_client, method)(path, {}, format="json")
    # then
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    assert Lead.objects.count() == 0


# List


def test_lead_list_shows_a_rep_their_own_leads(api_client, rep, manager, other_rep):
    # given
    LeadFactory(company="Propio B", owner=rep)
    LeadFactory(company="Propio A", owner=rep)
    LeadFactory(company="Del jefe", owner=manager)
    LeadFactory(company="Ajeno", owner=other_rep)
    LeadFactory(company="Sin dueño", owner=None)
    # when
    response = _as(api_client, rep).get(LEADS)
    # then
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    assert _companies(response) == ["Propio A", "Propio B"]


def test_lead_list_shows_a_manager_the_team_and_the_unassigned(api_client, manager, rep, other_rep):
    # given
    LeadFactory(company="De rep", owner=rep)
    LeadFactory(company="Propio", owner=manager)
    LeadFactory(company="Sin dueño", owner=None)
    LeadFactory(company="Ajeno", owner=other_rep)
    # when
    response = _as(api_client, manager).get(LEADS)
    # then
    assert _companies(response) == ["Sin dueño", "Propio", "De rep"]


def test_lead_list_shows_an_admin_every_lead(api_client, admin, rep, other_rep):
    # given
    LeadFactory(company="De rep", owner=rep)
    LeadFactory(company="Ajeno", owner=other_rep)
    LeadFactory(company="Sin dueño", owner=None)
    # when
    response = _as(api_client, admin).get(LEADS)
    # then
    assert _companies(response) == ["Sin dueño", "Ajeno", "De rep"]


def test_lead_list_filters_with_the_pages_filter(api_client, rep):
    # given
    web = Channel.objects.get(name="Web")
    LeadFactory(company="Talleres Muñoz", owner=rep, channel=web, score=80)
    LeadFactory(company="Talleres Pérez", owner=rep, score=10)
    LeadFactory(
        company="Descartado",
        owner=rep,
        status=LeadStatus.DISQUALIFIED,
        disqualify_reason=_reason(),
        score=90,
    )
    client = _as(api_client, rep)
    # when
    by_text = client.get(LEADS, {"q": "munoz"})
    by_channel = client.get(LEADS, {"channel": web.pk})
    by_score = client.get(LEADS, {"score_min": 50, "sort": "-score"})
    open_only = client.get(LEADS, {"open": "true", "sort": "company"})
    by_status = client.get(LEADS, {"status": ["disqualified"]})
    # then
    assert _companies(by_text) == ["Talleres Muñoz"]
    assert _companies(by_channel) == ["Talleres Muñoz"]
    assert _companies(by_score) == ["Descartado", "Talleres Muñoz"]
    assert _companies(open_only) == ["Talleres Muñoz", "Talleres Pérez"]
    assert _companies(by_status) == ["Descartado"]


def test_lead_list_rejects_invalid_filters_with_400(api_client, rep):
    # when
    response = _as(api_client, rep).get(LEADS, {"status": "zombie", "sort": "colour"})
    # then
    assert response.status_code == 400
    assert set(response.json()) == {"status", "sort"}


def test_lead_list_pages_with_page_size(api_client, rep):
    # given
    for name in ["A", "B", "C"]:
        LeadFactory(company=name, owner=rep)
    # when
    response = _as(api_client, rep).get(LEADS, {"page_size": 2, "sort": "company"})
    # then
    assert response.json()["count"] == 3
    assert _companies(response) == ["A", "B"]
    assert response.json()["next"] == (
        "http://testserver/api/v1/leads/?page=2&page_size=2&sort=company"
    )


def test_lead_list_query_count_does_not_grow_with_rows(api_client, rep):
    # given
    LeadFactory.create_batch(2, owner=rep)
    client = _as(api_client, rep)
    client.get(LEADS)
    with CaptureQueriesContext(connection) as few:
        client.get(LEADS)
    LeadFactory.create_batch(6, owner=rep, channel=Channel.objects.get(name="Web"))
    # when
    with CaptureQueriesContext(connection) as many:
        response = client.get(LEADS)
    # then
    assert response.json()["count"] == 8
    assert len(many.captured_queries) == len(few.captured_queries)


# Retrieve


def test_lead_retrieve_answers_every_field(api_client, rep):
    # given
    web = Channel.objects.get(name="Web")
    trade = Sector.objects.get(name="Comercio")
    lead = LeadFactory(
        first_name="Ana",
        last_name="Ruiz",
        company="Ferretería Ruiz SL",
        position="Gerente",
        email="ana@ferreteria.example",
        phone="+34910123456",
        mobile="+34600123456",
        nif="B12345674",
        province="28",
        city="Madrid",
        sector=trade,
        size_segment="3-9",
        channel=web,
        campaign="Feria 2026",
        products_of_interest="Tornillería",
        score=70,
        owner=rep,
        notes="Llamar por la tarde",
        created_by=rep,
    )
    # when
    response = _as(api_client, rep).get(f"{LEADS}{lead.pk}/")
    # then
    assert response.status_code == 200
    body = response.json()
    assert datetime.fromisoformat(body.pop("created_at")) == lead.created_at
    assert datetime.fromisoformat(body.pop("updated_at")) == lead.updated_at
    assert body == {
        "id": lead.pk,
        "display_name": "Ana Ruiz (Ferretería Ruiz SL)",
        "first_name": "Ana",
        "last_name": "Ruiz",
        "company": "Ferretería Ruiz SL",
        "position": "Gerente",
        "email": "ana@ferreteria.example",
        "phone": "+34910123456",
        "mobile": "+34600123456",
        "nif": "B12345674",
        "province": "28",
        "city": "Madrid",
        "sector": trade.pk,
        "size_segment": "3-9",
        "channel": web.pk,
        "campaign": "Feria 2026",
        "products_of_interest": "Tornillería",
        "status": "new",
        "disqualify_reason": None,
        "score": 70,
        "owner": rep.pk,
        "team": rep.team_id,
        "assignment_rule": None,
        "notes": "Llamar por la tarde",
        "lead_import": None,
        "web_form": None,
        "converted_account": None,
        "converted_contact": None,
        "converted_opportunity": None,
        "converted_at": None,
        "created_by": rep.pk,
        "updated_by": None,
    }


# Records outside the user's scope answer 404 on every method


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [
        ("get", "", None),
        ("put", "", {"company": "Robada"}),
        ("patch", "", {"company": "Robada"}),
        ("delete", "", None),
        ("post", "status/", {"status": "contacted"}),
        ("post", "notes/", {"body": "Hola"}),
        ("get", "timeline/", None),
        ("post", "convert/", {}),
    ],
)
def test_a_foreign_lead_answers_404_like_an_unknown_id(
    api_client, rep, other_rep, method, suffix, payload
):
    # given
    foreign = LeadFactory(company="Ajeno", owner=other_rep)
    before = _snapshot(foreign.pk)
    client = _as(api_client, rep)
    # when
    response = getattr(client, method)(f"{LEADS}{foreign.pk}/{suffix}", payload, format="json")
    unknown = getattr(client, method)(
        f"{LEADS}{foreign.pk + 1000}/{suffix}", payload, format="json"
    )
    # then
    assert response.status_code == 404
    assert unknown.status_code == 404
    assert response.json() == unknown.json() == {"detail": "No Lead matches the given query."}
    assert _snapshot(foreign.pk) == before
    assert LeadEvent.objects.count() == 0
    assert Account.objects.count() == 0


def test_a_manager_does_not_see_another_teams_lead(api_client, manager, other_rep):
    # given
    foreign = LeadFactory(company="Ajeno", owner=other_rep)
    # when
    response = _as(api_client, manager).get(f"{LEADS}{foreign.pk}/")
    # then
    assert response.status_code == 404


def test_a_manager_sees_an_unassigned_lead(api_client, manager):
    # given
    lead = LeadFactory(company="Sin dueño", owner=None)
    # when
    response = _as(api_client, manager).get(f"{LEADS}{lead.pk}/")
    # then
    assert response.status_code == 200
    assert response.json()["owner"] is None


def test_a_foreign_lead_answers_404_even_with_invalid_input(api_client, rep, other_rep):
    # given
    foreign = LeadFactory(owner=other_rep)
    # when
    response = _as(api_client, rep).patch(f"{LEADS}{foreign.pk}/", {"nif": "X"}, format="json")
    # then
    assert response.status_code == 404


# Create


def test_lead_create_goes_through_the_service(api_client, rep):
    # given
    payload = {
        "first_name": "  Ana ",
        "last_name": "Ruiz",
        "company": "Talleres Ruiz SL",
        "email": "Ana@Talleres.Example",
        "phone": "910 12 34 56",
        "mobile": "600123456",
        "nif": "b-12345674",
        "province": "46",
        "score": 40,
        "owner": rep.pk,
    }
    # when
    response = _as(api_client, rep).post(LEADS, payload, format="json")
    # then
    assert response.status_code == 201
    lead = Lead.objects.get()
    assert response.json()["id"] == lead.pk
    assert (lead.first_name, lead.email, lead.phone, lead.mobile, lead.nif) == (
        "Ana",
        "ana@talleres.example",
        "+34910123456",
        "+34600123456",
        "B12345674",
    )
    assert (lead.owner, lead.team, lead.created_by, lead.status, lead.score) == (
        rep,
        rep.team,
        rep,
        LeadStatus.NEW,
        40,
    )
    assert response.json()["phone"] == "+34910123456"
    assert response.json()["province"] == "46"


def test_lead_create_without_a_channel_gets_the_api_channel(api_client, rep):
    # given
    web = Channel.objects.get(name="Web")
    client = _as(api_client, rep)
    # when
    without = client.post(LEADS, {"company": "Sin canal", "owner": rep.pk}, format="json")
    with_null = client.post(
        LEADS, {"company": "Canal nulo", "owner": rep.pk, "channel": None}, format="json"
    )
    with_web = client.post(
        LEADS, {"company": "Por la web", "owner": rep.pk, "channel": web.pk}, format="json"
    )
    # then
    api = Channel.objects.get(name="API")
    assert without.json()["channel"] == api.pk
    assert with_null.json()["channel"] == api.pk
    assert with_web.json()["channel"] == web.pk
    assert Lead.objects.get(company="Sin canal").channel == api


def test_lead_create_without_owner_follows_the_assignment_rules(api_client, rep, manager):
    # given
    api = Channel.objects.get(name="API")
    rule = AssignmentRuleFactory(target_user=manager)
    rule.channels.add(api)
    # when
    response = _as(api_client, rep).post(LEADS, {"company": "Por reglas"}, format="json")
    # then
    assert response.status_code == 201
    lead = Lead.objects.get()
    assert (lead.owner, lead.team, lead.assignment_rule) == (manager, manager.team, rule)
    assert response.json()["assignment_rule"] == rule.pk
    assert response.json()["owner"] == manager.pk


def test_lead_create_without_name_answers_400(api_client, rep):
    # when
    response = _as(api_client, rep).post(LEADS, {"email": "x@ejemplo.es"}, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {"first_name": ["Give the person's name or the company's."]}
    assert Lead.objects.count() == 0


def test_lead_create_with_invalid_values_answers_400_by_field(api_client, rep):
    # given
    payload = {"company": "Mala", "nif": "B12345675", "phone": "12", "score": 120}
    # when
    response = _as(api_client, rep).post(LEADS, payload, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {
        "nif": ["“B12345675” is not a valid NIF, CIF or NIE."],
        "phone": ["“12” is not a valid phone number."],
        "score": ["The score is a whole number from 0 to 100."],
    }
    assert Lead.objects.count() == 0


def test_lead_create_with_wrong_types_answers_400_by_field(api_client, rep):
    # given
    payload = {
        "company": "Tipos",
        "score": "mucho",
        "sector": 999999,
        "province": "99",
        "email": "no-es-email",
        "size_segment": "enorme",
    }
    # when
    response = _as(api_client, rep).post(LEADS, payload, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {
        "score": ["A valid integer is required."],
        "sector": ['Invalid pk "999999" - object does not exist.'],
        "province": ['"99" is not a valid choice.'],
        "email": ["Enter a valid email address."],
        "size_segment": ['"enorme" is not a valid choice.'],
    }
    assert Lead.objects.count() == 0


def test_lead_create_refuses_a_rep_giving_it_away(api_client, rep, other_rep):
    # when
    response = _as(api_client, rep).post(
        LEADS, {"company": "Regalo", "owner": other_rep.pk}, format="json"
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"owner": ["You cannot give this record to that user."]}
    assert Lead.objects.count() == 0


def test_lead_create_with_duplicates_answers_409_with_the_visible_ones(api_client, rep, other_rep):
    # given
    mine = LeadFactory(first_name="Ana", last_name="Ruiz", company="", owner=rep, nif="B12345674")
    account = AccountFactory(name="Mía SL", owner=rep, email="compras@ejemplo.es")
    contact = ContactFactory(account=account, first_name="Luis", last_name="Gil", email="l@e.es")
    LeadFactory(owner=other_rep, phone="+34600123456")
    payload = {
        "company": "Nueva SL",
        "nif": "B12345674",
        "email": "compras@ejemplo.es",
        "mobile": "600123456",
    }
    # when
    response = _as(api_client, rep).post(LEADS, payload, format="json")
    contact_match = _as(api_client, rep).post(
        LEADS, {"company": "Otra", "email": "L@E.es"}, format="json"
    )
    # then
    assert response.status_code == 409
    assert response.json() == {
        "detail": "A record with the same NIF, e-mail or phone already exists.",
        "code": "duplicates",
        "duplicates": [
            {"id": mine.pk, "name": "Ana Ruiz", "kind": "lead"},
            {"id": account.pk, "name": "Mía SL", "kind": "account"},
        ],
        "hidden": 1,
        "hint": 'Send "allow_duplicates": true in the body to create it anyway.',
    }
    assert contact_match.status_code == 409
    assert contact_match.json()["duplicates"] == [
        {"id": contact.pk, "name": "Luis Gil", "kind": "contact"}
    ]
    assert Lead.objects.filter(company__in=["Nueva SL", "Otra"]).count() == 0


def test_lead_create_with_allow_duplicates_creates_it(api_client, rep):
    # given
    LeadFactory(owner=rep, nif="B12345674")
    payload = {"company": "Nueva SL", "nif": "B12345674", "allow_duplicates": True}
    # when
    response = _as(api_client, rep).post(LEADS, payload, format="json")
    # then
    assert response.status_code == 201
    assert Lead.objects.filter(nif="B12345674").count() == 2


# Update


def test_lead_patch_changes_only_the_given_fields_and_records_them(api_client, rep):
    # given
    lead = LeadFactory(company="Vieja SL", owner=rep, city="Valencia", score=10)
    # when
    response = _as(api_client, rep).patch(
        f"{LEADS}{lead.pk}/", {"score": 55, "phone": "910 123 456"}, format="json"
    )
    # then
    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.company, lead.city, lead.score, lead.phone, lead.updated_by) == (
        "Vieja SL",
        "Valencia",
        55,
        "+34910123456",
        rep,
    )
    assert response.json()["score"] == 55
    event = lead.events.get()
    assert (event.kind, event.actor, event.changes) == (
        LeadEventKind.UPDATED,
        rep,
        {"score": ["10", "55"], "phone": ["", "+34910123456"]},
    )


def test_lead_put_keeps_the_fields_left_out(api_client, rep):
    # given
    lead = LeadFactory(company="Vieja SL", owner=rep, city="Valencia")
    # when
    response = _as(api_client, rep).put(
        f"{LEADS}{lead.pk}/", {"company": "Nueva SL"}, format="json"
    )
    # then
    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.company, lead.city) == ("Nueva SL", "Valencia")


def test_lead_patch_lets_a_manager_give_it_to_a_team_member(api_client, manager, rep):
    # given
    lead = LeadFactory(company="Sin dueño", owner=None)
    # when
    response = _as(api_client, manager).patch(
        f"{LEADS}{lead.pk}/", {"owner": rep.pk}, format="json"
    )
    # then
    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.owner, lead.team) == (rep, rep.team)
    assert lead.events.get().kind == LeadEventKind.ASSIGNED


def test_lead_patch_with_invalid_nif_answers_400_and_changes_nothing(api_client, rep):
    # given
    lead = LeadFactory(owner=rep, nif="B12345674")
    before = _snapshot(lead.pk)
    # when
    response = _as(api_client, rep).patch(
        f"{LEADS}{lead.pk}/", {"nif": "X", "company": "Otra"}, format="json"
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"nif": ["“X” is not a valid NIF, CIF or NIE."]}
    assert _snapshot(lead.pk) == before
    assert LeadEvent.objects.count() == 0


def test_a_converted_lead_is_read_only(api_client, rep):
    # given
    account = AccountFactory(owner=rep)
    lead = LeadFactory(owner=rep, status=LeadStatus.CONVERTED, converted_account=account)
    before = _snapshot(lead.pk)
    client = _as(api_client, rep)
    # when
    patched = client.patch(f"{LEADS}{lead.pk}/", {"company": "Otra"}, format="json")
    put = client.put(f"{LEADS}{lead.pk}/", {"company": "Otra"}, format="json")
    moved = client.post(f"{LEADS}{lead.pk}/status/", {"status": "new"}, format="json")
    # then
    for response in (patched, put, moved):
        assert response.status_code == 400
        assert response.json() == {"non_field_errors": ["A converted lead cannot be changed."]}
    assert _snapshot(lead.pk) == before
    assert LeadEvent.objects.count() == 0


# Delete


def test_a_rep_deletes_an_own_lead_with_its_timeline(api_client, rep):
    # given
    lead = LeadFactory(owner=rep)
    LeadEvent.objects.create(lead=lead, kind=LeadEventKind.NOTE, actor=rep, body="nota")
    # when
    response = _as(api_client, rep).delete(f"{LEADS}{lead.pk}/")
    # then
    assert response.status_code == 204
    assert Lead.objects.count() == 0
    assert LeadEvent.objects.count() == 0


def test_a_manager_deletes_a_team_lead(api_client, manager, rep):
    # given
    lead = LeadFactory(owner=rep)
    # when
    response = _as(api_client, manager).delete(f"{LEADS}{lead.pk}/")
    # then
    assert response.status_code == 204
    assert Lead.objects.count() == 0


def test_deleting_a_lead_the_user_may_not_delete_answers_403(api_client, rep, monkeypatch):
    # given: a visible lead the deletion rule refuses
    lead = LeadFactory(owner=rep)
    before = _snapshot(lead.pk)
    monkeypatch.setattr(lead_api.services, "lead_can_delete", lambda *, actor, lead: False)
    # when
    response = _as(api_client, rep).delete(f"{LEADS}{lead.pk}/")
    # then
    assert response.status_code == 403
    assert _snapshot(lead.pk) == before


# Status, notes, timeline


def test_lead_status_moves_it_and_records_the_note(api_client, rep):
    # given
    lead = LeadFactory(owner=rep)
    # when
    response = _as(api_client, rep).post(
        f"{LEADS}{lead.pk}/status/", {"status": "contacted", "note": " Llamado "}, format="json"
    )
    # then
    assert response.status_code == 200
    assert response.json()["status"] == "contacted"
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED
    event = lead.events.get()
    assert (event.kind, event.body, event.changes) == (
        LeadEventKind.STATUS,
        "Llamado",
        {"status": ["New", "Contacted"]},
    )


def test_lead_status_disqualified_needs_a_reason(api_client, rep):
    # given
    lead = LeadFactory(owner=rep)
    before = _snapshot(lead.pk)
    client = _as(api_client, rep)
    # when
    refused = client.post(f"{LEADS}{lead.pk}/status/", {"status": "disqualified"}, format="json")
    accepted = client.post(
        f"{LEADS}{lead.pk}/status/",
        {"status": "disqualified", "reason": _reason().pk},
        format="json",
    )
    # then
    assert refused.status_code == 400
    assert refused.json() == {"reason": ["Say why the lead is disqualified."]}
    assert before["status"] == "new"
    assert accepted.status_code == 200
    lead.refresh_from_db()
    assert (lead.status, lead.disqualify_reason) == (LeadStatus.DISQUALIFIED, _reason())
    assert accepted.json()["disqualify_reason"] == _reason().pk


def test_lead_status_refuses_converted_and_unknown_values(api_client, rep):
    # given
    lead = LeadFactory(owner=rep)
    before = _snapshot(lead.pk)
    client = _as(api_client, rep)
    # when
    converted = client.post(f"{LEADS}{lead.pk}/status/", {"status": "converted"}, format="json")
    unknown = client.post(f"{LEADS}{lead.pk}/status/", {"status": "zombie"}, format="json")
    # then
    assert converted.status_code == 400
    assert converted.json() == {"status": ["Choose new, contacted, qualified or disqualified."]}
    assert unknown.status_code == 400
    assert unknown.json() == {"status": ['"zombie" is not a valid choice.']}
    assert _snapshot(lead.pk) == before


def test_lead_notes_adds_a_note(api_client, rep):
    # given
    lead = LeadFactory(owner=rep)
    # when
    response = _as(api_client, rep).post(
        f"{LEADS}{lead.pk}/notes/", {"body": " Quiere presupuesto "}, format="json"
    )
    # then
    assert response.status_code == 201
    event = lead.events.get()
    assert (event.kind, event.body, event.actor) == (LeadEventKind.NOTE, "Quiere presupuesto", rep)
    body = response.json()
    assert datetime.fromisoformat(body.pop("created_at")) == event.created_at
    assert body == {
        "id": event.pk,
        "kind": "note",
        "actor": rep.pk,
        "changes": {},
        "body": "Quiere presupuesto",
    }


def test_lead_notes_refuses_an_empty_note(api_client, rep):
    # given
    lead = LeadFactory(owner=rep)
    # when
    response = _as(api_client, rep).post(f"{LEADS}{lead.pk}/notes/", {"body": "  "}, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {"body": ["Write the note before saving it."]}
    assert LeadEvent.objects.count() == 0


def test_lead_timeline_is_paginated_newest_first(api_client, rep):
    # given
    lead = LeadFactory(owner=rep)
    for text in ["primera", "segunda", "tercera"]:
        LeadEvent.objects.create(lead=lead, kind=LeadEventKind.NOTE, actor=rep, body=text)
    LeadEvent.objects.create(lead=LeadFactory(owner=rep), kind=LeadEventKind.NOTE, body="otra")
    # when
    response = _as(api_client, rep).get(f"{LEADS}{lead.pk}/timeline/", {"page_size": 2})
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [row["body"] for row in body["results"]] == ["tercera", "segunda"]
    assert body["next"] is not None


# Conversion


def test_lead_convert_creates_account_contact_and_opportunity(api_client, rep):
    # given
    lead = LeadFactory(
        first_name="Ana",
        last_name="Ruiz",
        company="Talleres Ruiz SL",
        email="ana@talleres.example",
        nif="B12345674",
        owner=rep,
        status=LeadStatus.QUALIFIED,
    )
    payload = {
        "create_opportunity": True,
        "opportunity_title": "Renovación de flota",
        "opportunity_amount": "1234.50",
        "expected_close_date": "2026-12-31",
    }
    # when
    response = _as(api_client, rep).post(f"{LEADS}{lead.pk}/convert/", payload, format="json")
    # then
    assert response.status_code == 200
    account = Account.objects.get()
    contact = Contact.objects.get()
    opportunity = Opportunity.objects.get()
    body = response.json()
    assert (body["account"], body["contact"], body["opportunity"]) == (
        account.pk,
        contact.pk,
        opportunity.pk,
    )
    assert body["lead"]["status"] == "converted"
    assert body["lead"]["converted_account"] == account.pk
    assert (account.name, account.nif, account.owner) == ("Talleres Ruiz SL", "B12345674", rep)
    assert (contact.account, contact.first_name, contact.email) == (
        account,
        "Ana",
        "ana@talleres.example",
    )
    assert (opportunity.title, opportunity.amount, opportunity.expected_close_date) == (
        "Renovación de flota",
        Decimal("1234.50"),
        date(2026, 12, 31),
    )
    lead.refresh_from_db()
    assert (lead.status, lead.converted_contact, lead.converted_opportunity) == (
        LeadStatus.CONVERTED,
        contact,
        opportunity,
    )


def test_lead_convert_attaches_it_to_a_visible_account(api_client, rep):
    # given
    account = AccountFactory(name="Existente SL", owner=rep)
    lead = LeadFactory(first_name="Ana", last_name="Ruiz", owner=rep)
    payload = {"account": account.pk, "create_contact": False}
    # when
    response = _as(api_client, rep).post(f"{LEADS}{lead.pk}/convert/", payload, format="json")
    # then
    assert response.status_code == 200
    assert (response.json()["account"], response.json()["contact"]) == (account.pk, None)
    assert response.json()["opportunity"] is None
    assert Account.objects.count() == 1
    assert Contact.objects.count() == 0
    assert account.events.filter(kind=EventKind.LEAD_CONVERTED).count() == 1


def test_lead_convert_refuses_a_foreign_account_like_an_unknown_one(api_client, rep, other_rep):
    # given
    foreign = AccountFactory(owner=other_rep)
    lead = LeadFactory(owner=rep)
    before = _snapshot(lead.pk)
    # when
    response = _as(api_client, rep).post(
        f"{LEADS}{lead.pk}/convert/", {"account": foreign.pk}, format="json"
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"account": [f'Invalid pk "{foreign.pk}" - object does not exist.']}
    assert _snapshot(lead.pk) == before
    assert AccountEvent.objects.count() == 0


def test_lead_convert_a_second_time_answers_400(api_client, rep):
    # given
    lead = LeadFactory(owner=rep)
    client = _as(api_client, rep)
    client.post(f"{LEADS}{lead.pk}/convert/", {}, format="json")
    # when
    response = client.post(f"{LEADS}{lead.pk}/convert/", {}, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["This lead has already been converted."]}
    assert Account.objects.count() == 1


def test_lead_convert_with_a_bad_amount_answers_400(api_client, rep):
    # given
    lead = LeadFactory(owner=rep)
    payload = {"create_opportunity": True, "opportunity_amount": "mil"}
    # when
    response = _as(api_client, rep).post(f"{LEADS}{lead.pk}/convert/", payload, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {"opportunity_amount": ["A valid number is required."]}
    assert Account.objects.count() == 0
    assert Lead.objects.get().status == LeadStatus.NEW


# Bulk


def test_bulk_assign_gives_the_visible_leads_and_counts_the_rest(
    api_client, manager, rep, other_rep
):
    # given
    team_lead = LeadFactory(owner=manager)
    unassigned = LeadFactory(owner=None)
    converted = LeadFactory(owner=manager, status=LeadStatus.CONVERTED)
    foreign = LeadFactory(owner=other_rep)
    ids = [team_lead.pk, unassigned.pk, converted.pk, foreign.pk, foreign.pk + 1000]
    # when
    response = _as(api_client, manager).post(
        f"{LEADS}bulk/", {"ids": ids, "action": "assign", "owner": rep.pk}, format="json"
    )
    # then
    assert response.status_code == 200
    assert response.json() == {"changed": 2, "refused": 1, "not_found": 2}
    assert list(Lead.objects.filter(owner=rep).order_by("pk")) == [team_lead, unassigned]
    foreign.refresh_from_db()
    converted.refresh_from_db()
    assert (foreign.owner, converted.owner) == (other_rep, manager)


def test_bulk_status_disqualifies_with_a_reason(api_client, rep):
    # given
    leads = LeadFactory.create_batch(2, owner=rep)
    payload = {
        "ids": [lead.pk for lead in leads],
        "action": "status",
        "status": "disqualified",
        "reason": _reason().pk,
    }
    # when
    response = _as(api_client, rep).post(f"{LEADS}bulk/", payload, format="json")
    # then
    assert response.json() == {"changed": 2, "refused": 0, "not_found": 0}
    assert set(Lead.objects.values_list("status", "disqualify_reason")) == {
        ("disqualified", _reason().pk)
    }


def test_bulk_status_without_a_reason_changes_nothing(api_client, rep):
    # given
    leads = LeadFactory.create_batch(2, owner=rep)
    payload = {"ids": [lead.pk for lead in leads], "action": "status", "status": "disqualified"}
    # when
    response = _as(api_client, rep).post(f"{LEADS}bulk/", payload, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {"reason": ["Say why the lead is disqualified."]}
    assert set(Lead.objects.values_list("status", flat=True)) == {"new"}
    assert LeadEvent.objects.count() == 0


def test_bulk_delete_deletes_what_the_user_may(api_client, rep, other_rep):
    # given
    mine = LeadFactory.create_batch(2, owner=rep)
    foreign = LeadFactory(owner=other_rep)
    payload = {"ids": [lead.pk for lead in mine] + [foreign.pk], "action": "delete"}
    # when
    response = _as(api_client, rep).post(f"{LEADS}bulk/", payload, format="json")
    # then
    assert response.json() == {"changed": 2, "refused": 0, "not_found": 1}
    assert list(Lead.objects.all()) == [foreign]


def test_bulk_checks_its_input(api_client, rep):
    # given
    lead = LeadFactory(owner=rep)
    before = _snapshot(lead.pk)
    client = _as(api_client, rep)
    # when
    no_owner = client.post(f"{LEADS}bulk/", {"ids": [lead.pk], "action": "assign"}, format="json")
    no_status = client.post(f"{LEADS}bulk/", {"ids": [lead.pk], "action": "status"}, format="json")
    bad = client.post(f"{LEADS}bulk/", {"ids": [], "action": "explode"}, format="json")
    # then
    assert no_owner.status_code == 400
    assert no_owner.json() == {"owner": ["This field is required."]}
    assert no_status.json() == {"status": ["This field is required."]}
    assert bad.json() == {
        "ids": ["This list may not be empty."],
        "action": ['"explode" is not a valid choice.'],
    }
    assert _snapshot(lead.pk) == before


def test_bulk_assign_refuses_an_owner_the_user_cannot_give_to(api_client, rep, other_rep):
    # given
    lead = LeadFactory(owner=rep)
    # when
    response = _as(api_client, rep).post(
        f"{LEADS}bulk/",
        {"ids": [lead.pk], "action": "assign", "owner": other_rep.pk},
        format="json",
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"owner": ["You cannot give this record to that user."]}
    assert Lead.objects.get().owner == rep


# Assignment rules (administrators)


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [
        ("get", "", None),
        ("post", "", {"name": "Nueva", "target": "user"}),
        ("get", "{id}/", None),
        ("patch", "{id}/", {"name": "Cambiada"}),
        ("delete", "{id}/", None),
        ("post", "{id}/move/", {"offset": 1}),
        ("post", "preview/", {"company": "Prueba"}),
    ],
)
def test_assignment_rules_answer_403_to_non_admins(
    api_client, rep, manager, method, suffix, payload
):
    # given
    rule = AssignmentRuleFactory(name="Regla", target_user=rep)
    before = AssignmentRule.objects.values().get()
    path = RULES + suffix.format(id=rule.pk)
    for user in (rep, manager):
        # when
        response = getattr(_as(api_client, user), method)(path, payload, format="json")
        # then
        assert response.status_code == 403
        assert response.json() == {"detail": "Only administrators can do this."}
    assert AssignmentRule.objects.values().get() == before


def test_admin_creates_an_assignment_rule(api_client, admin, rep, team):
    # given
    web = Channel.objects.get(name="Web")
    trade = Sector.objects.get(name="Comercio")
    AssignmentRuleFactory(target_user=rep, position=3)
    payload = {
        "name": "Web de Valencia",
        "channels": [web.pk],
        "sectors": [trade.pk],
        "provinces": ["46", "12"],
        "size_segments": ["3-9"],
        "min_score": 50,
        "product_contains": "tornillos",
        "text_contains": "feria",
        "target": "round_robin",
        "target_team": team.pk,
    }
    # when
    response = _as(api_client, admin).post(RULES, payload, format="json")
    # then
    assert response.status_code == 201
    rule = AssignmentRule.objects.get(name="Web de Valencia")
    body = response.json()
    body.pop("created_at")
    body.pop("updated_at")
    assert body == {
        "id": rule.pk,
        "name": "Web de Valencia",
        "position": 4,
        "is_active": True,
        "channels": [web.pk],
        "provinces": ["46", "12"],
        "sectors": [trade.pk],
        "size_segments": ["3-9"],
        "min_score": 50,
        "product_contains": "tornillos",
        "text_contains": "feria",
        "target": "round_robin",
        "target_user": None,
        "target_team": team.pk,
        "last_assigned": None,
    }


def test_assignment_rule_create_checks_the_target(api_client, admin, rep):
    # given
    rep.is_active = False
    rep.save()
    client = _as(api_client, admin)
    # when
    no_user = client.post(RULES, {"name": "Sin destino", "target": "user"}, format="json")
    inactive = client.post(
        RULES, {"name": "Inactivo", "target": "user", "target_user": rep.pk}, format="json"
    )
    no_team = client.post(RULES, {"name": "Sin equipo", "target": "least_loaded"}, format="json")
    bad = client.post(RULES, {"provinces": ["99"], "min_score": "x"}, format="json")
    # then
    assert no_user.status_code == 400
    assert no_user.json() == {"target_user": ["Choose the user who gets the leads."]}
    assert inactive.json() == {"target_user": ["A deactivated user cannot own records."]}
    assert no_team.json() == {"target_team": ["Choose the team whose members get them."]}
    assert bad.json() == {
        "name": ["This field is required."],
        "provinces": {"0": ['"99" is not a valid choice.']},
        "min_score": ["A valid integer is required."],
    }
    assert AssignmentRule.objects.count() == 0


def test_admin_patches_a_rule_keeping_its_conditions(api_client, admin, rep):
    # given
    web = Channel.objects.get(name="Web")
    rule = AssignmentRuleFactory(name="Vieja", target_user=rep, provinces=["28"])
    rule.channels.add(web)
    # when
    response = _as(api_client, admin).patch(
        f"{RULES}{rule.pk}/", {"name": "Nueva", "is_active": False}, format="json"
    )
    # then
    assert response.status_code == 200
    rule.refresh_from_db()
    assert (rule.name, rule.is_active, rule.provinces) == ("Nueva", False, ["28"])
    assert list(rule.channels.all()) == [web]
    assert response.json()["channels"] == [web.pk]


def test_admin_lists_moves_and_deletes_rules(api_client, admin, rep):
    # given
    first = AssignmentRuleFactory(name="Primera", target_user=rep, position=1)
    second = AssignmentRuleFactory(name="Segunda", target_user=rep, position=2)
    client = _as(api_client, admin)
    # when
    moved = client.post(f"{RULES}{second.pk}/move/", {"offset": -1}, format="json")
    listing = client.get(RULES)
    deleted = client.delete(f"{RULES}{first.pk}/")
    missing = client.get(f"{RULES}{first.pk}/")
    # then
    assert moved.status_code == 200
    assert moved.json()["position"] == 1
    assert [row["name"] for row in listing.json()["results"]] == ["Segunda", "Primera"]
    assert deleted.status_code == 204
    assert missing.status_code == 404
    assert list(AssignmentRule.objects.all()) == [second]


def test_assignment_preview_names_the_rule_and_owner_without_taking_a_turn(
    api_client, admin, rep, manager, team
):
    # given
    rule = AssignmentRuleFactory(
        name="Valencia", target=AssignmentTarget.ROUND_ROBIN, target_user=None, target_team=team
    )
    rule.provinces = ["46"]
    rule.save()
    client = _as(api_client, admin)
    # when
    matched = client.post(f"{RULES}preview/", {"company": "X", "province": "46"}, format="json")
    unmatched = client.post(f"{RULES}preview/", {"company": "X", "province": "28"}, format="json")
    invalid = client.post(f"{RULES}preview/", {"score": 300}, format="json")
    # then
    first_member = min([manager, rep], key=lambda u: u.pk)
    assert matched.status_code == 200
    assert matched.json() == {
        "rule": rule.pk,
        "rule_name": "Valencia",
        "owner": first_member.pk,
        "owner_name": first_member.get_full_name(),
    }
    assert unmatched.json() == {"rule": None, "rule_name": "", "owner": None, "owner_name": ""}
    assert invalid.status_code == 400
    assert invalid.json() == {"score": ["The score is a whole number from 0 to 100."]}
    rule.refresh_from_db()
    assert rule.last_assigned is None
    assert Lead.objects.count() == 0


# Disqualification reasons


def test_disqualify_reasons_are_a_read_only_list(api_client, rep):
    # given
    DisqualifyReason.objects.filter(name="Ilocalizable").update(is_active=False)
    client = _as(api_client, rep)
    # when
    listing = client.get(REASONS)
    active = client.get(REASONS, {"is_active": "true"})
    created = client.post(REASONS, {"name": "Otra"}, format="json")
    # then
    assert listing.status_code == 200
    assert [row["name"] for row in listing.json()["results"]] == [
        "Sin presupuesto",
        "Sin interés",
        "Ilocalizable",
        "Ya es cliente de la competencia",
        "Fuera de nuestra zona",
        "Datos falsos o duplicados",
    ]
    assert "Ilocalizable" not in [row["name"] for row in active.json()["results"]]
    assert created.status_code == 405
    assert DisqualifyReason.objects.count() == 6


def test_an_inactive_user_cannot_be_given_a_lead(api_client, admin):
    # given
    gone = UserFactory(is_active=False)
    # when
    response = _as(api_client, admin).post(
        LEADS, {"company": "Para nadie", "owner": gone.pk}, format="json"
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"owner": [f'Invalid pk "{gone.pk}" - object does not exist.']}
    assert Lead.objects.count() == 0
