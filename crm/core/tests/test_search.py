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


@pytest.mark.parametrize("dense_after", [0, 1000])
def test_a_search_pages_the_same_whichever_way_it_fetches(client, rep, monkeypatch, dense_after):
    monkeypatch.setattr("crm.core.search.DENSE_MATCHES", dense_after)
    for name in ["Panadería Zeta", "Pan y Vino", "Bar Pepe", "Panificadora Alba"]:
        AccountFactory(owner=rep, name=name)
    client.force_login(rep)

    response = client.get("/accounts/", {"q": "pan", "sort": "name"})

    names = [account.name for account in response.context["page"].object_list]
    assert names == ["Pan y Vino", "Panadería Zeta", "Panificadora Alba"]


def test_a_search_with_many_matches_says_more_than_instead_of_counting_them_all(
    client, rep, monkeypatch
):
    monkeypatch.setattr("crm.core.search.DENSE_MATCHES", 2)
    for name in ["Pan 1", "Pan 2", "Pan 3", "Pan 4"]:
        AccountFactory(owner=rep, name=name)
    client.force_login(rep)

    response = client.get("/accounts/", {"q": "pan"})

    paginator = response.context["page"].paginator
    assert (paginator.count, paginator.count_is_capped) == (3, True)
    assert len(response.context["page"]) == 4
    assert "1–4 de más de 2 resultados" in response.content.decode()
