"""The sales API: /api/v1/opportunities/, /pipelines/, /lost-reasons/, /products/,
/product-categories/ and /quotes/."""

import smtplib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from crm.customers.models import Lifecycle
from crm.customers.tests.factories import AccountFactory, ContactFactory
from crm.sales import quotes as quote_services
from crm.sales import services
from crm.sales.models import (
    LostReason,
    Opportunity,
    OpportunityEvent,
    OpportunityEventKind,
    Pipeline,
    Product,
    ProductCategory,
    Quote,
    QuoteLine,
    QuoteStatus,
    Stage,
    StageChange,
)
from crm.sales.tests.factories import OpportunityFactory, ProductFactory
from crm.users.services import token_for

OPPORTUNITIES = "/api/v1/opportunities/"
PIPELINES = "/api/v1/pipelines/"
LOST_REASONS = "/api/v1/lost-reasons/"
PRODUCTS = "/api/v1/products/"
CATEGORIES = "/api/v1/product-categories/"
QUOTES = "/api/v1/quotes/"


def _as(client: APIClient, user) -> APIClient:
    """Authenticate with the user's token; English messages so that texts are stable."""
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_for(user=user).key}", HTTP_ACCEPT_LANGUAGE="en"
    )
    return client


def _stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__is_default=True, name=name)


def _reason(name: str = "Precio") -> LostReason:
    return LostReason.objects.get(name=name)


def _deal(owner, **kwargs) -> Opportunity:
    return OpportunityFactory(account=AccountFactory(owner=owner), **kwargs)


def _created_deal(owner) -> Opportunity:
    """A deal made through the service, so that it has its first StageChange and event."""
    account = AccountFactory(owner=owner)
    return services.opportunity_create(actor=owner, fields={"title": "Web", "account": account})


def _snapshot(model, pk: int) -> dict:
    return model.objects.filter(pk=pk).values().get()


def _titles(response) -> list[str]:
    return [row["title"] for row in response.json()["results"]]


def _quote(owner, **fields) -> Quote:
    deal = _deal(owner)
    return quote_services.quote_create(actor=owner, opportunity=deal, fields=fields)


def _line(quote: Quote, actor, **values) -> QuoteLine:
    values.setdefault("description", "Instalación")
    values.setdefault("unit_price", Decimal("100.00"))
    return quote_services.quote_line_add(actor=actor, quote=quote, **values)


# Without a token


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", OPPORTUNITIES),
        ("post", OPPORTUNITIES),
        ("get", f"{OPPORTUNITIES}1/"),
        ("patch", f"{OPPORTUNITIES}1/"),
        ("delete", f"{OPPORTUNITIES}1/"),
        ("post", f"{OPPORTUNITIES}1/move/"),
        ("post", f"{OPPORTUNITIES}1/notes/"),
        ("get", f"{OPPORTUNITIES}1/timeline/"),
        ("get", f"{OPPORTUNITIES}1/stage-history/"),
        ("get", PIPELINES),
        ("post", PIPELINES),
        ("get", LOST_REASONS),
        ("get", PRODUCTS),
        ("post", PRODUCTS),
        ("get", CATEGORIES),
        ("get", QUOTES),
        ("post", QUOTES),
        ("get", f"{QUOTES}1/"),
        ("post", f"{QUOTES}1/lines/"),
        ("post", f"{QUOTES}1/send/"),
        ("get", f"{QUOTES}1/pdf/"),
    ],
)
def test_every_endpoint_answers_401_without_a_token(api_client, db, method, path):
    # when
    response = getattr(api_client, method)(path)
    # then
    assert response.status_code == 401


# Opportunities: listing and visibility


def test_opportunity_list_shows_a_rep_own_deals_and_deals_on_own_accounts(
    api_client, rep, manager, other_rep
):
    # given
    _deal(rep, title="Propia")
    OpportunityFactory(title="En mi cuenta", account=AccountFactory(owner=rep), owner=manager)
    _deal(manager, title="Del jefe")
    _deal(other_rep, title="Ajena")
    # when
    response = _as(api_client, rep).get(OPPORTUNITIES, {"sort": "title"})
    # then
    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert _titles(response) == ["En mi cuenta", "Propia"]


def test_opportunity_list_shows_a_manager_the_teams_deals(api_client, rep, manager, other_rep):
    # given
    _deal(rep, title="De rep")
    _deal(manager, title="Propia")
    _deal(other_rep, title="Ajena")
    # when
    response = _as(api_client, manager).get(OPPORTUNITIES, {"sort": "title"})
    # then
    assert _titles(response) == ["De rep", "Propia"]


def test_opportunity_list_shows_an_admin_every_deal(api_client, admin, rep, other_rep):
    # given
    _deal(rep, title="De rep")
    _deal(other_rep, title="Ajena")
    # when
    response = _as(api_client, admin).get(OPPORTUNITIES, {"sort": "title"})
    # then
    assert _titles(response) == ["Ajena", "De rep"]


def test_opportunity_list_filters_by_stage_open_account_and_close_dates(api_client, rep):
    # given
    account = AccountFactory(owner=rep)
    OpportunityFactory(title="Marzo", account=account, expected_close_date=date(2026, 3, 10))
    OpportunityFactory(
        title="Abril",
        account=AccountFactory(owner=rep),
        expected_close_date=date(2026, 4, 2),
        stage=_stage("En negociación"),
    )
    OpportunityFactory(
        title="Ganada",
        account=AccountFactory(owner=rep),
        expected_close_date=date(2026, 3, 20),
        stage=_stage("Ganada"),
    )
    client = _as(api_client, rep)
    # when
    by_stage = client.get(OPPORTUNITIES, {"stage": _stage("En negociación").pk})
    open_ = client.get(OPPORTUNITIES, {"open": "true", "sort": "title"})
    closed = client.get(OPPORTUNITIES, {"open": "false"})
    by_account = client.get(OPPORTUNITIES, {"account": account.pk})
    by_dates = client.get(
        OPPORTUNITIES,
        {"expected_close_from": "2026-03-01", "expected_close_to": "2026-03-31", "sort": "title"},
    )
    by_month = client.get(OPPORTUNITIES, {"month": "2026-04"})
    # then
    assert _titles(by_stage) == ["Abril"]
    assert _titles(open_) == ["Abril", "Marzo"]
    assert _titles(closed) == ["Ganada"]
    assert _titles(by_account) == ["Marzo"]
    assert _titles(by_dates) == ["Ganada", "Marzo"]
    assert _titles(by_month) == ["Abril"]


def test_opportunity_list_filters_by_owner_and_team(api_client, admin, rep, other_rep):
    # given
    _deal(rep, title="De rep")
    _deal(other_rep, title="Ajena")
    client = _as(api_client, admin)
    # when
    by_owner = client.get(OPPORTUNITIES, {"owner": other_rep.pk})
    by_team = client.get(OPPORTUNITIES, {"team": rep.team_id})
    # then
    assert _titles(by_owner) == ["Ajena"]
    assert _titles(by_team) == ["De rep"]


def test_opportunity_retrieve_gives_stage_probability_weighted_amount_and_version(api_client, rep):
    # given
    deal = _deal(
        rep,
        title="Centralita",
        amount=Decimal("1234.50"),
        stage=_stage("Oferta presentada"),
        probability=40,
        expected_close_date=date(2026, 5, 31),
    )
    # when
    response = _as(api_client, rep).get(f"{OPPORTUNITIES}{deal.pk}/")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Centralita"
    assert body["account"] == deal.account_id
    assert body["account_name"] == deal.account.name
    assert body["owner"] == rep.pk
    assert body["team"] == rep.team_id
    assert body["pipeline"] == deal.pipeline_id
    assert body["stage"] == _stage("Oferta presentada").pk
    assert body["stage_name"] == "Oferta presentada"
    assert body["stage_kind"] == "open"
    assert body["amount"] == "1234.50"
    assert body["probability"] == 40
    assert body["weighted_amount"] == "493.80"
    assert body["expected_close_date"] == "2026-05-31"
    assert body["version"] == 1


# Opportunities: create


def test_opportunity_create_opens_the_deal_in_the_first_stage(api_client, rep):
    # given
    account = AccountFactory(owner=rep)
    contact = ContactFactory(account=account)
    # when
    response = _as(api_client, rep).post(
        OPPORTUNITIES,
        {
            "title": "Renovación de equipos",
            "account": account.pk,
            "contact": contact.pk,
            "amount": "2500.00",
            "expected_close_date": "2026-06-30",
        },
        format="json",
    )
    # then
    assert response.status_code == 201
    body = response.json()
    deal = Opportunity.objects.get(pk=body["id"])
    assert deal.title == "Renovación de equipos"
    assert deal.contact == contact
    assert deal.owner == rep
    assert deal.stage == _stage("En análisis")
    assert deal.probability == 10
    assert deal.amount == Decimal("2500.00")
    assert body["stage_name"] == "En análisis"
    assert body["weighted_amount"] == "250.00"
    assert list(
        StageChange.objects.filter(opportunity=deal).values_list("to_stage__name", flat=True)
    ) == ["En análisis"]


def test_opportunity_create_in_a_chosen_stage_with_a_typed_probability(api_client, rep):
    # given
    account = AccountFactory(owner=rep)
    # when
    response = _as(api_client, rep).post(
        OPPORTUNITIES,
        {
            "title": "Mantenimiento",
            "account": account.pk,
            "stage": _stage("En negociación").pk,
            "probability": 55,
        },
        format="json",
    )
    # then
    assert response.status_code == 201
    assert response.json()["stage_name"] == "En negociación"
    assert response.json()["probability"] == 55
    assert response.json()["probability_overridden"] is True


def test_opportunity_create_refuses_a_closed_stage(api_client, rep):
    # given
    account = AccountFactory(owner=rep)
    # when
    response = _as(api_client, rep).post(
        OPPORTUNITIES,
        {"title": "X", "account": account.pk, "stage": _stage("Ganada").pk},
        format="json",
    )
    # then
    assert response.status_code == 400
    assert "stage" in response.json()
    assert not Opportunity.objects.exists()


def test_opportunity_create_treats_a_foreign_account_as_nonexistent(api_client, rep, other_rep):
    # given
    foreign = AccountFactory(owner=other_rep)
    # when
    response = _as(api_client, rep).post(
        OPPORTUNITIES, {"title": "X", "account": foreign.pk}, format="json"
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"account": [f'Invalid pk "{foreign.pk}" - object does not exist.']}
    assert not Opportunity.objects.exists()


def test_opportunity_create_refuses_a_contact_of_another_account(api_client, rep):
    # given
    account = AccountFactory(owner=rep)
    other_contact = ContactFactory(account=AccountFactory(owner=rep))
    # when
    response = _as(api_client, rep).post(
        OPPORTUNITIES,
        {"title": "X", "account": account.pk, "contact": other_contact.pk},
        format="json",
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"contact": ["The contact is not a person of this account."]}
    assert not Opportunity.objects.exists()


def test_opportunity_create_without_title_answers_400(api_client, rep):
    # given
    account = AccountFactory(owner=rep)
    # when
    response = _as(api_client, rep).post(OPPORTUNITIES, {"account": account.pk}, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {"title": ["This field is required."]}


# Opportunities: update with optimistic locking


def test_opportunity_patch_with_the_current_version_saves_and_bumps_it(api_client, rep):
    # given
    deal = _deal(rep, title="Antes", amount=Decimal("100.00"))
    # when
    response = _as(api_client, rep).patch(
        f"{OPPORTUNITIES}{deal.pk}/",
        {"version": 1, "title": "Después", "amount": "150.25", "next_step": "Llamar el lunes"},
        format="json",
    )
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Después"
    assert body["amount"] == "150.25"
    assert body["next_step"] == "Llamar el lunes"
    assert body["version"] == 2
    deal.refresh_from_db()
    assert (deal.title, deal.amount, deal.version) == ("Después", Decimal("150.25"), 2)
    event = OpportunityEvent.objects.get(opportunity=deal, kind=OpportunityEventKind.UPDATED)
    assert event.changes["title"] == ["Antes", "Después"]


def test_opportunity_patch_with_a_stale_version_answers_409_and_changes_nothing(api_client, rep):
    # given: someone saved the deal after the client read it at version 1
    deal = _deal(rep, title="Antes")
    services.opportunity_update(
        actor=rep, opportunity=deal, fields={"title": "De otro"}, expected_version=1
    )
    before = _snapshot(Opportunity, deal.pk)
    # when
    response = _as(api_client, rep).patch(
        f"{OPPORTUNITIES}{deal.pk}/", {"version": 1, "title": "Mío"}, format="json"
    )
    # then
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict"
    assert body["detail"].startswith("Someone else changed this opportunity")
    assert body["current"]["title"] == "De otro"
    assert body["current"]["version"] == 2
    assert _snapshot(Opportunity, deal.pk) == before


def test_opportunity_patch_without_version_answers_400(api_client, rep):
    # given
    deal = _deal(rep, title="Antes")
    before = _snapshot(Opportunity, deal.pk)
    # when
    response = _as(api_client, rep).patch(
        f"{OPPORTUNITIES}{deal.pk}/", {"title": "Mío"}, format="json"
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"version": ["This field is required."]}
    assert _snapshot(Opportunity, deal.pk) == before


def test_opportunity_patch_probability_null_goes_back_to_the_stages(api_client, rep):
    # given
    deal = _deal(rep)
    client = _as(api_client, rep)
    client.patch(f"{OPPORTUNITIES}{deal.pk}/", {"version": 1, "probability": 80}, format="json")
    # when
    response = client.patch(
        f"{OPPORTUNITIES}{deal.pk}/", {"version": 2, "probability": None}, format="json"
    )
    # then
    assert response.status_code == 200
    assert response.json()["probability"] == 10
    assert response.json()["probability_overridden"] is False


def test_opportunity_patch_with_a_bad_amount_answers_400_by_field(api_client, rep):
    # given
    deal = _deal(rep)
    before = _snapshot(Opportunity, deal.pk)
    # when
    response = _as(api_client, rep).patch(
        f"{OPPORTUNITIES}{deal.pk}/", {"version": 1, "amount": "-5.00"}, format="json"
    )
    # then
    assert response.status_code == 400
    assert list(response.json()) == ["amount"]
    assert _snapshot(Opportunity, deal.pk) == before


def test_put_is_not_offered(api_client, rep):
    # given
    deal = _deal(rep)
    # when
    response = _as(api_client, rep).put(f"{OPPORTUNITIES}{deal.pk}/", {}, format="json")
    # then
    assert response.status_code == 405


# Opportunities: foreign records


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [
        ("get", "", None),
        ("patch", "", {"version": 1, "title": "Mío"}),
        ("delete", "", None),
        ("post", "move/", {"stage": "OFFER"}),
        ("post", "notes/", {"body": "Hola"}),
        ("get", "timeline/", None),
        ("get", "stage-history/", None),
    ],
)
def test_a_foreign_opportunity_answers_404_on_every_method(
    api_client, rep, other_rep, method, suffix, payload
):
    # given
    foreign = _created_deal(other_rep)
    if payload and payload.get("stage") == "OFFER":
        payload = {"stage": _stage("Oferta presentada").pk}
    before = _snapshot(Opportunity, foreign.pk)
    events = OpportunityEvent.objects.count()
    # when
    response = getattr(_as(api_client, rep), method)(
        f"{OPPORTUNITIES}{foreign.pk}/{suffix}", payload, format="json"
    )
    # then
    assert response.status_code == 404
    assert _snapshot(Opportunity, foreign.pk) == before
    assert OpportunityEvent.objects.count() == events


def test_a_manager_sees_the_teams_deal_but_not_another_teams(api_client, manager, rep, other_rep):
    # given
    teams = _deal(rep)
    foreign = _deal(other_rep)
    client = _as(api_client, manager)
    # when
    own_team = client.get(f"{OPPORTUNITIES}{teams.pk}/")
    other_team = client.get(f"{OPPORTUNITIES}{foreign.pk}/")
    # then
    assert own_team.status_code == 200
    assert other_team.status_code == 404


# Opportunities: delete


def test_opportunity_delete_by_its_owner(api_client, rep):
    # given
    deal = _deal(rep)
    # when
    response = _as(api_client, rep).delete(f"{OPPORTUNITIES}{deal.pk}/")
    # then
    assert response.status_code == 204
    assert not Opportunity.objects.filter(pk=deal.pk).exists()


def test_opportunity_delete_refused_to_a_rep_who_only_owns_the_account(api_client, rep, manager):
    # given: the manager's deal on the rep's account (the rep sees it, may not delete it)
    deal = OpportunityFactory(account=AccountFactory(owner=rep), owner=manager)
    # when
    response = _as(api_client, rep).delete(f"{OPPORTUNITIES}{deal.pk}/")
    # then
    assert response.status_code == 403
    assert Opportunity.objects.filter(pk=deal.pk).exists()


# Opportunities: moves


def test_move_records_the_stage_change_and_takes_the_stages_probability(api_client, rep):
    # given
    deal = _created_deal(rep)
    # when
    response = _as(api_client, rep).post(
        f"{OPPORTUNITIES}{deal.pk}/move/",
        {"stage": _stage("Oferta presentada").pk, "version": 1},
        format="json",
    )
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["stage_name"] == "Oferta presentada"
    assert body["probability"] == 40
    assert body["version"] == 2
    moves = StageChange.objects.filter(opportunity=deal).order_by("changed_at", "id")
    assert [(m.from_stage and m.from_stage.name, m.to_stage.name, m.actor) for m in moves] == [
        (None, "En análisis", rep),
        ("En análisis", "Oferta presentada", rep),
    ]


def test_move_to_lost_without_a_reason_answers_400_and_changes_nothing(api_client, rep):
    # given
    deal = _created_deal(rep)
    before = _snapshot(Opportunity, deal.pk)
    # when
    response = _as(api_client, rep).post(
        f"{OPPORTUNITIES}{deal.pk}/move/", {"stage": _stage("Perdida").pk}, format="json"
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"lost_reason": ["Say why the deal was lost or cancelled."]}
    assert _snapshot(Opportunity, deal.pk) == before
    assert StageChange.objects.filter(opportunity=deal).count() == 1


def test_move_to_cancelled_with_a_reason_closes_the_deal(api_client, rep):
    # given
    deal = _created_deal(rep)
    # when
    response = _as(api_client, rep).post(
        f"{OPPORTUNITIES}{deal.pk}/move/",
        {"stage": _stage("Cancelada").pk, "lost_reason": _reason().pk, "lost_note": "Caro"},
        format="json",
    )
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["stage_kind"] == "lost"
    assert body["lost_reason"] == _reason().pk
    assert body["lost_note"] == "Caro"
    assert body["probability"] == 0
    assert body["closed_at"] is not None


def test_move_to_won_makes_the_account_a_customer(api_client, rep):
    # given
    deal = _created_deal(rep)
    assert deal.account.lifecycle == Lifecycle.PROSPECT
    # when
    response = _as(api_client, rep).post(
        f"{OPPORTUNITIES}{deal.pk}/move/", {"stage": _stage("Ganada").pk}, format="json"
    )
    # then
    assert response.status_code == 200
    assert response.json()["stage_kind"] == "won"
    assert response.json()["probability"] == 100
    deal.account.refresh_from_db()
    assert deal.account.lifecycle == Lifecycle.CUSTOMER


def test_move_with_a_stale_version_answers_409_and_does_not_move(api_client, rep):
    # given
    deal = _created_deal(rep)
    services.opportunity_update(actor=rep, opportunity=deal, fields={"title": "Otro"})
    before = _snapshot(Opportunity, deal.pk)
    # when
    response = _as(api_client, rep).post(
        f"{OPPORTUNITIES}{deal.pk}/move/",
        {"stage": _stage("En negociación").pk, "version": 1},
        format="json",
    )
    # then
    assert response.status_code == 409
    assert response.json()["current"]["version"] == 2
    assert response.json()["current"]["stage_name"] == "En análisis"
    assert _snapshot(Opportunity, deal.pk) == before
    assert StageChange.objects.filter(opportunity=deal).count() == 1


def test_move_to_a_stage_of_another_pipeline_answers_400(api_client, rep):
    # given
    deal = _created_deal(rep)
    other = Pipeline.objects.create(name="Distribución")
    stage = Stage.objects.create(pipeline=other, name="Inicio", position=1)
    before = _snapshot(Opportunity, deal.pk)
    # when
    response = _as(api_client, rep).post(
        f"{OPPORTUNITIES}{deal.pk}/move/", {"stage": stage.pk}, format="json"
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"stage": ["The stage is not in this deal's pipeline."]}
    assert _snapshot(Opportunity, deal.pk) == before


# Opportunities: notes, timeline, stage history


def test_notes_add_a_note_to_the_timeline(api_client, rep):
    # given
    deal = _created_deal(rep)
    # when
    response = _as(api_client, rep).post(
        f"{OPPORTUNITIES}{deal.pk}/notes/", {"body": "  Quiere demo  "}, format="json"
    )
    # then
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "note"
    assert body["body"] == "Quiere demo"
    assert body["actor"] == rep.pk


def test_an_empty_note_answers_400(api_client, rep):
    # given
    deal = _created_deal(rep)
    # when
    response = _as(api_client, rep).post(
        f"{OPPORTUNITIES}{deal.pk}/notes/", {"body": "  "}, format="json"
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"body": ["Write the note before saving it."]}
    assert not OpportunityEvent.objects.filter(kind=OpportunityEventKind.NOTE).exists()


def test_timeline_lists_the_deals_events_newest_first(api_client, rep):
    # given
    deal = _created_deal(rep)
    client = _as(api_client, rep)
    client.post(f"{OPPORTUNITIES}{deal.pk}/move/", {"stage": _stage("Ganada").pk}, format="json")
    client.post(f"{OPPORTUNITIES}{deal.pk}/notes/", {"body": "Firmado"}, format="json")
    # when
    response = client.get(f"{OPPORTUNITIES}{deal.pk}/timeline/")
    # then
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["kind"] for row in rows] == ["note", "stage", "created"]
    assert rows[1]["changes"] == {"stage": ["En análisis", "Ganada"]}


def test_stage_history_gives_each_stay_with_its_time_in_stage(api_client, rep):
    # given: two hours in analysis, then into the offer stage
    deal = _created_deal(rep)
    start = timezone.now() - timedelta(hours=2)
    StageChange.objects.filter(opportunity=deal).update(changed_at=start)
    client = _as(api_client, rep)
    client.post(
        f"{OPPORTUNITIES}{deal.pk}/move/", {"stage": _stage("Oferta presentada").pk}, format="json"
    )
    # when
    response = client.get(f"{OPPORTUNITIES}{deal.pk}/stage-history/")
    # then
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["from_stage_name"], r["to_stage_name"]) for r in rows] == [
        ("", "En análisis"),
        ("En análisis", "Oferta presentada"),
    ]
    assert rows[0]["from_stage"] is None
    assert rows[1]["from_stage"] == _stage("En análisis").pk
    assert rows[0]["actor"] == rep.pk
    assert 7190 <= rows[0]["seconds_in_stage"] <= 7300
    assert rows[0]["days_in_stage"] == 0
    assert rows[0]["left_at"] is not None
    assert rows[1]["left_at"] is None


# Pipelines and lost reasons


def test_pipelines_are_read_by_everyone_with_their_ordered_stages(api_client, rep):
    # when
    response = _as(api_client, rep).get(PIPELINES)
    # then
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [p["name"] for p in rows] == ["Ventas"]
    assert rows[0]["is_default"] is True
    assert [(s["name"], s["probability"], s["kind"]) for s in rows[0]["stages"]] == [
        ("En análisis", 10, "open"),
        ("Oferta presentada", 40, "open"),
        ("En negociación", 70, "open"),
        ("Ganada", 100, "won"),
        ("Perdida", 0, "lost"),
        ("Cancelada", 0, "lost"),
    ]


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [
        ("post", "", {"name": "Nueva"}),
        ("patch", "{id}/", {"name": "Renombrada"}),
        ("post", "{id}/set-default/", None),
        ("post", "{id}/stages/", {"name": "Demo"}),
        ("patch", "{id}/stages/{stage}/", {"name": "Otra"}),
        ("delete", "{id}/stages/{stage}/", None),
        ("post", "{id}/stages/{stage}/move/", {"offset": 1}),
    ],
)
def test_pipeline_writes_are_for_administrators_only(api_client, manager, method, suffix, payload):
    # given
    pipeline = Pipeline.objects.get(is_default=True)
    stage = _stage("En análisis")
    pipelines = list(Pipeline.objects.values())
    stages = list(Stage.objects.values())
    path = PIPELINES + suffix.format(id=pipeline.pk, stage=stage.pk)
    # when
    response = getattr(_as(api_client, manager), method)(path, payload, format="json")
    # then
    assert response.status_code == 403
    assert response.json() == {"detail": "Only administrators can do this."}
    assert list(Pipeline.objects.values()) == pipelines
    assert list(Stage.objects.values()) == stages


def test_an_admin_creates_renames_and_makes_a_pipeline_the_default(api_client, admin):
    # given
    client = _as(api_client, admin)
    # when
    created = client.post(PIPELINES, {"name": "Distribución"}, format="json")
    pk = created.json()["id"]
    renamed = client.patch(f"{PIPELINES}{pk}/", {"name": "Distribuidores"}, format="json")
    default = client.post(f"{PIPELINES}{pk}/set-default/")
    # then
    assert created.status_code == 201
    assert [s["kind"] for s in created.json()["stages"]] == ["open", "won", "lost"]
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Distribuidores"
    assert default.status_code == 200
    assert default.json()["is_default"] is True
    assert Pipeline.objects.get(is_default=True).pk == pk


def test_an_admin_adds_changes_moves_and_deletes_a_stage(api_client, admin):
    # given
    pipeline = Pipeline.objects.get(is_default=True)
    client = _as(api_client, admin)
    # when
    added = client.post(
        f"{PIPELINES}{pipeline.pk}/stages/", {"name": "Demo", "probability": 25}, format="json"
    )
    demo = Stage.objects.get(pipeline=pipeline, name="Demo")
    changed = client.patch(
        f"{PIPELINES}{pipeline.pk}/stages/{demo.pk}/", {"probability": 30}, format="json"
    )
    moved = client.post(
        f"{PIPELINES}{pipeline.pk}/stages/{demo.pk}/move/", {"offset": -1}, format="json"
    )
    deleted = client.delete(f"{PIPELINES}{pipeline.pk}/stages/{demo.pk}/")
    # then
    assert added.status_code == 201
    assert added.json()["stages"][-1] == {
        "id": demo.pk,
        "name": "Demo",
        "position": 7,
        "probability": 25,
        "kind": "open",
        "is_active": True,
    }
    assert changed.status_code == 200
    assert changed.json()["stages"][-1]["probability"] == 30
    assert moved.status_code == 200
    assert [s["name"] for s in moved.json()["stages"]][-2:] == ["Demo", "Cancelada"]
    assert deleted.status_code == 204
    assert not Stage.objects.filter(pk=demo.pk).exists()


def test_a_stage_with_deals_is_not_deleted(api_client, admin, rep):
    # given
    pipeline = Pipeline.objects.get(is_default=True)
    stage = _stage("En negociación")
    _deal(rep, stage=stage)
    # when
    response = _as(api_client, admin).delete(f"{PIPELINES}{pipeline.pk}/stages/{stage.pk}/")
    # then
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Deals are in this stage: move them before deleting it."]
    }
    assert Stage.objects.filter(pk=stage.pk).exists()


def test_a_stage_of_another_pipeline_answers_404(api_client, admin):
    # given
    pipeline = Pipeline.objects.get(is_default=True)
    other = Pipeline.objects.create(name="Otra")
    stage = Stage.objects.create(pipeline=other, name="Inicio", position=1)
    # when
    response = _as(api_client, admin).patch(
        f"{PIPELINES}{pipeline.pk}/stages/{stage.pk}/", {"name": "X"}, format="json"
    )
    # then
    assert response.status_code == 404
    assert Stage.objects.get(pk=stage.pk).name == "Inicio"


def test_lost_reasons_are_listed_in_order(api_client, rep):
    # given
    LostReason.objects.filter(name="Producto no adecuado").update(is_active=False)
    # when
    response = _as(api_client, rep).get(LOST_REASONS, {"is_active": "true"})
    # then
    assert response.status_code == 200
    assert [r["name"] for r in response.json()["results"]] == [
        "Precio",
        "Eligió a la competencia",
        "Sin presupuesto",
        "Sin respuesta del cliente",
        "Proyecto aplazado o cancelado por el cliente",
    ]


def test_lost_reasons_are_read_only(api_client, admin):
    # when
    response = _as(api_client, admin).post(LOST_REASONS, {"name": "X"}, format="json")
    # then
    assert response.status_code == 405


# Products


def test_product_list_shows_the_active_catalog_and_filters(api_client, rep):
    # given
    services_category = ProductCategory.objects.get(name="Servicios")
    ProductFactory(code="A1", name="Router", kind="product")
    ProductFactory(code="S1", name="Soporte remoto", kind="service", category=services_category)
    ProductFactory(code="X1", name="Fax antiguo", is_active=False)
    client = _as(api_client, rep)

    def codes(params):
        return [row["code"] for row in client.get(PRODUCTS, params).json()["results"]]

    # then
    assert codes({}) == ["A1", "S1"]
    assert codes({"active": "all"}) == ["X1", "A1", "S1"]
    assert codes({"active": "no"}) == ["X1"]
    assert codes({"kind": "service"}) == ["S1"]
    assert codes({"category": services_category.pk}) == ["S1"]
    assert codes({"q": "soporte"}) == ["S1"]


def test_product_retrieve_gives_money_as_decimal_strings(api_client, rep):
    # given
    product = ProductFactory(
        code="M1",
        name="Mantenimiento",
        kind="service",
        unit="mes",
        unit_price=Decimal("49.90"),
        vat_rate="21",
        recurrence="monthly",
        is_active=False,
    )
    # when
    response = _as(api_client, rep).get(f"{PRODUCTS}{product.pk}/")
    # then
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("code", "unit", "unit_price", "vat_rate", "recurrence")} == {
        "code": "M1",
        "unit": "mes",
        "unit_price": "49.90",
        "vat_rate": "21",
        "recurrence": "monthly",
    }
    assert body["is_active"] is False
    assert body["category_name"] is None


def test_unknown_product_answers_404(api_client, rep):
    # when
    response = _as(api_client, rep).get(f"{PRODUCTS}999999/")
    # then
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [
        ("post", "", {"code": "N1", "name": "Nuevo", "unit_price": "1.00"}),
        ("patch", "{id}/", {"name": "Cambiado"}),
        ("post", "{id}/deactivate/", None),
    ],
)
def test_product_writes_are_for_administrators_only(api_client, rep, method, suffix, payload):
    # given
    product = ProductFactory(code="A1", name="Router")
    before = list(Product.objects.values())
    # when
    response = getattr(_as(api_client, rep), method)(
        PRODUCTS + suffix.format(id=product.pk), payload, format="json"
    )
    # then
    assert response.status_code == 403
    assert list(Product.objects.values()) == before


def test_an_admin_creates_changes_and_deactivates_a_product(api_client, admin):
    # given
    category = ProductCategory.objects.get(name="Mantenimiento")
    client = _as(api_client, admin)
    # when
    created = client.post(
        PRODUCTS,
        {
            "code": "MNT-1",
            "name": " Mantenimiento anual ",
            "kind": "service",
            "category": category.pk,
            "unit": "año",
            "unit_price": "600.00",
            "vat_rate": "21",
            "recurrence": "yearly",
        },
        format="json",
    )
    pk = created.json()["id"]
    changed = client.patch(f"{PRODUCTS}{pk}/", {"unit_price": "650.50"}, format="json")
    deactivated = client.post(f"{PRODUCTS}{pk}/deactivate/")
    # then
    assert created.status_code == 201
    assert created.json()["name"] == "Mantenimiento anual"
    assert created.json()["category_name"] == "Mantenimiento"
    assert changed.status_code == 200
    assert changed.json()["unit_price"] == "650.50"
    assert deactivated.status_code == 200
    assert deactivated.json()["is_active"] is False
    product = Product.objects.get(pk=pk)
    assert (product.unit_price, product.is_active) == (Decimal("650.50"), False)


def test_product_create_with_bad_values_answers_400_by_field(api_client, admin):
    # given
    ProductFactory(code="DUP")
    # when
    bad_vat = _as(api_client, admin).post(
        PRODUCTS, {"code": "V", "name": "V", "unit_price": "1.00", "vat_rate": "7"}, format="json"
    )
    duplicate = api_client.post(
        PRODUCTS, {"code": "DUP", "name": "Otro", "unit_price": "1.00"}, format="json"
    )
    negative = api_client.post(
        PRODUCTS, {"code": "NEG", "name": "N", "unit_price": "-1.00"}, format="json"
    )
    # then
    assert bad_vat.status_code == 400
    assert list(bad_vat.json()) == ["vat_rate"]
    assert duplicate.status_code == 400
    assert list(duplicate.json()) == ["code"]
    assert negative.status_code == 400
    assert list(negative.json()) == ["unit_price"]
    assert list(Product.objects.values_list("code", flat=True)) == ["DUP"]


def test_product_categories_are_listed(api_client, rep):
    # when
    response = _as(api_client, rep).get(CATEGORIES)
    # then
    assert response.status_code == 200
    assert [c["name"] for c in response.json()["results"]] == [
        "Productos",
        "Servicios",
        "Mantenimiento",
    ]


# Quotes: listing, visibility


def test_quote_list_shows_the_quotes_of_visible_deals_and_filters(
    api_client, rep, manager, other_rep
):
    # given
    mine = _quote(rep, title="Mío")
    _quote(rep, title="Otro mío")
    _quote(other_rep, title="Ajeno")
    client = _as(api_client, rep)
    # when
    everything = client.get(QUOTES)
    by_deal = client.get(QUOTES, {"opportunity": mine.opportunity_id})
    sent = client.get(QUOTES, {"status": "sent"})
    as_manager = _as(APIClient(), manager).get(QUOTES)
    # then
    assert everything.status_code == 200
    assert [q["title"] for q in everything.json()["results"]] == ["Otro mío", "Mío"]
    assert [q["title"] for q in by_deal.json()["results"]] == ["Mío"]
    assert sent.json()["results"] == []
    assert [q["title"] for q in as_manager.json()["results"]] == ["Otro mío", "Mío"]


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [
        ("get", "", None),
        ("patch", "", {"title": "Mío"}),
        ("delete", "", None),
        ("post", "lines/", {"description": "X", "unit_price": "1.00"}),
        ("patch", "lines/{line}/", {"quantity": "5"}),
        ("delete", "lines/{line}/", None),
        ("post", "revise/", None),
        ("post", "send/", {"to": "cliente@example.com"}),
        ("post", "win/", None),
        ("get", "pdf/", None),
    ],
)
def test_a_foreign_quote_answers_404_on_every_method(
    api_client, rep, other_rep, method, suffix, payload
):
    # given
    foreign = _quote(other_rep, title="Ajeno")
    line = _line(foreign, other_rep)
    quote_before = _snapshot(Quote, foreign.pk)
    lines_before = list(QuoteLine.objects.values())
    # when
    response = getattr(_as(api_client, rep), method)(
        f"{QUOTES}{foreign.pk}/{suffix.format(line=line.pk)}", payload, format="json"
    )
    # then
    assert response.status_code == 404
    assert _snapshot(Quote, foreign.pk) == quote_before
    assert list(QuoteLine.objects.values()) == lines_before
    assert mail.outbox == []


def test_a_line_of_another_quote_answers_404(api_client, rep):
    # given
    quote = _quote(rep)
    other_line = _line(_quote(rep), rep)
    # when
    response = _as(api_client, rep).patch(
        f"{QUOTES}{quote.pk}/lines/{other_line.pk}/", {"quantity": "9"}, format="json"
    )
    # then
    assert response.status_code == 404
    assert QuoteLine.objects.get(pk=other_line.pk).quantity == Decimal(1)


# Quotes: building a draft


def test_quote_create_starts_a_draft_for_a_visible_deal(api_client, rep):
    # given
    deal = _deal(rep, title="Centralita")
    contact = ContactFactory(account=deal.account)
    # when
    response = _as(api_client, rep).post(
        QUOTES,
        {
            "opportunity": deal.pk,
            "contact": contact.pk,
            "issue_date": "2026-03-01",
            "valid_until": "2026-03-31",
            "term_months": 24,
        },
        format="json",
    )
    # then
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft"
    assert body["title"] == "Centralita"
    assert body["number"] == ""
    assert body["display_number"] == f"Draft {body['id']}"
    assert body["contact"] == contact.pk
    assert body["valid_until"] == "2026-03-31"
    assert body["term_months"] == 24
    assert body["lines"] == []
    assert body["taxes"] == []
    assert body["total"] == "0.00"


def test_quote_create_treats_a_foreign_deal_as_nonexistent(api_client, rep, other_rep):
    # given
    foreign = _deal(other_rep)
    # when
    response = _as(api_client, rep).post(QUOTES, {"opportunity": foreign.pk}, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {
        "opportunity": [f'Invalid pk "{foreign.pk}" - object does not exist.']
    }
    assert not Quote.objects.exists()


def test_quote_create_refuses_a_validity_before_its_date(api_client, rep):
    # given
    deal = _deal(rep)
    # when
    response = _as(api_client, rep).post(
        QUOTES,
        {"opportunity": deal.pk, "issue_date": "2026-03-10", "valid_until": "2026-03-01"},
        format="json",
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"valid_until": ["The quote cannot expire before its date."]}
    assert not Quote.objects.exists()


def test_quote_lines_give_exact_totals_per_vat_rate(api_client, rep):
    # given
    quote = _quote(rep)
    client = _as(api_client, rep)
    router = ProductFactory(
        code="R1", name="Router", unit="ud.", unit_price=Decimal("33.33"), vat_rate="21"
    )
    # when
    first = client.post(
        f"{QUOTES}{quote.pk}/lines/",
        {"product": router.pk, "quantity": "3", "discount_percent": "10"},
        format="json",
    )
    client.post(
        f"{QUOTES}{quote.pk}/lines/",
        {"description": "Libro técnico", "quantity": "2", "unit_price": "10.00", "vat_rate": "4"},
        format="json",
    )
    client.post(
        f"{QUOTES}{quote.pk}/lines/",
        {"description": "Formación", "unit_price": "5.00", "vat_rate": "exempt"},
        format="json",
    )
    response = client.get(f"{QUOTES}{quote.pk}/")
    # then: 3 × 33,33 − 10 % = 89,99 (VAT 18,90); 2 × 10 = 20,00 at 4 % (0,80); 5,00 exempt
    assert first.status_code == 201
    body = response.json()
    assert [
        (
            line["description"],
            line["quantity"],
            line["unit_price"],
            line["discount_percent"],
            line["base"],
        )
        for line in body["lines"]
    ] == [
        ("Router", "3.000", "33.33", "10.00", "89.99"),
        ("Libro técnico", "2.000", "10.00", "0.00", "20.00"),
        ("Formación", "1.000", "5.00", "0.00", "5.00"),
    ]
    assert body["lines"][0]["product"] == router.pk
    assert body["taxes"] == [
        {"rate": "21", "percent": "21.00", "base": "89.99", "tax": "18.90"},
        {"rate": "4", "percent": "4.00", "base": "20.00", "tax": "0.80"},
        {"rate": "exempt", "percent": "0.00", "base": "5.00", "tax": "0.00"},
    ]
    assert (body["subtotal"], body["tax_total"], body["total"]) == ("114.99", "19.70", "134.69")
    assert body["has_recurring"] is False
    quote.opportunity.refresh_from_db()
    assert quote.opportunity.amount == Decimal("114.99")


def test_quote_recurring_value_over_the_term(api_client, rep):
    # given
    quote = _quote(rep, term_months=24)
    client = _as(api_client, rep)
    # when
    client.post(
        f"{QUOTES}{quote.pk}/lines/",
        {"description": "Alta", "unit_price": "100.00"},
        format="json",
    )
    client.post(
        f"{QUOTES}{quote.pk}/lines/",
        {"description": "Cuota", "unit_price": "50.00", "recurrence": "monthly"},
        format="json",
    )
    response = client.post(
        f"{QUOTES}{quote.pk}/lines/",
        {"description": "Licencia", "unit_price": "120.00", "recurrence": "yearly"},
        format="json",
    )
    # then: monthly 50 + 120/12 = 60; yearly 600 + 120 = 720; term 100 + 60 × 24 = 1540
    assert response.json()["has_recurring"] is True
    assert response.json()["recurring"] == {
        "one_off": "100.00",
        "monthly": "60.00",
        "yearly": "720.00",
        "term_months": 24,
        "term_total": "1540.00",
    }


def test_quote_line_patch_and_delete_recalculate_the_totals(api_client, rep):
    # given
    quote = _quote(rep)
    keep = _line(quote, rep, unit_price=Decimal("10.00"))
    drop = _line(quote, rep, unit_price=Decimal("99.00"))
    client = _as(api_client, rep)
    # when
    patched = client.patch(
        f"{QUOTES}{quote.pk}/lines/{keep.pk}/",
        {"quantity": "2.5", "discount_percent": "20"},
        format="json",
    )
    deleted = client.delete(f"{QUOTES}{quote.pk}/lines/{drop.pk}/")
    # then: 2,5 × 10 − 20 % = 20,00; VAT 4,20
    assert patched.status_code == 200
    assert deleted.status_code == 204
    quote.refresh_from_db()
    assert (quote.subtotal, quote.tax_total, quote.total) == (
        Decimal("20.00"),
        Decimal("4.20"),
        Decimal("24.20"),
    )
    assert list(quote.lines.values_list("pk", flat=True)) == [keep.pk]


def test_a_line_without_description_or_product_answers_400(api_client, rep):
    # given
    quote = _quote(rep)
    # when
    response = _as(api_client, rep).post(
        f"{QUOTES}{quote.pk}/lines/", {"unit_price": "1.00"}, format="json"
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"description": ["Describe the line or choose a product."]}
    assert not quote.lines.exists()


def test_a_line_of_an_inactive_product_answers_400(api_client, rep):
    # given
    quote = _quote(rep)
    product = ProductFactory(is_active=False)
    # when
    response = _as(api_client, rep).post(
        f"{QUOTES}{quote.pk}/lines/", {"product": product.pk}, format="json"
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"product": ["This product is no longer sold."]}


def test_quote_patch_changes_a_drafts_header(api_client, rep):
    # given
    quote = _quote(rep)
    # when
    response = _as(api_client, rep).patch(
        f"{QUOTES}{quote.pk}/",
        {"title": "Oferta final", "notes": "Portes incluidos"},
        format="json",
    )
    # then
    assert response.status_code == 200
    quote.refresh_from_db()
    assert (quote.title, quote.notes) == ("Oferta final", "Portes incluidos")


def test_quote_delete_removes_a_draft(api_client, rep):
    # given
    quote = _quote(rep)
    # when
    response = _as(api_client, rep).delete(f"{QUOTES}{quote.pk}/")
    # then
    assert response.status_code == 204
    assert not Quote.objects.filter(pk=quote.pk).exists()


# Quotes: sending, revising, PDF, winning


def _sent_quote(rep, client) -> Quote:
    deal = _deal(rep)
    contact = ContactFactory(account=deal.account, email="compras@cliente.es")
    quote = quote_services.quote_create(actor=rep, opportunity=deal, fields={"contact": contact})
    _line(quote, rep, unit_price=Decimal("200.00"))
    response = client.post(f"{QUOTES}{quote.pk}/send/", {"message": "Saludos"}, format="json")
    assert response.status_code == 200
    return Quote.objects.get(pk=quote.pk)


def test_send_numbers_the_quote_mails_the_pdf_and_moves_the_deal(api_client, rep):
    # given
    client = _as(api_client, rep)
    # when
    quote = _sent_quote(rep, client)
    # then
    year = timezone.localdate().year
    assert quote.status == QuoteStatus.SENT
    assert quote.number == f"P-{year}-0001"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["compras@cliente.es"]
    assert f"P-{year}-0001" in message.subject
    assert "Saludos" in message.body
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == (f"P-{year}-0001.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    quote.opportunity.refresh_from_db()
    assert quote.opportunity.stage == _stage("Oferta presentada")


def test_send_a_quote_that_is_not_a_draft_answers_400(api_client, rep):
    # given
    client = _as(api_client, rep)
    quote = _sent_quote(rep, client)
    before = _snapshot(Quote, quote.pk)
    # when
    response = client.post(f"{QUOTES}{quote.pk}/send/", {}, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Only a draft can be sent; this quote is sent."]
    }
    assert _snapshot(Quote, quote.pk) == before
    assert len(mail.outbox) == 1


def test_send_without_lines_answers_400_and_sends_nothing(api_client, rep):
    # given
    quote = _quote(rep)
    # when
    response = _as(api_client, rep).post(
        f"{QUOTES}{quote.pk}/send/", {"to": "a@example.com"}, format="json"
    )
    # then
    assert response.status_code == 400
    assert mail.outbox == []
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.DRAFT


def test_a_sent_quote_is_not_edited_but_revised_into_version_2(api_client, rep):
    # given
    client = _as(api_client, rep)
    quote = _sent_quote(rep, client)
    before = _snapshot(Quote, quote.pk)
    # when
    edit = client.patch(f"{QUOTES}{quote.pk}/", {"title": "Cambio"}, format="json")
    revised = client.post(f"{QUOTES}{quote.pk}/revise/")
    # then
    assert edit.status_code == 400
    assert edit.json() == {
        "non_field_errors": ["Only a draft quote can be changed; revise it to change it."]
    }
    assert revised.status_code == 201
    body = revised.json()
    assert (body["number"], body["version"], body["status"]) == (quote.number, 2, "draft")
    assert body["display_number"] == f"{quote.number} v2"
    assert body["previous"] == quote.pk
    assert [line["base"] for line in body["lines"]] == ["200.00"]
    old = Quote.objects.get(pk=quote.pk)
    assert old.status == QuoteStatus.SUPERSEDED
    assert {
        k: v for k, v in _snapshot(Quote, quote.pk).items() if k not in {"status", "updated_at"}
    } == {k: v for k, v in before.items() if k not in {"status", "updated_at"}}


def test_pdf_answers_the_quote_as_a_pdf(api_client, rep):
    # given
    quote = _quote(rep)
    _line(quote, rep)
    # when
    response = _as(api_client, rep).get(f"{QUOTES}{quote.pk}/pdf/", HTTP_ACCEPT="application/pdf")
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert (
        response["Content-Disposition"] == f'inline; filename="presupuesto-borrador-{quote.pk}.pdf"'
    )
    assert response.content.startswith(b"%PDF")


def test_a_manager_reads_the_teams_quote(api_client, manager, rep):
    # given
    quote = _quote(rep, title="Del equipo")
    # when
    response = _as(api_client, manager).get(f"{QUOTES}{quote.pk}/")
    # then
    assert response.status_code == 200
    assert response.json()["title"] == "Del equipo"


def test_win_moves_the_deal_of_an_accepted_quote_to_won(api_client, rep):
    # given
    client = _as(api_client, rep)
    quote = _sent_quote(rep, client)
    Quote.objects.filter(pk=quote.pk).update(status=QuoteStatus.ACCEPTED)
    # when
    response = client.post(f"{QUOTES}{quote.pk}/win/")
    # then
    assert response.status_code == 200
    assert response.json()["stage_kind"] == "won"
    quote.opportunity.account.refresh_from_db()
    assert quote.opportunity.account.lifecycle == Lifecycle.CUSTOMER


def test_win_with_a_quote_not_accepted_answers_400(api_client, rep):
    # given
    client = _as(api_client, rep)
    quote = _sent_quote(rep, client)
    # when
    response = client.post(f"{QUOTES}{quote.pk}/win/")
    # then
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Only an accepted quote can win the deal."]}
    quote.opportunity.refresh_from_db()
    assert quote.opportunity.stage == _stage("Oferta presentada")


# Query counts do not grow with the rows


@pytest.mark.parametrize("path", [OPPORTUNITIES, QUOTES, PIPELINES, PRODUCTS])
def test_list_query_count_does_not_grow_with_rows(api_client, admin, rep, path):
    # given
    client = _as(api_client, admin)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        return len(queries)

    _line(_quote(rep), rep, product=ProductFactory())
    count()  # the first request of a session does its own bookkeeping
    few = count()
    for _ in range(4):
        _line(_quote(rep), rep, product=ProductFactory(category=ProductCategory.objects.first()))
    Pipeline.objects.create(name="Otra")
    # when
    many = count()
    # then
    assert many == few


class RefusingBackend(BaseEmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPRecipientsRefused({"compras@cliente.es": (550, b"No such user")})


def test_send_when_the_mail_server_fails_answers_502_and_changes_nothing(api_client, rep, settings):
    # given
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    deal = _deal(rep)
    contact = ContactFactory(account=deal.account, email="compras@cliente.es")
    quote = quote_services.quote_create(actor=rep, opportunity=deal, fields={"contact": contact})
    _line(quote, rep)
    quote_before = _snapshot(Quote, quote.pk)
    deal_before = _snapshot(Opportunity, deal.pk)
    # when
    response = _as(api_client, rep).post(f"{QUOTES}{quote.pk}/send/", {}, format="json")
    # then
    assert response.status_code == 502
    assert response.json()["code"] == "delivery_failed"
    assert response.json()["detail"].startswith("The e-mail could not be sent (")
    assert _snapshot(Quote, quote.pk) == quote_before
    assert _snapshot(Opportunity, deal.pk) == deal_before
