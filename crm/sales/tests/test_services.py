"""Opportunity services."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from crm.core.models import Channel
from crm.customers.tests.factories import AccountFactory, ContactFactory
from crm.sales import services
from crm.sales.models import LostReason, Opportunity, Stage


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def test_opportunity_create_takes_the_accounts_owner_and_their_team(rep, manager):
    # given
    web = Channel.objects.get(name="Web")
    account = AccountFactory(owner=rep)
    contact = ContactFactory(account=account)
    # when
    opportunity = services.opportunity_create(
        actor=manager,
        fields={
            "title": "Renovación",
            "account": account,
            "contact": contact,
            "channel": web,
            "amount": Decimal("1234.50"),
            "expected_close_date": date(2026, 12, 31),
            "products_of_interest": "Alarmas",
        },
    )
    # then
    opportunity.refresh_from_db()
    assert (opportunity.title, opportunity.account, opportunity.contact) == (
        "Renovación",
        account,
        contact,
    )
    assert (opportunity.owner, opportunity.team, opportunity.created_by) == (
        rep,
        rep.team,
        manager,
    )
    assert (opportunity.amount, opportunity.expected_close_date, opportunity.channel) == (
        Decimal("1234.50"),
        date(2026, 12, 31),
        web,
    )
    assert opportunity.products_of_interest == "Alarmas"


def test_opportunity_create_with_an_owner_takes_the_owners_team(admin, rep, other_rep):
    # given
    account = AccountFactory(owner=rep)
    # when
    opportunity = services.opportunity_create(
        actor=admin, fields={"title": "X", "account": account, "owner": other_rep}
    )
    # then
    assert (opportunity.owner, opportunity.team) == (other_rep, other_rep.team)


def test_a_sales_rep_cannot_give_a_new_deal_to_someone_else(rep, other_rep):
    account = AccountFactory(owner=rep)

    with pytest.raises(ValidationError):
        services.opportunity_create(
            actor=rep, fields={"title": "X", "account": account, "owner": other_rep}
        )

    assert not Opportunity.objects.exists()


def test_opportunity_create_without_amount_leaves_it_empty(rep):
    # when
    opportunity = services.opportunity_create(
        actor=rep, fields={"title": "X", "account": AccountFactory(owner=rep)}
    )
    # then
    assert (opportunity.amount, opportunity.expected_close_date) == (None, None)


def test_opportunity_create_refuses_a_negative_amount(rep):
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.opportunity_create(
            actor=rep,
            fields={"title": "X", "account": AccountFactory(owner=rep), "amount": Decimal("-1")},
        )
    # then
    assert exc_info.value.message_dict == {
        "amount": ["Ensure this value is greater than or equal to 0."]
    }
    assert Opportunity.objects.count() == 0


def test_opportunity_create_needs_a_title(rep):
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.opportunity_create(
            actor=rep, fields={"title": "", "account": AccountFactory(owner=rep)}
        )
    # then
    assert exc_info.value.message_dict == {"title": ["This field cannot be blank."]}
    assert Opportunity.objects.count() == 0


def test_opportunity_create_refuses_unknown_fields(rep):
    # when / then
    with pytest.raises(ValueError, match="unknown fields: \\['stage'\\]"):
        services.opportunity_create(
            actor=rep, fields={"title": "X", "account": AccountFactory(owner=rep), "stage": 1}
        )
    assert Opportunity.objects.count() == 0


def _stage(name):
    return Stage.objects.get(pipeline__is_default=True, name=name)


def test_a_deal_remembers_the_furthest_open_stage_it_reached(rep):
    # given a new deal, in the first stage
    deal = services.opportunity_create(
        actor=rep, fields={"account": AccountFactory(owner=rep), "title": "Flota"}
    )
    assert deal.furthest_stage == _stage("En análisis")

    # when it moves forward, back, and is then lost
    for name in ("En negociación", "Oferta presentada"):
        deal = services.opportunity_move(actor=rep, opportunity=deal, stage=_stage(name))
    deal = services.opportunity_move(
        actor=rep,
        opportunity=deal,
        stage=_stage("Perdida"),
        lost_reason=LostReason.objects.first(),
    )

    # then the furthest it got is still the negotiation, and each stay has its end
    deal.refresh_from_db()
    assert deal.furthest_stage == _stage("En negociación")
    stays = list(deal.stage_changes.order_by("changed_at", "id"))
    assert [s.left_at for s in stays[:-1]] == [s.changed_at for s in stays[1:]]
    assert stays[-1].left_at is None


def test_a_deal_created_already_won_is_closed_now(rep):
    # when a sale is entered directly in the won stage
    deal = services.opportunity_create(
        actor=rep,
        fields={"account": AccountFactory(owner=rep), "title": "Venta de mostrador"},
        stage=_stage("Ganada"),
    )

    # then it counts as closed (reports place it by its closing moment) and reached no stage
    assert deal.closed_at is not None
    assert deal.furthest_stage is None
