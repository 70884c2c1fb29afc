from datetime import UTC, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import translation

from crm.core.models import Sector
from crm.customers.models import Account, AccountEvent, Contact, EventKind, Lifecycle, Tag
from crm.customers.selectors import account_timeline, contact_timeline
from crm.customers.services import (
    DuplicatesFound,
    account_can_delete,
    account_create,
    account_note_add,
    account_update,
    contact_create,
    contact_update,
)
from crm.customers.tests.factories import AccountFactory, ContactFactory
from crm.users.tests.factories import UserFactory

NOW = datetime(2024, 3, 5, 9, 30, tzinfo=UTC)  # 10:30 in Madrid


@pytest.fixture(autouse=True)
def _english():
    """Choice labels in the audit trail are written in the active language."""
    with translation.override("en"):
        yield


def _events(account=None):
    queryset = AccountEvent.objects.order_by("id")
    if account is not None:
        queryset = queryset.filter(account=account)
    return list(queryset.values_list("kind", "actor__username", "contact_id", "changes", "body"))


# account_create


def test_account_create_normalises_identifiers_and_gives_the_account_to_the_actor(rep, team):
    # When
    account = account_create(
        actor=rep,
        fields={
            "name": "  Talleres Muñoz SL ",
            "nif": "es-b1234567-4",
            "phone": "600 12 34 56",
            "email": " Info@Talleres-Munoz.ES ",
            "billing_city": "Cádiz",
        },
    )

    # Then
    saved = Account.objects.get()
    assert saved.pk == account.pk
    assert (saved.name, saved.nif, saved.phone, saved.email) == (
        "Talleres Muñoz SL",
        "B12345674",
        "+34600123456",
        "info@talleres-munoz.es",
    )
    assert (saved.owner, saved.team, saved.created_by, saved.updated_by) == (rep, team, rep, rep)
    assert (
        saved.search_text == "talleres munoz sl b12345674 info@talleres-munoz.es +34600123456 cadiz"
    )
    assert _events() == [("created", "rep", None, {}, "")]


def test_account_create_sets_tags_and_shares(rep, other_rep):
    # When
    account = account_create(
        actor=rep,
        fields={"name": "Bodegas Ruiz"},
        tags=[" vip ", "Cádiz", "vip", "", "  "],
        shared_with=[other_rep],
    )

    # Then
    assert list(account.tags.values_list("name", flat=True)) == ["Cádiz", "vip"]
    assert list(account.shared_with.all()) == [other_rep]


def test_account_create_with_an_empty_owner_gives_it_to_the_actor(manager, team):
    account = account_create(actor=manager, fields={"name": "Bodegas Ruiz", "owner": None})

    assert (account.owner, account.team) == (manager, team)


def test_account_create_refuses_a_sales_rep_giving_the_account_away(rep, manager):
    # When
    with pytest.raises(ValidationError) as exc_info:
        account_create(actor=rep, fields={"name": "Bodegas Ruiz", "owner": manager})

    # Then
    assert list(exc_info.value.message_dict) == ["owner"]
    assert not Account.objects.exists()
    assert not AccountEvent.objects.exists()


def test_account_create_lets_a_manager_give_the_account_within_the_team(manager, rep, team):
    account = account_create(actor=manager, fields={"name": "Bodegas Ruiz", "owner": rep})

    assert Account.objects.values_list("owner", "team", "created_by").get(pk=account.pk) == (
        rep.pk,
        team.pk,
        manager.pk,
    )


def test_account_create_refuses_a_manager_giving_the_account_outside_the_team(manager, other_rep):
    with pytest.raises(ValidationError) as exc_info:
        account_create(actor=manager, fields={"name": "Bodegas Ruiz", "owner": other_rep})

    assert list(exc_info.value.message_dict) == ["owner"]
    assert not Account.objects.exists()
    assert not AccountEvent.objects.exists()


def test_account_create_lets_an_admin_give_the_account_to_anybody(admin, other_rep):
    account = account_create(actor=admin, fields={"name": "Bodegas Ruiz", "owner": other_rep})

    assert (account.owner, account.team, account.created_by) == (
        other_rep,
        other_rep.team,
        admin,
    )


def test_account_create_keeps_an_explicit_team(admin, rep, other_rep):
    account = account_create(
        actor=admin, fields={"name": "Bodegas Ruiz", "owner": rep, "team": other_rep.team}
    )

    assert account.team == other_rep.team


def test_account_create_refuses_invalid_identifiers_and_writes_nothing(rep):
    # When
    with pytest.raises(ValidationError) as exc_info:
        account_create(
            actor=rep,
            fields={
                "name": "Bodegas Ruiz",
                "nif": "B12345675",
                "phone": "123",
                "email": "no-es-un-email",
            },
            tags=["vip"],
        )

    # Then
    assert exc_info.value.message_dict == {
        "nif": ["“B12345675” is not a valid NIF, CIF or NIE."],
        "phone": ["“123” is not a valid phone number."],
        "email": ["Enter a valid email address."],
    }
    assert not Account.objects.exists()
    assert not AccountEvent.objects.exists()
    assert not Tag.objects.exists()


def test_account_create_refuses_an_account_without_a_name(rep):
    with pytest.raises(ValidationError) as exc_info:
        account_create(actor=rep, fields={"name": "   ", "lifecycle": "bogus"})

    assert sorted(exc_info.value.message_dict) == ["lifecycle", "name"]
    assert not Account.objects.exists()
    assert not AccountEvent.objects.exists()


def test_account_create_refuses_an_unknown_field(rep):
    with pytest.raises(ValueError, match="unknown fields: \\['search_text'\\]"):
        account_create(actor=rep, fields={"name": "Bodegas Ruiz", "search_text": "x"})

    assert not Account.objects.exists()


def test_account_create_reports_duplicates_listing_visible_ones_and_counting_hidden_ones(
    rep, other_rep
):
    # Given an account of the rep with the NIF, and hidden ones with the e-mail and the phone
    mine = AccountFactory(owner=rep, name="Mía", nif="B12345674")
    AccountFactory(owner=other_rep, name="Ajena", email="info@ruiz.es")
    ContactFactory(account=AccountFactory(owner=other_rep), mobile="+34600123456")
    before = Account.objects.count()

    # When
    with pytest.raises(DuplicatesFound) as exc_info:
        account_create(
            actor=rep,
            fields={
                "name": "Bodegas Ruiz",
                "nif": "ES-B12345674",
                "email": "INFO@ruiz.es",
                "phone": "600 12 34 56",
            },
        )

    # Then
    duplicates = exc_info.value.duplicates
    assert (duplicates.accounts, duplicates.contacts, duplicates.hidden) == ([mine], [], 2)
    assert Account.objects.count() == before
    assert not AccountEvent.objects.exists()


def test_account_create_lists_a_visible_contact_sharing_the_phone(rep):
    contact = ContactFactory(account=AccountFactory(owner=rep), phone="+34600123456")

    with pytest.raises(DuplicatesFound) as exc_info:
        account_create(actor=rep, fields={"name": "Bodegas Ruiz", "phone": "+34 600 123 456"})

    duplicates = exc_info.value.duplicates
    assert (duplicates.accounts, duplicates.contacts, duplicates.hidden) == ([], [contact], 0)


def test_account_create_with_allow_duplicates_creates_the_account(rep, other_rep):
    # Given
    existing = AccountFactory(owner=other_rep, nif="B12345674")

    # When
    account = account_create(
        actor=rep, fields={"name": "Bodegas Ruiz", "nif": "B12345674"}, allow_duplicates=True
    )

    # Then
    assert list(Account.objects.filter(nif="B12345674").order_by("id")) == [existing, account]
    assert _events() == [("created", "rep", None, {}, "")]


def test_account_create_leaves_nothing_when_the_event_cannot_be_written(rep, monkeypatch):
    # Given the last step of the service fails
    def fail(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(AccountEvent.objects, "create", fail)

    # When
    with pytest.raises(RuntimeError):
        account_create(actor=rep, fields={"name": "Bodegas Ruiz"}, tags=["vip"], shared_with=[rep])

    # Then
    assert not Account.objects.exists()
    assert not Tag.objects.exists()
    assert not Account.shared_with.through.objects.exists()


# account_update


def test_account_update_records_who_changed_what(rep):
    # Given
    account = AccountFactory(owner=rep, name="Viejo nombre", lifecycle=Lifecycle.PROSPECT)

    # When
    account_update(
        actor=rep,
        account=account,
        fields={
            "name": "Nuevo nombre",
            "lifecycle": Lifecycle.CUSTOMER,
            "phone": "600 12 34 56",
            "sector": Sector.objects.get(name="Comercio"),
            "billing_city": "Madrid",
        },
    )

    # Then
    saved = Account.objects.get(pk=account.pk)
    assert (saved.name, saved.lifecycle, saved.phone, saved.updated_by) == (
        "Nuevo nombre",
        "customer",
        "+34600123456",
        rep,
    )
    assert saved.search_text == "nuevo nombre +34600123456 madrid"
    assert _events() == [
        (
            "updated",
            "rep",
            None,
            {
                "name": ["Viejo nombre", "Nuevo nombre"],
                "lifecycle": ["Prospect", "Customer"],
                "phone": ["", "+34600123456"],
                "sector": ["", "Comercio"],
            },
            "",
        )
    ]


def test_account_update_without_changes_writes_no_event(rep):
    # Given
    account = AccountFactory(owner=rep, nif="B12345674", phone="+34600123456")
    updated_at = account.updated_at

    # When the same values come written in another way
    account_update(
        actor=rep,
        account=account,
        fields={"nif": "es-b12345674", "phone": "600 12 34 56", "name": f" {account.name} "},
        tags=[],
        shared_with=[],
    )

    # Then
    assert Account.objects.get(pk=account.pk).updated_at == updated_at
    assert not AccountEvent.objects.exists()


def test_account_update_records_tag_and_share_changes(rep, other_rep):
    # Given
    account = account_create(actor=rep, fields={"name": "Bodegas Ruiz"}, tags=["vip"])

    # When
    account_update(
        actor=rep, account=account, fields={}, tags=["vip", "nuevo"], shared_with=[other_rep]
    )

    # Then
    assert list(account.tags.values_list("name", flat=True)) == ["nuevo", "vip"]
    assert list(account.shared_with.all()) == [other_rep]
    assert _events()[-1] == (
        "updated",
        "rep",
        None,
        {"tags": ["vip", "nuevo, vip"], "shared_with": ["", str(other_rep)]},
        "",
    )


def test_account_update_with_the_same_tags_writes_no_event(rep):
    account = account_create(actor=rep, fields={"name": "Bodegas Ruiz"}, tags=["vip", "b"])

    account_update(actor=rep, account=account, fields={}, tags=["b", " vip"])

    assert [kind for kind, *_ in _events()] == ["created"]


def test_account_update_refuses_a_sales_rep_giving_the_account_away(rep, manager):
    # Given
    account = AccountFactory(owner=rep, name="Bodegas Ruiz")

    # When
    with pytest.raises(ValidationError) as exc_info:
        account_update(actor=rep, account=account, fields={"owner": manager, "name": "Otro nombre"})

    # Then
    assert list(exc_info.value.message_dict) == ["owner"]
    assert Account.objects.values_list("owner", "name").get(pk=account.pk) == (
        rep.pk,
        "Bodegas Ruiz",
    )
    assert not AccountEvent.objects.exists()


def test_account_update_lets_a_manager_reassign_within_the_team(manager, rep):
    # Given
    account = AccountFactory(owner=manager)

    # When
    account_update(actor=manager, account=account, fields={"owner": rep})

    # Then
    assert Account.objects.get(pk=account.pk).owner == rep
    assert _events() == [("updated", "manager", None, {"owner": [str(manager), str(rep)]}, "")]


def test_account_update_refuses_an_invalid_phone_and_changes_nothing(rep):
    # Given
    account = AccountFactory(owner=rep, name="Bodegas Ruiz", phone="+34600123456")

    # When
    with pytest.raises(ValidationError) as exc_info:
        account_update(actor=rep, account=account, fields={"name": "Otro", "phone": "123"})

    # Then
    assert list(exc_info.value.message_dict) == ["phone"]
    assert Account.objects.values_list("name", "phone").get(pk=account.pk) == (
        "Bodegas Ruiz",
        "+34600123456",
    )
    assert not AccountEvent.objects.exists()


def test_account_update_leaves_nothing_when_the_event_cannot_be_written(rep, monkeypatch):
    # Given
    account = AccountFactory(owner=rep, name="Bodegas Ruiz")

    def fail(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(AccountEvent.objects, "create", fail)

    # When
    with pytest.raises(RuntimeError):
        account_update(actor=rep, account=account, fields={"name": "Otro"}, tags=["vip"])

    # Then
    assert Account.objects.get(pk=account.pk).name == "Bodegas Ruiz"
    assert not Tag.objects.exists()


# account_note_add


def test_account_note_add_writes_a_note_on_the_timeline(rep):
    account = AccountFactory(owner=rep)

    note = account_note_add(actor=rep, account=account, body="  Llamó el gerente.\n ")

    assert _events(account) == [("note", "rep", None, {}, "Llamó el gerente.")]
    assert list(account_timeline(account=account)) == [note]


@pytest.mark.parametrize("body", ["", "   \n\t", None])
def test_account_note_add_refuses_an_empty_note(rep, body):
    account = AccountFactory(owner=rep)

    with pytest.raises(ValidationError) as exc_info:
        account_note_add(actor=rep, account=account, body=body)

    assert list(exc_info.value.message_dict) == ["body"]
    assert not AccountEvent.objects.exists()


# contact_create


def test_contact_create_makes_the_first_contact_primary_and_writes_the_timeline(rep):
    # Given
    account = AccountFactory(owner=rep)

    # When
    first = contact_create(
        actor=rep,
        account=account,
        fields={
            "first_name": " Lucía ",
            "last_name": "Muñoz",
            "email": " Lucia@Ruiz.ES",
            "phone": "910 12 34 56",
            "mobile": "600 12 34 56",
        },
    )
    second = contact_create(actor=rep, account=account, fields={"first_name": "Pedro"})

    # Then
    assert list(
        Contact.objects.order_by("id").values_list(
            "first_name", "email", "phone", "mobile", "is_primary", "created_by"
        )
    ) == [
        ("Lucía", "lucia@ruiz.es", "+34910123456", "+34600123456", True, rep.pk),
        ("Pedro", "", "", "", False, rep.pk),
    ]
    assert first.search_text == "lucia munoz lucia@ruiz.es +34910123456 +34600123456"
    assert [(e.kind, e.contact) for e in account_timeline(account=account)] == [
        ("contact_created", second),
        ("contact_created", first),
    ]


def test_contact_create_as_primary_takes_the_place_of_the_previous_one(rep):
    # Given
    account = AccountFactory(owner=rep)
    first = contact_create(actor=rep, account=account, fields={"first_name": "Lucía"})

    # When
    second = contact_create(
        actor=rep, account=account, fields={"first_name": "Pedro", "is_primary": True}
    )

    # Then
    assert list(account.contacts.filter(is_primary=True)) == [second]
    assert Contact.objects.get(pk=first.pk).is_primary is False


def test_contact_create_does_not_touch_the_primary_contact_of_another_account(rep):
    other_primary = ContactFactory(account=AccountFactory(owner=rep), is_primary=True)

    contact_create(actor=rep, account=AccountFactory(owner=rep), fields={"first_name": "Pedro"})

    assert Contact.objects.get(pk=other_primary.pk).is_primary is True


@time_machine.travel(NOW, tick=False)
def test_contact_create_with_marketing_consent_dates_it(rep):
    contact = contact_create(
        actor=rep,
        account=AccountFactory(owner=rep),
        fields={
            "first_name": "Lucía",
            "marketing_consent": True,
            "marketing_consent_source": "email",
        },
    )

    assert Contact.objects.values_list(
        "marketing_consent", "marketing_consent_at", "marketing_consent_source"
    ).get(pk=contact.pk) == (True, NOW, "email")


def test_contact_create_refuses_marketing_consent_without_a_source(rep):
    # Given
    account = AccountFactory(owner=rep)

    # When
    with pytest.raises(ValidationError) as exc_info:
        contact_create(
            actor=rep, account=account, fields={"first_name": "Lucía", "marketing_consent": True}
        )

    # Then
    assert list(exc_info.value.message_dict) == ["marketing_consent_source"]
    assert not Contact.objects.exists()
    assert not AccountEvent.objects.exists()


def test_contact_create_refuses_invalid_fields_and_writes_nothing(rep):
    account = AccountFactory(owner=rep)

    with pytest.raises(ValidationError) as exc_info:
        contact_create(
            actor=rep,
            account=account,
            fields={"first_name": "", "email": "lucia@", "phone": "12", "mobile": "abc"},
        )

    assert sorted(exc_info.value.message_dict) == ["email", "mobile", "phone"]
    assert not Contact.objects.exists()
    assert not AccountEvent.objects.exists()


def test_contact_create_refuses_a_contact_without_a_first_name(rep):
    with pytest.raises(ValidationError) as exc_info:
        contact_create(actor=rep, account=AccountFactory(owner=rep), fields={"first_name": " "})

    assert list(exc_info.value.message_dict) == ["first_name"]
    assert not Contact.objects.exists()


def test_contact_create_reports_duplicates_and_creates_when_allowed(rep, other_rep):
    # Given
    account = AccountFactory(owner=rep)
    mine = ContactFactory(account=account, email="lucia@ruiz.es")
    ContactFactory(account=AccountFactory(owner=other_rep), mobile="+34600123456")

    # When
    with pytest.raises(DuplicatesFound) as exc_info:
        contact_create(
            actor=rep,
            account=account,
            fields={"first_name": "Lucía", "email": "LUCIA@ruiz.es", "mobile": "600123456"},
        )

    # Then
    duplicates = exc_info.value.duplicates
    assert (duplicates.accounts, duplicates.contacts, duplicates.hidden) == ([], [mine], 1)
    assert Contact.objects.count() == 2

    contact_create(
        actor=rep,
        account=account,
        fields={"first_name": "Lucía", "email": "LUCIA@ruiz.es", "mobile": "600123456"},
        allow_duplicates=True,
    )
    assert Contact.objects.count() == 3


def test_contact_create_leaves_nothing_when_the_event_cannot_be_written(rep, monkeypatch):
    # Given
    account = AccountFactory(owner=rep)
    primary = ContactFactory(account=account, is_primary=True)

    def fail(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(AccountEvent.objects, "create", fail)

    # When
    with pytest.raises(RuntimeError):
        contact_create(
            actor=rep, account=account, fields={"first_name": "Pedro", "is_primary": True}
        )

    # Then
    assert list(Contact.objects.all()) == [primary]
    assert Contact.objects.get(pk=primary.pk).is_primary is True


# contact_update


def test_contact_update_records_the_change_on_the_account_timeline(rep):
    # Given
    account = AccountFactory(owner=rep)
    contact = contact_create(actor=rep, account=account, fields={"first_name": "Lucía"})

    # When
    contact_update(
        actor=rep, contact=contact, fields={"position": "Gerente", "mobile": "600123456"}
    )

    # Then
    assert Contact.objects.values_list("position", "mobile", "updated_by").get(pk=contact.pk) == (
        "Gerente",
        "+34600123456",
        rep.pk,
    )
    latest = account_timeline(account=account)[0]
    assert (latest.kind, latest.contact, latest.actor, latest.changes) == (
        EventKind.CONTACT_UPDATED,
        contact,
        rep,
        {"position": ["", "Gerente"], "mobile": ["", "+34600123456"]},
    )
    assert list(contact_timeline(contact=contact))[0] == latest


def test_contact_update_making_a_contact_primary_unsets_the_previous_one(rep):
    # Given
    account = AccountFactory(owner=rep)
    first = contact_create(actor=rep, account=account, fields={"first_name": "Lucía"})
    second = contact_create(actor=rep, account=account, fields={"first_name": "Pedro"})

    # When
    contact_update(actor=rep, contact=second, fields={"is_primary": True})

    # Then
    assert list(account.contacts.filter(is_primary=True)) == [second]
    assert Contact.objects.get(pk=first.pk).is_primary is False
    assert account_timeline(account=account)[0].changes == {"is_primary": ["No", "Yes"]}


def test_contact_update_gives_consent_a_date_and_revoking_clears_it(rep):
    # Given
    contact = ContactFactory(account=AccountFactory(owner=rep))

    # When consent is given
    with time_machine.travel(NOW, tick=False):
        contact_update(
            actor=rep,
            contact=contact,
            fields={"marketing_consent": True, "marketing_consent_source": "in_person"},
        )

    # Then
    assert Contact.objects.values_list(
        "marketing_consent", "marketing_consent_at", "marketing_consent_source"
    ).get(pk=contact.pk) == (True, NOW, "in_person")
    assert AccountEvent.objects.get().changes == {
        "marketing_consent": ["No", "Yes"],
        "marketing_consent_at": ["", "05/03/2024 10:30"],
        "marketing_consent_source": ["", "In person"],
    }

    # When another field changes later, the consent keeps its date
    with time_machine.travel(datetime(2024, 4, 1, 8, 0, tzinfo=UTC), tick=False):
        contact_update(
            actor=rep, contact=contact, fields={"marketing_consent": True, "position": "CEO"}
        )
    assert Contact.objects.get(pk=contact.pk).marketing_consent_at == NOW

    # When consent is revoked
    contact_update(actor=rep, contact=contact, fields={"marketing_consent": False})

    # Then
    assert Contact.objects.values_list(
        "marketing_consent", "marketing_consent_at", "marketing_consent_source"
    ).get(pk=contact.pk) == (False, None, "")
    assert AccountEvent.objects.order_by("-id").first().changes == {
        "marketing_consent": ["Yes", "No"],
        "marketing_consent_at": ["05/03/2024 10:30", ""],
        "marketing_consent_source": ["In person", ""],
    }


def test_contact_update_refuses_consent_without_a_source_and_changes_nothing(rep):
    # Given
    contact = ContactFactory(account=AccountFactory(owner=rep), position="Gerente")

    # When
    with pytest.raises(ValidationError) as exc_info:
        contact_update(
            actor=rep, contact=contact, fields={"marketing_consent": True, "position": "CEO"}
        )

    # Then
    assert list(exc_info.value.message_dict) == ["marketing_consent_source"]
    assert Contact.objects.values_list("marketing_consent", "position").get(pk=contact.pk) == (
        False,
        "Gerente",
    )
    assert not AccountEvent.objects.exists()


def test_contact_update_without_changes_writes_no_event(rep):
    contact = ContactFactory(account=AccountFactory(owner=rep), email="lucia@ruiz.es")

    contact_update(actor=rep, contact=contact, fields={"email": " LUCIA@ruiz.es "})

    assert not AccountEvent.objects.exists()


def test_contact_update_refuses_an_invalid_mobile_and_changes_nothing(rep):
    contact = ContactFactory(account=AccountFactory(owner=rep), mobile="+34600123456")

    with pytest.raises(ValidationError) as exc_info:
        contact_update(actor=rep, contact=contact, fields={"mobile": "600"})

    assert list(exc_info.value.message_dict) == ["mobile"]
    assert Contact.objects.get(pk=contact.pk).mobile == "+34600123456"
    assert not AccountEvent.objects.exists()


def test_services_write_the_actor_even_when_it_is_not_the_owner(admin):
    # Given an account of somebody else
    account = AccountFactory(owner=UserFactory())

    # When
    account_note_add(actor=admin, account=account, body="Revisado")

    # Then
    assert _events(account) == [("note", "admin", None, {}, "Revisado")]


def test_moving_an_account_to_another_team_needs_admin_or_that_teams_manager(rep, other_rep):
    # given
    account = AccountFactory(owner=rep)
    foreign_team = other_rep.team
    # when
    with pytest.raises(ValidationError) as error:
        account_update(actor=rep, account=account, fields={"team": foreign_team})
    # then
    assert "team" in error.value.message_dict
    account.refresh_from_db()
    assert account.team == rep.team


def test_admin_moves_an_account_to_another_team(admin, rep, other_rep):
    # given
    account = AccountFactory(owner=rep)
    # when
    account_update(actor=admin, account=account, fields={"team": other_rep.team})
    # then
    account.refresh_from_db()
    assert account.team == other_rep.team


def test_giving_an_account_to_a_new_owner_moves_it_to_their_team(admin, rep, other_rep):
    # given
    account = AccountFactory(owner=rep)
    # when
    account_update(actor=admin, account=account, fields={"owner": other_rep})
    # then
    account.refresh_from_db()
    assert (account.owner, account.team) == (other_rep, other_rep.team)


def test_a_deactivated_user_cannot_own_an_account(admin, rep):
    # given
    rep.is_active = False
    rep.save()
    # when
    with pytest.raises(ValidationError) as error:
        account_create(actor=admin, fields={"name": "Sin dueño", "owner": rep})
    # then
    assert "owner" in error.value.message_dict
    assert not Account.objects.filter(name="Sin dueño").exists()


def test_postal_code_fills_an_empty_province(rep):
    # when
    account = account_create(
        actor=rep, fields={"name": "Horchatería", "billing_postal_code": "46001"}
    )
    # then
    assert (account.billing_postal_code, account.billing_province) == ("46001", "46")


def test_postal_code_keeps_the_leading_zero_excel_dropped(rep):
    # when
    account = account_create(actor=rep, fields={"name": "Forn", "billing_postal_code": "8001"})
    # then
    assert (account.billing_postal_code, account.billing_province) == ("08001", "08")


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"billing_postal_code": "99999"}, "billing_postal_code"),
        ({"billing_postal_code": "28A01"}, "billing_postal_code"),
        ({"billing_postal_code": "28001", "billing_province": "08"}, "billing_province"),
        ({"shipping_postal_code": "46001", "shipping_province": "28"}, "shipping_province"),
    ],
)
def test_postal_code_and_province_must_agree(rep, fields, error_field):
    # when
    with pytest.raises(ValidationError) as error:
        account_create(actor=rep, fields={"name": "Mal Dirigida", **fields})
    # then
    assert error_field in error.value.message_dict
    assert not Account.objects.filter(name="Mal Dirigida").exists()


def test_foreign_postal_codes_are_free_form(rep):
    # when
    account = account_create(
        actor=rep,
        fields={"name": "Lisboa Lda", "billing_country": "PT", "billing_postal_code": "1100-148"},
    )
    # then
    assert account.billing_postal_code == "1100-148"


def test_a_rep_cannot_take_over_an_account_only_shared_with_them(rep, other_rep):
    # given
    account = AccountFactory(owner=other_rep)
    account.shared_with.add(rep)
    # when
    with pytest.raises(ValidationError) as error:
        account_update(actor=rep, account=account, fields={"owner": rep})
    # then
    assert "owner" in error.value.message_dict
    account.refresh_from_db()
    assert account.owner == other_rep


def test_a_manager_cannot_delete_or_move_another_teams_account_shared_with_them(manager, other_rep):
    # given
    account = AccountFactory(owner=other_rep)
    account.shared_with.add(manager)
    # then
    assert account_can_delete(actor=manager, account=account) is False
    with pytest.raises(ValidationError):
        account_update(actor=manager, account=account, fields={"team": manager.team})
    account.refresh_from_db()
    assert account.team == other_rep.team


def test_a_manager_deletes_an_account_of_their_team(manager, rep):
    # given
    account = AccountFactory(owner=rep)
    # then
    assert account_can_delete(actor=manager, account=account) is True


def test_a_foreign_account_keeps_its_own_postal_code_when_edited(rep):
    # given
    account = account_create(
        actor=rep,
        fields={"name": "Paris SARL", "billing_country": "FR", "billing_postal_code": "75001"},
    )
    # when
    account_update(actor=rep, account=account, fields={"billing_postal_code": "75002"})
    # then
    account.refresh_from_db()
    assert (account.billing_postal_code, account.billing_province) == ("75002", "")


def test_consent_cannot_be_dated_in_the_future(rep):
    # given
    account = AccountFactory(owner=rep)
    # when
    with pytest.raises(ValidationError) as error:
        contact_create(
            actor=rep,
            account=account,
            fields={
                "first_name": "Futura",
                "marketing_consent": True,
                "marketing_consent_source": "email",
                "marketing_consent_at": datetime(2999, 1, 1, tzinfo=UTC),
            },
        )
    # then
    assert "marketing_consent_at" in error.value.message_dict
    assert not Contact.objects.exists()


def test_no_consent_keeps_no_date_or_source(rep):
    # given
    account = AccountFactory(owner=rep)
    # when
    contact = contact_create(
        actor=rep,
        account=account,
        fields={
            "first_name": "Sin",
            "marketing_consent": False,
            "marketing_consent_source": "email",
            "marketing_consent_at": datetime(2020, 1, 1, tzinfo=UTC),
        },
    )
    # then
    assert (contact.marketing_consent_at, contact.marketing_consent_source) == (None, "")
