import pytest
from rest_framework.test import APIClient

from crm.users.tests.factories import AdminFactory, ManagerFactory, TeamFactory, UserFactory


@pytest.fixture
def team(db):
    return TeamFactory()


@pytest.fixture
def admin(db):
    return AdminFactory(username="admin")


@pytest.fixture
def manager(team):
    user = ManagerFactory(username="manager", team=team)
    team.manager = user
    team.save()
    return user


@pytest.fixture
def rep(team):
    return UserFactory(username="rep", team=team)


@pytest.fixture
def other_rep(db):
    """A sales rep of another team: none of the fixtures' records are theirs."""
    return UserFactory(username="other", team=TeamFactory(name="Otro equipo"))


@pytest.fixture
def api_client():
    return APIClient()
