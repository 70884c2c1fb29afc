import pytest
from django.http import Http404

from crm.users.models import User
from crm.users.selectors import (
    seats_in_use,
    team_get,
    team_list,
    user_get_for_admin,
    user_list_for_admin,
)
from crm.users.tests.factories import TeamFactory, UserFactory


@pytest.fixture
def gone(team):
    return UserFactory(username="gone", team=team, is_active=False)


def _usernames(queryset) -> list[str]:
    return sorted(queryset.values_list("username", flat=True))


def test_user_list_for_admin_shows_every_user_to_an_admin(admin, manager, rep, other_rep, gone):
    assert _usernames(user_list_for_admin(actor=admin)) == [
        "admin",
        "gone",
        "manager",
        "other",
        "rep",
    ]
    assert _usernames(user_list_for_admin(actor=admin, include_inactive=False)) == [
        "admin",
        "manager",
        "other",
        "rep",
    ]


@pytest.mark.parametrize("who", ["manager", "rep"])
def test_user_list_for_admin_shows_others_only_themselves(admin, manager, rep, gone, who):
    actor = {"manager": manager, "rep": rep}[who]

    assert _usernames(user_list_for_admin(actor=actor)) == [who]


def test_user_list_for_admin_shows_an_inactive_admin_nothing(admin, rep):
    admin.is_active = False

    assert _usernames(user_list_for_admin(actor=admin)) == []


def test_user_list_for_admin_query_count_does_not_grow_with_rows(
    admin, rep, other_rep, django_assert_num_queries
):
    with django_assert_num_queries(1):
        rows = [(str(u), str(u.team)) for u in user_list_for_admin(actor=admin)]

    assert len(rows) == 3


def test_user_get_for_admin_returns_any_user_to_an_admin(admin, rep, gone):
    assert user_get_for_admin(actor=admin, user_id=rep.pk) == rep
    assert user_get_for_admin(actor=admin, user_id=gone.pk) == gone


def test_user_get_for_admin_returns_oneself_to_anybody(rep):
    assert user_get_for_admin(actor=rep, user_id=rep.pk) == rep


@pytest.mark.parametrize("who", ["manager", "rep"])
def test_user_get_for_admin_answers_404_for_another_user(admin, manager, rep, who):
    actor = {"manager": manager, "rep": rep}[who]

    with pytest.raises(Http404):
        user_get_for_admin(actor=actor, user_id=admin.pk)


def test_user_get_for_admin_answers_404_for_an_unknown_id(admin):
    with pytest.raises(Http404):
        user_get_for_admin(actor=admin, user_id=admin.pk + 1000)


def test_team_list_counts_active_members_only(team, manager, rep, gone, other_rep):
    empty = TeamFactory(name="Vacío")

    teams = {t.name: (t.member_count, t.manager) for t in team_list()}

    assert teams == {team.name: (2, manager), "Otro equipo": (1, None), empty.name: (0, None)}


def test_team_get_answers_404_for_an_unknown_id(team):
    assert team_get(team_id=team.pk) == team
    with pytest.raises(Http404):
        team_get(team_id=team.pk + 1000)


def test_seats_in_use_counts_active_users(admin, rep, gone):
    assert seats_in_use() == 2
    assert User.objects.count() == 3
