import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.test import RequestFactory

from crm.core.models import Sector
from crm.customers.filters import AccountFilter, ContactFilter
from crm.customers.models import Account, Contact, Lifecycle, Tag
from crm.customers.selectors import (
    account_contacts,
    account_get_for_user,
    account_list_for_user,
    contact_get_for_user,
    contact_list_for_user,
    find_duplicates,
    search_filter,
)
from crm.customers.tests.factories import AccountFactory, ContactFactory
from crm.users.models import Role, User
from crm.users.tests.factories import AdminFactory, ManagerFactory, UserFactory

ALL = {
    "Cuenta rep",
    "Cuenta manager",
    "Cuenta compañero sin equipo",
    "Cuenta de baja",
    "Cuenta otro",
    "Cuenta otro en equipo",
    "Compartida con rep",
    "Compartida con manager",
    "Cuenta admin",
}
# Who sees which account: the rule of DESIGN.md, written out for every kind of user.
EXPECTED = {
    "admin": ALL,
    "sales_superuser": ALL,
    "manager": {
        "Cuenta rep",
        "Cuenta manager",
        "Cuenta compañero sin equipo",  # owner in the team
        "Cuenta de baja",  # owner in the team, even if deactivated
        "Cuenta otro en equipo",  # the account's team is the manager's
        "Compartida con manager",
    },
    "leader": {  # leads the other team without belonging to it
        "Cuenta otro",
        "Cuenta otro en equipo",
        "Compartida con rep",
        "Compartida con manager",
    },
    "rep": {"Cuenta rep", "Compartida con rep"},
    "teammate": {"Cuenta compañero sin equipo"},
    "other_rep": {
        "Cuenta otro",
        "Cuenta otro en equipo",
        "Compartida con rep",
        "Compartida con manager",
    },
    "gone": set(),
    "gone_admin": set(),
    "anonymous": set(),
    "nobody": set(),
}


@pytest.fixture
def world(admin, manager, rep, other_rep, team):
    """Users of every kind, accounts of every case, and one contact per account."""
    teammate = UserFactory(username="teammate", team=team)
    gone = UserFactory(username="gone", team=team, is_active=False)
    users = {
        "admin": admin,
        "sales_superuser": UserFactory(username="root", role=Role.SALES, is_superuser=True),
        "manager": manager,
        "leader": ManagerFactory(username="leader", team=None),
        "rep": rep,
        "teammate": teammate,
        "other_rep": other_rep,
        "gone": gone,
        "gone_admin": AdminFactory(username="gone_admin", is_active=False),
        "anonymous": AnonymousUser(),
        "nobody": None,
    }
    other_team = other_rep.team
    other_team.manager = users["leader"]
    other_team.save()
    AccountFactory(name="Cuenta rep", owner=rep)
    AccountFactory(name="Cuenta manager", owner=manager)
    AccountFactory(name="Cuenta compañero sin equipo", owner=teammate, team=None)
    AccountFactory(name="Cuenta de baja", owner=gone)
    AccountFactory(name="Cuenta otro", owner=other_rep)
    AccountFactory(name="Cuenta otro en equipo", owner=other_rep, team=team)
    AccountFactory(name="Compartida con rep", owner=other_rep).shared_with.add(rep)
    AccountFactory(name="Compartida con manager", owner=other_rep).shared_with.add(manager)
    AccountFactory(name="Cuenta admin", owner=admin, team=None)
    for account in Account.objects.all():
        ContactFactory(account=account, first_name=account.name)
    return users


def _names(queryset) -> set[str]:
    return set(queryset.values_list("name", flat=True))


@pytest.mark.parametrize("who", EXPECTED)
def test_account_visible_to_follows_the_role(world, who):
    assert _names(Account.objects.visible_to(world[who])) == EXPECTED[who]


@pytest.mark.parametrize("who", EXPECTED)
def test_contact_visible_to_follows_its_account(world, who):
    contacts = Contact.objects.visible_to(world[who])

    assert set(contacts.values_list("first_name", flat=True)) == EXPECTED[who]


@pytest.mark.parametrize("who", EXPECTED)
def test_list_selectors_apply_the_visibility(world, who):
    user = world[who]

    assert _names(account_list_for_user(user=user)) == EXPECTED[who]
    assert {c.first_name for c in contact_list_for_user(user=user)} == EXPECTED[who]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("admin", None),  # everybody
        ("sales_superuser", None),
        ("manager", {"manager"}),
        ("rep", {"rep"}),
        ("gone", set()),
        ("gone_admin", set()),
        ("anonymous", set()),
        ("nobody", set()),
    ],
)
def test_user_visible_to_shows_admins_everybody_and_others_themselves(world, who, expected):
    if expected is None:
        expected = set(User.objects.values_list("username", flat=True))

    visible = User.objects.visible_to(world[who])

    assert set(visible.values_list("username", flat=True)) == expected


def test_visibility_follows_a_manager_moving_to_another_team(world, manager, other_rep):
    # Given the manager leaves their team for the other one (a new request loads them again)
    manager.managed_teams.update(manager=None)
    User.objects.filter(pk=manager.pk).update(team=other_rep.team)
    fresh = User.objects.get(pk=manager.pk)

    # Then
    assert _names(Account.objects.visible_to(fresh)) == {
        "Cuenta manager",
        "Cuenta otro",
        "Cuenta otro en equipo",
        "Compartida con rep",
        "Compartida con manager",
    }


def test_account_get_for_user_returns_a_visible_account(world, rep):
    shared = Account.objects.get(name="Compartida con rep")

    assert account_get_for_user(user=rep, account_id=shared.pk) == shared


@pytest.mark.parametrize("name", ["Cuenta otro", "Cuenta manager", "Cuenta admin"])
def test_account_get_for_user_answers_404_for_a_foreign_account(world, rep, name):
    account = Account.objects.get(name=name)

    with pytest.raises(Http404):
        account_get_for_user(user=rep, account_id=account.pk)


def test_account_get_for_user_answers_404_for_an_unknown_id(world, admin):
    unknown = Account.objects.order_by("-pk").first().pk + 1000

    with pytest.raises(Http404):
        account_get_for_user(user=admin, account_id=unknown)


def test_account_get_for_user_answers_404_to_a_deactivated_owner(world):
    account = Account.objects.get(name="Cuenta de baja")

    with pytest.raises(Http404):
        account_get_for_user(user=world["gone"], account_id=account.pk)


def test_contact_get_for_user_returns_a_visible_contact(world, manager):
    contact = Contact.objects.get(first_name="Cuenta otro en equipo")

    assert contact_get_for_user(user=manager, contact_id=contact.pk) == contact


@pytest.mark.parametrize("name", ["Cuenta otro", "Cuenta manager", "Compartida con manager"])
def test_contact_get_for_user_answers_404_for_a_foreign_contact(world, rep, name):
    contact = Contact.objects.get(first_name=name)

    with pytest.raises(Http404):
        contact_get_for_user(user=rep, contact_id=contact.pk)


def test_contact_get_for_user_answers_404_for_an_unknown_id(world, admin):
    unknown = Contact.objects.order_by("-pk").first().pk + 1000

    with pytest.raises(Http404):
        contact_get_for_user(user=admin, contact_id=unknown)


def test_account_list_for_user_query_count_does_not_grow_with_rows(
    world, admin, django_assert_num_queries
):
    sector = Sector.objects.first()
    Account.objects.update(sector=sector)

    # One query for the rows, one each for the prefetched tags and sharing.
    with django_assert_num_queries(3):
        rows = [
            (a.name, str(a.owner), str(a.sector), a.channel)
            for a in account_list_for_user(user=admin)
        ]

    assert len(rows) == len(ALL)


def test_contact_list_for_user_query_count_does_not_grow_with_rows(
    world, manager, django_assert_num_queries
):
    # The manager's teams are read once per request and kept on the user.
    manager.scope_team_ids()

    with django_assert_num_queries(1):
        rows = [(c.first_name, c.account.name) for c in contact_list_for_user(user=manager)]

    assert len(rows) == len(EXPECTED["manager"])


def test_account_contacts_lists_active_and_primary_first(rep):
    account = AccountFactory(owner=rep)
    ContactFactory(account=account, first_name="Ana", is_active=False)
    ContactFactory(account=account, first_name="Bea")
    ContactFactory(account=account, first_name="Carla", is_primary=True)

    names = [c.first_name for c in account_contacts(account=account)]

    assert names == ["Carla", "Bea", "Ana"]


# search


@pytest.fixture
def searchable(rep):
    AccountFactory(name="Muñoz Hermanos SL", billing_city="Madrid", owner=rep)
    AccountFactory(name="Talleres García", billing_city="Sevilla", owner=rep)
    AccountFactory(name="ÁLVAREZ Y CÍA", billing_city="Cádiz", owner=rep, email="info@alvarez.es")
    AccountFactory(name="Panadería Muñoz", billing_city="Sevilla", owner=rep, nif="B12345674")


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("munoz", {"Muñoz Hermanos SL", "Panadería Muñoz"}),
        ("MUÑOZ", {"Muñoz Hermanos SL", "Panadería Muñoz"}),
        ("MADRID", {"Muñoz Hermanos SL"}),
        ("alvarez", {"ÁLVAREZ Y CÍA"}),
        ("cadiz", {"ÁLVAREZ Y CÍA"}),
        ("munoz sevilla", {"Panadería Muñoz"}),
        ("  Muñoz   MADRID ", {"Muñoz Hermanos SL"}),
        ("munoz cadiz", set()),
        ("b12345674", {"Panadería Muñoz"}),
        ("info@alvarez", {"ÁLVAREZ Y CÍA"}),
        ("garcía", {"Talleres García"}),
        ("%", set()),
        ("_", set()),
        ("", {"Muñoz Hermanos SL", "Talleres García", "ÁLVAREZ Y CÍA", "Panadería Muñoz"}),
    ],
)
def test_search_filter_folds_accents_and_case_and_ands_the_words(searchable, term, expected):
    assert _names(Account.objects.filter(search_filter(term))) == expected


# filters


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def _account_names(data, user) -> list[str]:
    queryset = Account.objects.visible_to(user)
    return list(
        AccountFilter(data, queryset=queryset, request=_request(user)).qs.values_list(
            "name", flat=True
        )
    )


@pytest.fixture
def filterable(admin, rep, other_rep):
    vip = Tag.objects.create(name="vip")
    AccountFactory(
        name="Bravo",
        owner=rep,
        lifecycle=Lifecycle.CUSTOMER,
        billing_city="Bilbao",
        billing_province="48",
    ).tags.add(vip)
    AccountFactory(name="Alfa", owner=rep, billing_city="Zaragoza", billing_province="50")
    AccountFactory(
        name="Charlie",
        owner=other_rep,
        lifecycle=Lifecycle.CUSTOMER,
        billing_city="Avila",
        billing_province="05",
    ).tags.add(vip)
    AccountFactory(name="Delta", owner=other_rep, lifecycle=Lifecycle.INACTIVE)
    return vip


def test_account_filter_sorts_by_name_by_default(filterable, admin):
    assert _account_names({}, admin) == ["Alfa", "Bravo", "Charlie", "Delta"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Alfa", "Bravo", "Charlie", "Delta"]),
        ("-name", ["Delta", "Charlie", "Bravo", "Alfa"]),
        ("city", ["Charlie", "Bravo", "Delta", "Alfa"]),
        ("-city", ["Alfa", "Delta", "Bravo", "Charlie"]),
        ("lifecycle", ["Bravo", "Charlie", "Delta", "Alfa"]),
        ("-lifecycle", ["Alfa", "Delta", "Bravo", "Charlie"]),
        ("created", ["Bravo", "Alfa", "Charlie", "Delta"]),
        ("-created", ["Delta", "Charlie", "Alfa", "Bravo"]),
        ("bogus", ["Alfa", "Bravo", "Charlie", "Delta"]),
    ],
)
def test_account_filter_sorts(filterable, admin, sort, expected):
    assert _account_names({"sort": sort}, admin) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"lifecycle": "customer"}, ["Bravo", "Charlie"]),
        ({"lifecycle": "inactive"}, ["Delta"]),
        ({"province": "48"}, ["Bravo"]),
        ({"province": "05", "lifecycle": "customer"}, ["Charlie"]),
        ({"province": "05", "lifecycle": "prospect"}, []),
        ({"q": "bilbao"}, ["Bravo"]),
        ({"lifecycle": "customer", "sort": "-name"}, ["Charlie", "Bravo"]),
    ],
)
def test_account_filter_filters(filterable, admin, data, expected):
    assert _account_names(data, admin) == expected


def test_account_filter_by_owner_and_tag(filterable, admin, rep, other_rep):
    vip = filterable

    assert _account_names({"owner": rep.pk}, admin) == ["Alfa", "Bravo"]
    assert _account_names({"owner": other_rep.pk}, admin) == ["Charlie", "Delta"]
    assert _account_names({"tag": vip.pk}, admin) == ["Bravo", "Charlie"]
    assert _account_names({"tag": vip.pk, "owner": other_rep.pk}, admin) == ["Charlie"]


def test_account_filter_never_widens_the_visibility(filterable, rep, other_rep):
    vip = filterable

    assert _account_names({"owner": other_rep.pk}, rep) == []
    assert _account_names({"tag": vip.pk}, rep) == ["Bravo"]


def _contact_names(data, user) -> list[str]:
    queryset = Contact.objects.visible_to(user)
    return list(
        ContactFilter(data, queryset=queryset, request=_request(user)).qs.values_list(
            "first_name", flat=True
        )
    )


@pytest.fixture
def contacts(rep):
    zeta = AccountFactory(name="Zeta Muñoz SL", owner=rep)
    alfa = AccountFactory(name="Alfa Construcciones", owner=rep)
    ContactFactory(account=zeta, first_name="Ana", last_name="López", marketing_consent=False)
    ContactFactory(
        account=alfa,
        first_name="Bruno",
        last_name="Muñoz",
        is_active=False,
        marketing_consent=True,
        marketing_consent_source="email",
        marketing_consent_at="2024-03-05T10:00:00+01:00",
    )
    ContactFactory(account=alfa, first_name="Carmen", last_name="Ruiz")
    return {"zeta": zeta, "alfa": alfa}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, ["Ana", "Bruno", "Carmen"]),
        ({"sort": "-name"}, ["Carmen", "Bruno", "Ana"]),
        ({"sort": "account"}, ["Bruno", "Carmen", "Ana"]),
        ({"sort": "-account"}, ["Ana", "Bruno", "Carmen"]),
        ({"q": "munoz"}, ["Ana", "Bruno"]),  # Ana by her account's name, Bruno by his own
        ({"q": "MUÑOZ alfa"}, ["Bruno"]),
        ({"is_active": "false"}, ["Bruno"]),
        ({"marketing_consent": "true"}, ["Bruno"]),
    ],
)
def test_contact_filter_filters_and_sorts(contacts, rep, data, expected):
    assert _contact_names(data, rep) == expected


def test_contact_filter_by_account(contacts, rep):
    assert _contact_names({"account": contacts["alfa"].pk}, rep) == ["Bruno", "Carmen"]


# find_duplicates


def test_find_duplicates_matches_nif_e_mail_and_phones_in_any_format(rep):
    # Given
    by_nif = AccountFactory(owner=rep, name="Por NIF", nif="B12345674")
    by_email = AccountFactory(owner=rep, name="Por e-mail", email="info@ruiz.es")
    by_phone = AccountFactory(owner=rep, name="Por teléfono", phone="+34910123456")
    contact_by_email = ContactFactory(account=by_nif, email="Lucia@Ruiz.es")
    contact_by_mobile = ContactFactory(account=by_nif, mobile="+34600123456")
    ContactFactory(account=by_nif, email="otra@ruiz.es", phone="+34910000000")

    # When
    duplicates = find_duplicates(
        user=rep,
        nif="es-b1234567-4",
        emails=(" INFO@ruiz.es ", "lucia@ruiz.es", ""),
        phones=("910 12 34 56", "+34 600 12 34 56", "no válido"),
    )

    # Then
    assert set(duplicates.accounts) == {by_nif, by_email, by_phone}
    assert set(duplicates.contacts) == {contact_by_email, contact_by_mobile}
    assert duplicates.hidden == 0
    assert bool(duplicates) is True


def test_find_duplicates_counts_hidden_matches_without_showing_them(rep, other_rep):
    # Given
    hidden_account = AccountFactory(owner=other_rep, nif="B12345674", email="info@ruiz.es")
    ContactFactory(account=hidden_account, email="info@ruiz.es")

    # When
    duplicates = find_duplicates(user=rep, nif="B12345674", emails=("info@ruiz.es",))

    # Then
    assert (duplicates.accounts, duplicates.contacts, duplicates.hidden) == ([], [], 2)
    assert bool(duplicates) is True


def test_find_duplicates_excludes_the_record_being_edited(rep):
    account = AccountFactory(owner=rep, nif="B12345674")
    contact = ContactFactory(account=account, email="info@ruiz.es")

    duplicates = find_duplicates(
        user=rep,
        nif="B12345674",
        emails=("info@ruiz.es",),
        exclude_account_id=account.pk,
        exclude_contact_id=contact.pk,
    )

    assert (duplicates.accounts, duplicates.contacts, duplicates.hidden) == ([], [], 0)
    assert bool(duplicates) is False


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"nif": "B12345675"}, {"nif": ""}, {"emails": ("", "  ")}, {"phones": ("123", "")}],
)
def test_find_duplicates_finds_nothing_for_empty_or_invalid_input(rep, kwargs):
    AccountFactory(owner=rep, nif="", email="", phone="")
    ContactFactory(account=AccountFactory(owner=rep), email="", phone="", mobile="")

    duplicates = find_duplicates(user=rep, **kwargs)

    assert (duplicates.accounts, duplicates.contacts, duplicates.hidden) == ([], [], 0)
