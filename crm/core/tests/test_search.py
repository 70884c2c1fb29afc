import pytest

from crm.core.search import search_words
from crm.customers.models import Account
from crm.customers.selectors import search_filter
from crm.customers.services import account_update
from crm.customers.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def found(term: str) -> list[str]:
    return sorted(Account.objects.filter(search_filter(term)).values_list("name", flat=True))


def test_the_index_follows_creation_change_and_deletion(rep):
    account = AccountFactory(owner=rep, name="Cerámicas Alcora")
    assert found("ceramicas") == ["Cerámicas Alcora"]

    account_update(actor=rep, account=account, fields={"name": "Azulejos Alcora"})
    assert found("ceramicas") == []
    assert found("azulejos") == ["Azulejos Alcora"]

    account.delete()
    assert found("alcora") == []


@pytest.mark.parametrize("term", ["*", "?", "[a]", "%", "_", "'", '"', "a*b", "ñ"])
def test_wildcards_and_quotes_are_searched_literally(rep, term):
    AccountFactory(owner=rep, name="Bar Pepe")

    assert found(term) == []


def test_short_words_still_search(rep):
    AccountFactory(owner=rep, name="Bar Pepe")

    assert found("pe") == ["Bar Pepe"]
    assert found("b") == ["Bar Pepe"]


def test_search_words_are_folded_and_capped():
    assert search_words("  Muñoz   GARCÍA ") == ["munoz", "garcia"]
    assert len(search_words("a " * 50)) == 8
