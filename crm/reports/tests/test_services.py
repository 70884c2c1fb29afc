"""Writes of the reports: the pipeline snapshot and the sales targets (data set: fixtures.py)."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from crm.reports.models import PipelineSnapshot, Target, TargetMetric
from crm.reports.services import can_plan_for, snapshot_take, targets_save
from crm.reports.tests.fixtures import NOW, TODAY, build_data_set, utc
from crm.users.models import User
from crm.users.tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

D = Decimal
APRIL = dt.date(2026, 4, 1)
MAY = dt.date(2026, 5, 1)
REVENUE, DEALS, ACTIVITIES = (
    TargetMetric.REVENUE_WON,
    TargetMetric.DEALS_WON,
    TargetMetric.ACTIVITIES_DONE,
)


@pytest.fixture
def data(db, english):
    return build_data_set()


def _snapshot(day):
    return {
        (row.owner.username, row.team.name): (
            row.open_deals,
            row.open_amount,
            row.weighted_amount,
            row.overdue_activities,
        )
        for row in PipelineSnapshot.objects.filter(day=day).select_related("owner", "team")
    }


def _targets():
    return {
        (t.user.username if t.user else t.team.name, t.month, t.metric): t.value
        for t in Target.objects.select_related("user", "team")
    }


# -- snapshot_take --


def test_snapshot_take_stores_the_open_pipeline_and_overdue_work_per_owner(data):
    # when the snapshot is taken on 15 April 2026 at 10:00
    with time_machine.travel(NOW, tick=False):
        written = snapshot_take(day=TODAY)

    # then one row per owner and team: Ana D10 1,000 at 10 % and A6 (due 10 April) overdue;
    # Bruno D11 2,000 at 40 % + D13 3,000 at 70 % (A8 is due on the 20th); Marta D12 500 at 70 %
    assert written == 3
    assert _snapshot(TODAY) == {
        ("ana", "Norte"): (1, 1000, 100, 1),
        ("bruno", "Sur"): (2, 5000, 2900, 0),  # 800 + 2,100
        ("marta", "Norte"): (1, 500, 350, 0),
    }


def test_snapshot_take_replaces_the_days_rows_only(data):
    # given today's snapshot
    with time_machine.travel(NOW, tick=False):
        snapshot_take(day=TODAY)
    # and then D10 grows to 1,500
    type(data.deals["D10"]).objects.filter(pk=data.deals["D10"].pk).update(amount=D(1500))

    # when it is taken again
    with time_machine.travel(NOW, tick=False):
        written = snapshot_take(day=TODAY)

    # then today's rows are rewritten, the stored days are left alone
    assert written == 3
    assert _snapshot(TODAY)["ana", "Norte"] == (1, 1500, 150, 1)
    assert PipelineSnapshot.objects.filter(day=TODAY).count() == 3
    assert PipelineSnapshot.objects.filter(day=dt.date(2026, 3, 15)).count() == 2
    assert PipelineSnapshot.objects.filter(day=dt.date(2025, 4, 15)).count() == 1


def test_snapshot_take_counts_overdue_work_at_the_given_moment(data):
    # when taken as of 9 April, A6 (due on the 10th) was not overdue yet
    snapshot_take(day=dt.date(2026, 4, 9), at=utc(2026, 4, 9, 21, 59))

    assert _snapshot(dt.date(2026, 4, 9))["ana", "Norte"] == (1, 1000, 100, 0)


# -- targets_save --


def test_an_administrator_sets_a_reps_targets(data):
    # when
    saved = targets_save(
        actor=data.admin,
        user=data.ana,
        values={
            (APRIL, REVENUE): D("2000.005"),
            (APRIL, DEALS): D(2),
            (MAY, ACTIVITIES): D("10.0"),
        },
    )

    # then money to the cent (half up), counts as given
    assert saved == 3
    assert _targets() == {
        ("ana", APRIL, "revenue_won"): D("2000.01"),
        ("ana", APRIL, "deals_won"): D(2),
        ("ana", MAY, "activities_done"): D(10),
    }
    assert set(Target.objects.values_list("updated_by__username", flat=True)) == {"alicia"}


def test_saving_again_replaces_values_and_an_empty_value_removes_the_target(data):
    # given
    targets_save(
        actor=data.admin,
        team=data.norte,
        values={(APRIL, REVENUE): D(3000), (APRIL, DEALS): D(3)},
    )

    # when
    saved = targets_save(
        actor=data.admin,
        team=data.norte,
        values={(APRIL, REVENUE): D(3500), (APRIL, DEALS): None},
    )

    # then
    assert saved == 1
    assert _targets() == {("Norte", APRIL, "revenue_won"): D(3500)}


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({(APRIL, REVENUE): D(-1)}, ["A target cannot be negative."]),
        ({(APRIL, DEALS): D("1.5")}, ["Deals and activities are whole numbers."]),
        ({(APRIL, ACTIVITIES): D("0.5")}, ["Deals and activities are whole numbers."]),
        (
            {(APRIL, DEALS): D("-2.5")},
            ["A target cannot be negative.", "Deals and activities are whole numbers."],
        ),
        ({(dt.date(2026, 4, 15), REVENUE): D(100)}, ["A target is set for a whole month."]),
        ({(APRIL, "margin"): D(100)}, ["Unknown figure: margin."]),
    ],
)
def test_invalid_targets_are_refused(data, values, errors):
    # given a stored target
    targets_save(actor=data.admin, user=data.ana, values={(MAY, REVENUE): D(1000)})

    # when
    with pytest.raises(ValidationError) as refused:
        targets_save(actor=data.admin, user=data.ana, values=values)

    # then nothing changed
    assert sorted(refused.value.messages) == errors
    assert _targets() == {("ana", MAY, "revenue_won"): D(1000)}


def test_targets_are_saved_all_or_nothing(data):
    # given
    targets_save(actor=data.admin, user=data.ana, values={(MAY, REVENUE): D(1000)})

    # when one value of three is wrong
    with pytest.raises(ValidationError):
        targets_save(
            actor=data.admin,
            user=data.ana,
            values={
                (APRIL, REVENUE): D(2000),
                (MAY, REVENUE): D(1500),
                (MAY, DEALS): D("0.5"),
            },
        )

    # then none is saved
    assert _targets() == {("ana", MAY, "revenue_won"): D(1000)}


def test_a_target_the_database_refuses_rolls_back_the_others(data):
    # when the second value is too big for its column (14 digits), after the first was saved
    with pytest.raises(ValidationError):
        targets_save(
            actor=data.admin,
            user=data.ana,
            values={(APRIL, REVENUE): D(2000), (MAY, REVENUE): D("1000000000000")},
        )

    # then the first is not kept either
    assert _targets() == {}


@pytest.mark.parametrize("subject", [{}, {"both": True}])
def test_targets_are_for_a_rep_or_a_team(data, subject):
    kwargs = {"user": data.ana, "team": data.norte} if subject else {}

    with pytest.raises(ValidationError, match="Choose a sales rep or a team."):
        targets_save(actor=data.admin, values={(APRIL, REVENUE): D(1)}, **kwargs)

    assert _targets() == {}


# Who may set whose targets: administrators anyone's; a manager those of the teams they
# belong to or manage and of their members; a rep nobody's, not even their own.
PERMISSIONS = [
    ("admin", "ana", True),
    ("admin", "bruno", True),
    ("admin", "norte", True),
    ("admin", "sur", True),
    ("marta", "norte", True),
    ("marta", "ana", True),
    ("marta", "marta", True),
    ("marta", "este", True),  # a team she manages without belonging to it
    ("marta", "sur", False),
    ("marta", "bruno", False),
    ("ana", "ana", False),
    ("ana", "norte", False),
    ("bruno", "sur", False),
    ("bruno", "ana", False),
]


@pytest.mark.parametrize(("actor", "subject", "allowed"), PERMISSIONS)
def test_who_may_set_targets(data, actor, subject, allowed):
    # given Marta also manages team Este
    data.este = TeamFactory(name="Este", manager=data.marta)
    actor = User.objects.get(username={"admin": "alicia"}.get(actor, actor))
    target = getattr(data, subject)
    kwargs = {"user": target} if isinstance(target, User) else {"team": target}

    # then
    assert can_plan_for(actor, **kwargs) is allowed
    if allowed:
        assert targets_save(actor=actor, values={(APRIL, REVENUE): D(500)}, **kwargs) == 1
        assert len(_targets()) == 1
    else:
        with pytest.raises(PermissionDenied):
            targets_save(actor=actor, values={(APRIL, REVENUE): D(500)}, **kwargs)
        assert _targets() == {}
