from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.customers.tests.factories import AccountFactory
from crm.sales.models import Pipeline, StageChange
from crm.sales.selectors import (
    board_cards,
    board_columns,
    opportunity_get_for_user,
    opportunity_list_for_user,
    opportunity_stage_history,
    opportunity_timeline,
    pipeline_list,
)
from crm.sales.services import opportunity_create, opportunity_move, opportunity_update
from crm.sales.tests.factories import OpportunityFactory
from crm.users.tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def pipeline():
    return Pipeline.objects.get(is_default=True)


def test_visibility_of_the_list_and_one_deal(rep, manager, admin, other_rep):
    mine = OpportunityFactory(owner=rep, account=AccountFactory(owner=rep))
    theirs = OpportunityFactory(owner=other_rep, account=AccountFactory(owner=other_rep))
    teammate = UserFactory(team=rep.team)
    team_deal = OpportunityFactory(owner=teammate, account=AccountFactory(owner=teammate))

    assert set(opportunity_list_for_user(user=rep)) == {mine}
    assert set(opportunity_list_for_user(user=manager)) == {mine, team_deal}
    assert set(opportunity_list_for_user(user=admin)) == {mine, theirs, team_deal}
    assert opportunity_get_for_user(user=rep, opportunity_id=mine.pk) == mine
    from django.http import Http404

    with pytest.raises(Http404):
        opportunity_get_for_user(user=rep, opportunity_id=theirs.pk)


def test_stage_history_with_time_in_each_stage(rep, pipeline):
    deal = opportunity_create(
        actor=rep, fields={"account": AccountFactory(owner=rep), "title": "A"}
    )
    second = pipeline.stages.get(name="Oferta presentada")
    opportunity_move(actor=rep, opportunity=deal, stage=second)
    start = timezone.now() - timedelta(days=10)
    changes = list(StageChange.objects.filter(opportunity=deal).order_by("id"))
    StageChange.objects.filter(pk=changes[0].pk).update(changed_at=start)
    StageChange.objects.filter(pk=changes[1].pk).update(changed_at=start + timedelta(days=3))

    history = opportunity_stage_history(opportunity=deal)

    assert [(s.stage.name, s.days) for s in history] == [
        ("En análisis", 3),
        ("Oferta presentada", 7),
    ]
    assert history[0].left_at == start + timedelta(days=3)
    assert history[1].left_at is None


def test_timeline_labels_the_changed_fields(rep):
    deal = opportunity_create(
        actor=rep, fields={"account": AccountFactory(owner=rep), "title": "A"}
    )
    opportunity_update(actor=rep, opportunity=deal, fields={"amount": Decimal("10.00")})

    events = opportunity_timeline(opportunity=deal)

    assert [e.kind for e in events] == ["updated", "created"]
    assert events[0].change_rows == [("amount", "", "10.00")]


def test_board_columns_order_open_then_closed_with_totals(rep, pipeline):
    account = AccountFactory(owner=rep)
    stages = {s.name: s for s in pipeline.stages.all()}
    OpportunityFactory(owner=rep, account=account, amount=Decimal("50.00"))
    OpportunityFactory(
        owner=rep, account=account, stage=stages["Ganada"], amount=Decimal("80.00"), probability=100
    )
    queryset = opportunity_list_for_user(user=rep)

    columns = board_columns(queryset=queryset, pipeline=pipeline)

    assert [c.stage.name for c in columns] == [
        "En análisis",
        "Oferta presentada",
        "En negociación",
        "Ganada",
        "Perdida",
        "Cancelada",
    ]
    assert [(c.count, c.amount, c.weighted) for c in columns[:4]] == [
        (1, Decimal("50.00"), Decimal("5.00")),
        (0, Decimal("0.00"), Decimal("0.00")),
        (0, Decimal("0.00"), Decimal("0.00")),
        (1, Decimal("80.00"), Decimal("80.00")),
    ]
    assert [c.eager for c in columns] == [True, True, True, False, False, False]
    assert columns[3].cards is None


def test_board_cards_put_deals_without_amount_last(rep, pipeline):
    account = AccountFactory(owner=rep)
    none = OpportunityFactory(owner=rep, account=account, amount=None)
    small = OpportunityFactory(owner=rep, account=account, amount=Decimal(1))
    big = OpportunityFactory(owner=rep, account=account, amount=Decimal(9))
    first = pipeline.stages.get(name="En análisis")

    cards, more = board_cards(queryset=opportunity_list_for_user(user=rep), stage=first, limit=2)
    assert (cards, more) == ([big, small], True)
    cards, more = board_cards(
        queryset=opportunity_list_for_user(user=rep), stage=first, offset=2, limit=2
    )
    assert (cards, more) == ([none], False)


def test_pipeline_list_counts_deals_per_stage(rep, pipeline):
    OpportunityFactory(owner=rep, account=AccountFactory(owner=rep))
    pipelines = pipeline_list()
    assert [(s.name, s.deal_count) for s in pipelines[0].stage_list][:2] == [
        ("En análisis", 1),
        ("Oferta presentada", 0),
    ]


def test_account_page_lists_the_deals_the_user_sees(client, rep, other_rep):
    from crm.customers.tests.factories import AccountFactory
    from crm.sales.tests.factories import OpportunityFactory

    account = AccountFactory(owner=rep)
    mine = OpportunityFactory(account=account, title="Renovación anual")
    OpportunityFactory(account=AccountFactory(owner=other_rep), title="Ajena")
    client.force_login(rep)

    page = client.get(f"/accounts/{account.pk}/").content.decode()

    assert mine.title in page
    assert "Ajena" not in page
    assert f"/opportunities/new/?account={account.pk}" in page or "?account=" in page
