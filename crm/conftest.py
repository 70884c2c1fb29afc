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


@pytest.fixture
def english(monkeypatch):
    """Users made by the test speak English, and so does code run outside a request: for
    tests that assert the English source text of messages (the catalogue is tested apart)."""
    from django.utils import translation

    from crm.users.models import User

    field = User._meta.get_field("language")
    monkeypatch.setattr(field, "default", "en")
    field.__dict__.pop("_get_default", None)  # a cached property of the default
    try:
        with translation.override("en"):
            yield
    finally:
        monkeypatch.undo()
        field.__dict__.pop("_get_default", None)
