import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from crm.customers.models import Lifecycle
from crm.customers.tests.factories import AccountFactory, ContactFactory
from crm.sales.models import (
    LostReason,
    Opportunity,
    OpportunityEvent,
    Pipeline,
    Stage,
    StageChange,
)
from crm.sales.services import opportunity_create, opportunity_update
from crm.sales.tests.factories import OpportunityFactory
from crm.users.tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

JSON = {"HTTP_ACCEPT": "application/json"}


def stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__is_default=True, name=name)


@pytest.fixture
def rep_client(client, rep):
    client.force_login(rep)
    return client


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def account(rep):
    return AccountFactory(owner=rep, name="Talleres Pérez SL")


@pytest.fixture
def deal(rep, account):
    return opportunity_create(
        actor=rep, fields={"account": account, "title": "Renovación flota", "amount": 1000}
    )


@pytest.fixture
def foreign_deal(other_rep):
    return OpportunityFactory(owner=other_rep, account=AccountFactory(owner=other_rep))


def snapshot(opportunity: Opportunity) -> tuple:
    opportunity.refresh_from_db()
    return (
        opportunity.title,
        opportunity.stage_id,
        opportunity.amount,
        opportunity.version,
        opportunity.stage_changes.count(),
        opportunity.events.count(),
    )


# -- access --


def test_pages_need_a_login(client):
    response = client.get(reverse("opportunity-board"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("opportunity-detail", "get"),
        ("opportunity-update", "get"),
        ("opportunity-update", "post"),
        ("opportunity-move", "post"),
        ("opportunity-note", "post"),
        ("opportunity-delete", "get"),
        ("opportunity-delete", "post"),
    ],
)
def test_a_foreign_deal_answers_404_and_stays_unchanged(rep_client, foreign_deal, name, method):
    before = snapshot(foreign_deal)
    data = {
        "title": "Robada",
        "stage": stage("Ganada").pk,
        "body": "nota",
        "version": foreign_deal.version,
    }
    response = getattr(rep_client, method)(reverse(name, args=[foreign_deal.pk]), data)

    assert response.status_code == 404
    assert snapshot(foreign_deal) == before
    assert Opportunity.objects.filter(pk=foreign_deal.pk).exists()


def test_foreign_deals_are_not_listed_nor_on_the_board(rep_client, deal, foreign_deal):
    listed = rep_client.get(reverse("opportunity-list")).context["page"].object_list
    board = rep_client.get(reverse("opportunity-board"))
    cards = [card for column in board.context["columns"] for card in (column.cards or [])]

    assert list(listed) == [deal]
    assert cards == [deal]
    assert foreign_deal.title not in board.content.decode()


def test_create_from_an_account_page(rep_client, rep, account):
    contact = ContactFactory(account=account)
    url = reverse("opportunity-create") + f"?account={account.pk}"
    assert rep_client.get(url).status_code == 200

    response = rep_client.post(
        url,
        {
            "title": "Cambio de ERP",
            "account": account.pk,
            "contact": contact.pk,
            "stage": stage("En análisis").pk,
            "owner": rep.pk,
            "amount": "12500.50",
            "expected_close_date": "2026-12-15",
            "probability": "",
            "next_step": "Demo",
        },
    )

    deal = Opportunity.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("opportunity-detail", args=[deal.pk])
    assert (deal.title, deal.account, deal.contact, deal.owner) == (
        "Cambio de ERP",
        account,
        contact,
        rep,
    )
    assert deal.amount == Decimal("12500.50")
    assert deal.expected_close_date == date(2026, 12, 15)
    assert (deal.probability, deal.probability_overridden) == (10, False)
    assert list(deal.stage_changes.values_list("to_stage__name", flat=True)) == ["En análisis"]


def test_create_for_a_foreign_account_answers_404(rep_client, other_rep):
    account = AccountFactory(owner=other_rep)
    response = rep_client.get(reverse("opportunity-create") + f"?account={account.pk}")
    assert response.status_code == 404


def test_create_with_a_foreign_account_in_the_form_is_refused(rep_client, rep, other_rep):
    account = AccountFactory(owner=other_rep)
    response = rep_client.post(
        reverse("opportunity-create"),
        {"title": "X", "account": account.pk, "stage": stage("En análisis").pk, "owner": rep.pk},
    )
    assert response.status_code == 200
    assert "account" in response.context["form"].errors
    assert Opportunity.objects.count() == 0


def test_detail_shows_stages_history_quotes_and_timeline(rep_client, deal):
    response = rep_client.get(reverse("opportunity-detail", args=[deal.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert [s.name for s in response.context["stages"]] == [
        "En análisis",
        "Oferta presentada",
        "En negociación",
        "Ganada",
        "Perdida",
        "Cancelada",
    ]
    assert [stay.stage.name for stay in response.context["history"]] == ["En análisis"]
    assert f"/quotes/new/?opportunity={deal.pk}" in html
    assert "100,00 €" in html  # weighted: 1.000,00 € × 10 %
    assert "1.000,00 €" in html


def test_update_saves_and_records_changes(rep_client, rep, deal):
    response = rep_client.post(
        reverse("opportunity-update", args=[deal.pk]),
        {
            "title": "Renovación flota 2027",
            "owner": rep.pk,
            "amount": "2000",
            "probability": "35",
            "version": deal.version,
        },
    )

    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.title == "Renovación flota 2027"
    assert deal.amount == Decimal("2000")
    assert (deal.probability, deal.probability_overridden) == (35, True)
    assert deal.version == 2
    event = deal.events.get(kind="updated")
    assert event.changes["title"] == ["Renovación flota", "Renovación flota 2027"]


def test_second_save_of_the_same_version_gets_the_conflict_page_and_changes_nothing(
    rep_client, rep, deal
):
    read_version = deal.version
    opportunity_update(
        actor=rep, opportunity=deal, fields={"amount": Decimal(1500)}, expected_version=read_version
    )
    before = snapshot(deal)

    response = rep_client.post(
        reverse("opportunity-update", args=[deal.pk]),
        {"title": "Mi título", "owner": rep.pk, "amount": "900", "version": read_version},
    )

    html = response.content.decode()
    assert response.status_code == 409
    assert "Someone else saved this opportunity while you were editing it" in html
    assert snapshot(deal) == before
    # The labels are lazy; the request ended by leaving no language active.
    with translation.override("en"):
        rows = {str(label): (t, m) for label, t, m in response.context["conflict"]}
    assert rows["Title"] == ("Renovación flota", "Mi título")
    assert rows["Amount"] == ("1500.00", "900")
    # The form holds the stored values at the stored version; the typed ones are kept apart.
    form = response.context["form"]
    assert form.initial["title"] == "Renovación flota"
    assert form.initial["version"] == 2
    assert ("version", "2") in response.context["mine"]
    assert ("title", "Mi título") in response.context["mine"]


def test_keeping_my_values_after_a_conflict_saves_them(rep_client, rep, deal):
    opportunity_update(actor=rep, opportunity=deal, fields={"amount": Decimal(1500)})
    response = rep_client.post(
        reverse("opportunity-update", args=[deal.pk]),
        {"title": "Mi título", "owner": rep.pk, "amount": "900", "version": 1},
    )
    mine = dict(response.context["mine"])

    response = rep_client.post(reverse("opportunity-update", args=[deal.pk]), mine)

    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.title, deal.amount, deal.version) == ("Mi título", Decimal("900"), 3)


# -- moves --


def test_move_from_the_board_answers_with_the_card_and_column_figures(rep_client, deal):
    target = stage("En negociación")

    response = rep_client.post(
        reverse("opportunity-move", args=[deal.pk]),
        {"stage": target.pk, "version": deal.version},
        **JSON,
    )

    data = response.json()
    assert response.status_code == 200
    assert (data["stage"], data["version"]) == (target.pk, 2)
    assert f'id="card-{deal.pk}"' in data["card"]
    assert "700,00 €" in data["columns"][str(target.pk)]  # weighted 1.000 × 70 %
    assert (
        '<span class="badge rounded-pill text-bg-secondary board-count"'
        in (data["columns"][str(target.pk)])
    )
    deal.refresh_from_db()
    assert (deal.stage, deal.probability) == (target, 70)
    assert list(deal.stage_changes.values_list("from_stage__name", "to_stage__name")) == [
        (None, "En análisis"),
        ("En análisis", "En negociación"),
    ]


def test_move_to_a_lost_stage_asks_for_a_reason_then_saves_it(rep_client, deal):
    lost = stage("Perdida")
    before = snapshot(deal)

    response = rep_client.post(
        reverse("opportunity-move", args=[deal.pk]), {"stage": lost.pk, "version": 1}, **JSON
    )
    assert response.status_code == 422
    assert response.json()["need_reason"] is True
    assert snapshot(deal) == before

    reason = LostReason.objects.get(name="Precio")
    response = rep_client.post(
        reverse("opportunity-move", args=[deal.pk]),
        {"stage": lost.pk, "version": 1, "lost_reason": reason.pk, "lost_note": "Caro"},
        **JSON,
    )
    assert response.status_code == 200
    deal.refresh_from_db()
    assert (deal.stage, deal.lost_reason, deal.lost_note) == (lost, reason, "Caro")
    assert deal.closed_at is not None


def test_move_without_reason_from_the_detail_page_says_why(rep_client, deal):
    response = rep_client.post(
        reverse("opportunity-move", args=[deal.pk]), {"stage": stage("Cancelada").pk}, follow=True
    )
    assert "Say why the deal was lost or cancelled." in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage.name == "En análisis"


def test_winning_makes_the_account_a_customer(rep_client, deal, account):
    response = rep_client.post(
        reverse("opportunity-move", args=[deal.pk]), {"stage": stage("Ganada").pk, "version": 1}
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.lifecycle == Lifecycle.CUSTOMER
    deal.refresh_from_db()
    assert (deal.stage.name, deal.probability) == ("Ganada", 100)


def test_stale_move_is_a_conflict_and_changes_nothing(rep_client, rep, deal):
    opportunity_update(actor=rep, opportunity=deal, fields={"title": "Otro"})
    before = snapshot(deal)

    response = rep_client.post(
        reverse("opportunity-move", args=[deal.pk]),
        {"stage": stage("Ganada").pk, "version": 1},
        **JSON,
    )

    assert response.status_code == 409
    data = response.json()
    assert data["stage"] == stage("En análisis").pk
    assert data["version"] == 2
    assert "Someone else changed this opportunity" in data["error"]
    assert snapshot(deal) == before


def test_move_to_a_stage_of_another_pipeline_is_refused(rep_client, deal):
    other = Pipeline.objects.create(name="Otro")
    foreign_stage = Stage.objects.create(pipeline=other, name="X", kind="open")
    before = snapshot(deal)

    response = rep_client.post(
        reverse("opportunity-move", args=[deal.pk]), {"stage": foreign_stage.pk}, **JSON
    )

    assert response.status_code == 400
    assert snapshot(deal) == before


# -- notes and delete --


def test_note_is_added_to_the_timeline_by_htmx(rep_client, deal):
    response = rep_client.post(
        reverse("opportunity-note", args=[deal.pk]),
        {"body": "Llamar el lunes"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Llamar el lunes" in response.content.decode()
    assert deal.events.filter(kind="note", body="Llamar el lunes").count() == 1


def test_delete_by_its_owner(rep_client, deal):
    assert rep_client.get(reverse("opportunity-delete", args=[deal.pk])).status_code == 200
    response = rep_client.post(reverse("opportunity-delete", args=[deal.pk]))
    assert response.status_code == 302
    assert not Opportunity.objects.filter(pk=deal.pk).exists()


def test_delete_is_denied_to_someone_who_only_sees_it(client, rep, deal):
    # A deal on an account the other user owns, owned by rep: the account owner sees it.
    account_owner = UserFactory()
    deal.account.owner = account_owner
    deal.account.save()
    client.force_login(account_owner)

    response = client.post(reverse("opportunity-delete", args=[deal.pk]))

    assert response.status_code == 403
    assert Opportunity.objects.filter(pk=deal.pk).exists()


# -- board --


def make_deals(owner, stage_name: str, amounts: list, **fields) -> list[Opportunity]:
    target = stage(stage_name)
    deals = []
    for amount in amounts:
        deal = OpportunityFactory(
            owner=owner,
            account=AccountFactory(owner=owner),
            stage=target,
            amount=amount,
            probability=target.probability,
            **fields,
        )
        deal.refresh_search_text()
        deal.save(update_fields=["search_text"])
        deals.append(deal)
    return deals


def card_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<article class="board-card" id="card-(\d+)"', html)]


def test_board_counts_amounts_and_weighted_amounts_are_exact(rep_client, rep):
    make_deals(rep, "En análisis", [Decimal("100.05"), Decimal("200.10"), None])
    make_deals(rep, "Oferta presentada", [Decimal("1234.56")])
    OpportunityFactory(
        owner=rep,
        account=AccountFactory(owner=rep),
        stage=stage("En negociación"),
        amount=Decimal("999.99"),
        probability=33,
    )

    response = rep_client.get(reverse("opportunity-board"))

    figures = {c.stage.name: (c.count, c.amount, c.weighted) for c in response.context["columns"]}
    assert figures == {
        "En análisis": (3, Decimal("300.15"), Decimal("30.02")),  # 30.015 rounds half up
        "Oferta presentada": (1, Decimal("1234.56"), Decimal("493.82")),
        "En negociación": (1, Decimal("999.99"), Decimal("330.00")),
        "Ganada": (0, Decimal("0.00"), Decimal("0.00")),
        "Perdida": (0, Decimal("0.00"), Decimal("0.00")),
        "Cancelada": (0, Decimal("0.00"), Decimal("0.00")),
    }
    html = response.content.decode()
    assert "300,15 €" in html
    assert "1.234,56 €" in html


def test_board_filters_apply_to_counts_and_cards(rep_client, rep, manager):
    mine = make_deals(rep, "En análisis", [10], expected_close_date=date(2026, 3, 31))
    make_deals(rep, "En análisis", [20], expected_close_date=date(2026, 4, 1))
    make_deals(manager, "En análisis", [40], expected_close_date=date(2026, 3, 1))
    rep_client.force_login(manager)

    response = rep_client.get(reverse("opportunity-board"), {"owner": rep.pk, "month": "2026-03"})

    first = response.context["columns"][0]
    assert (first.count, first.amount, first.cards) == (1, Decimal("10.00"), mine)


def test_board_with_an_invalid_month_ignores_it_and_says_so(rep_client, rep):
    make_deals(rep, "En análisis", [10])
    response = rep_client.get(reverse("opportunity-board"), {"month": "marzo"})
    assert response.status_code == 200
    assert response.context["columns"][0].count == 1
    assert "Give the month as YYYY-MM." in response.content.decode()


def test_board_columns_page_their_cards_by_amount(rep_client, rep):
    deals = make_deals(rep, "En análisis", [Decimal(n) for n in range(1, 26)])
    by_amount = sorted(deals, key=lambda d: -d.amount)

    response = rep_client.get(reverse("opportunity-board"))
    first = response.context["columns"][0]
    assert first.cards == by_amount[:20]
    assert first.has_more is True

    response = rep_client.get(
        reverse("opportunity-board-column", args=[first.stage.pk]), {"offset": 20}
    )
    html = response.content.decode()
    assert card_ids(html) == [d.pk for d in by_amount[20:]]
    assert "Load more" not in html
    assert "<html" not in html


def test_closed_columns_load_lazily(rep_client, rep):
    won = make_deals(rep, "Ganada", [5])
    response = rep_client.get(reverse("opportunity-board"))
    column = next(c for c in response.context["columns"] if c.stage.name == "Ganada")
    html = response.content.decode()

    assert column.cards is None
    assert reverse("opportunity-board-column", args=[column.stage.pk]) in html
    assert 'hx-trigger="intersect once"' in html
    lazy = rep_client.get(reverse("opportunity-board-column", args=[column.stage.pk]))
    assert card_ids(lazy.content.decode()) == [d.pk for d in won]


def test_board_query_count_does_not_grow_with_deals(rep_client, rep, django_assert_max_num_queries):
    make_deals(rep, "En análisis", [1, 2])
    with django_assert_max_num_queries(20) as few:
        rep_client.get(reverse("opportunity-board"))
    for name in ["En análisis", "Oferta presentada", "En negociación"]:
        make_deals(rep, name, [Decimal(n) for n in range(30)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = rep_client.get(reverse("opportunity-board"))
    assert response.context["columns"][0].count == 32


def test_board_htmx_filter_answers_the_board_fragment(rep_client, rep):
    make_deals(rep, "En análisis", [10])
    response = rep_client.get(reverse("opportunity-board"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="board"')
    assert "<html" not in html


# -- list --


def test_list_filters_sort_and_search(rep_client, rep):
    a = make_deals(rep, "En análisis", [300], title="Tejado nave")[0]
    b = make_deals(rep, "Oferta presentada", [100], title="Ventanas oficina")[0]
    c = make_deals(rep, "Ganada", [200], title="Tejado almacén")[0]

    def titles(**params):
        page = rep_client.get(reverse("opportunity-list"), params).context["page"]
        return [d.title for d in page.object_list]

    assert titles(sort="-amount") == [a.title, c.title, b.title]
    assert titles(status="open", sort="amount") == [b.title, a.title]
    assert titles(q="tejado", sort="title") == [c.title, a.title]
    assert titles(stage=stage("Ganada").pk) == [c.title]


# -- pipelines --


def test_pipeline_pages_are_for_administrators(rep_client):
    for name in ["pipeline-list", "pipeline-create"]:
        assert rep_client.get(reverse(name)).status_code == 403
    before = Pipeline.objects.count()
    assert rep_client.post(reverse("pipeline-create"), {"name": "Mía"}).status_code == 403
    assert Pipeline.objects.count() == before


def test_admin_creates_a_pipeline_with_starter_stages_and_adds_one(admin_client):
    assert admin_client.get(reverse("pipeline-list")).status_code == 200
    response = admin_client.post(
        reverse("pipeline-create"), {"name": "Mantenimiento", "is_active": "on"}
    )
    assert response.status_code == 302
    pipeline = Pipeline.objects.get(name="Mantenimiento")
    assert list(pipeline.stages.values_list("kind", flat=True)) == ["open", "won", "lost"]

    response = admin_client.post(
        reverse("stage-create", args=[pipeline.pk]),
        {"name": "Visita técnica", "probability": 30, "kind": "open", "is_active": "on"},
    )
    assert response.status_code == 302
    added = pipeline.stages.get(name="Visita técnica")
    assert added.position == 4

    admin_client.post(reverse("stage-move", args=[added.pk]), {"direction": "up"})
    admin_client.post(reverse("stage-move", args=[added.pk]), {"direction": "up"})
    names = list(pipeline.stages.order_by("position").values_list("name", flat=True))
    assert names[1] == "Visita técnica"


def test_admin_cannot_delete_a_stage_with_deals(admin_client, deal):
    response = admin_client.post(reverse("stage-delete", args=[deal.stage_id]), follow=True)
    assert "Deals are in this stage" in response.content.decode()
    assert Stage.objects.filter(pk=deal.stage_id).exists()


def test_stage_form_reports_a_missing_kind(admin_client):
    won = stage("Ganada")
    response = admin_client.post(
        reverse("stage-update", args=[won.pk]),
        {"name": "Ganada", "probability": 100, "kind": "open", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "would have no won stage" in response.content.decode()
    won.refresh_from_db()
    assert won.kind == "won"


def test_make_another_pipeline_the_default(admin_client):
    response = admin_client.post(reverse("pipeline-create"), {"name": "B2C", "is_active": "on"})
    pipeline = Pipeline.objects.get(name="B2C")
    response = admin_client.post(
        reverse("pipeline-update", args=[pipeline.pk]),
        {"name": "B2C", "is_active": "on", "make_default": "on"},
    )
    assert response.status_code == 302
    assert list(Pipeline.objects.filter(is_default=True)) == [pipeline]


def test_event_and_stage_change_counts_after_a_board_move(rep_client, deal):
    rep_client.post(
        reverse("opportunity-move", args=[deal.pk]),
        {"stage": stage("Oferta presentada").pk, "version": 1},
        **JSON,
    )
    assert StageChange.objects.filter(opportunity=deal).count() == 2
    assert OpportunityEvent.objects.filter(opportunity=deal, kind="stage").count() == 1


def test_account_search_of_the_create_form_offers_only_visible_accounts(rep_client, rep, other_rep):
    AccountFactory(owner=rep, name="Panadería Ruiz SL")
    AccountFactory(owner=other_rep, name="Panadería Ajena SL")

    response = rep_client.get(
        reverse("opportunity-create"), {"account_q": "panaderia"}, HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert "Panadería Ruiz SL" in html
    assert "Ajena" not in html
    assert "<html" not in html
