import phonenumbers
import pytest
from django.core.management import call_command
from stdnum.es import nif as es_nif

from crm.customers.models import Account, AccountEvent, Contact, EventKind
from crm.users.models import Role, Team, User

pytestmark = pytest.mark.django_db


def _phones(account: Account) -> list[str]:
    numbers = [account.phone]
    for contact in account.contacts.all():
        numbers += [contact.phone, contact.mobile]
    return [number for number in numbers if number]


def _is_e164_es(number: str) -> bool:
    parsed = phonenumbers.parse(number)
    return (
        phonenumbers.is_valid_number(parsed)
        and parsed.country_code == 34
        and phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == number
    )


def test_seed_demo_creates_a_demo_team_and_valid_spanish_records(capsys):
    call_command("seed_demo", accounts=30, seed=1)

    assert set(Team.objects.values_list("name", flat=True)) == {"Norte", "Sur"}
    assert User.objects.filter(role=Role.MANAGER).count() == 2
    assert User.objects.filter(role=Role.SALES).count() == 5
    assert User.objects.get(username="ana.garcia").check_password("demo-crm-2026")
    accounts = list(Account.objects.prefetch_related("contacts"))
    assert len(accounts) == 30
    for account in accounts:
        assert es_nif.validate(account.nif) == account.nif
        assert all(_is_e164_es(number) for number in _phones(account)), account
        assert account.billing_postal_code[:2] == account.billing_province
        assert account.billing_city
        assert account.owner.role in {Role.SALES, Role.MANAGER}
        assert account.team_id == account.owner.team_id
        assert account.search_text
        assert 1 <= len(account.contacts.all()) <= 3
    assert AccountEvent.objects.filter(kind=EventKind.CREATED).count() == 30
    assert set(AccountEvent.objects.values_list("account_id", flat=True)) == {
        a.pk for a in accounts
    }
    output = capsys.readouterr().out
    assert "Created 30 accounts" in output
    assert "ana.garcia" in output


def test_seed_demo_consent_always_has_date_and_source():
    call_command("seed_demo", accounts=30, seed=1)

    consenting = Contact.objects.filter(marketing_consent=True)
    assert consenting.exists()
    for contact in consenting:
        assert contact.marketing_consent_at is not None
        assert contact.marketing_consent_source
        assert contact.created_at <= contact.marketing_consent_at
    assert (
        not Contact.objects.filter(marketing_consent=False)
        .exclude(marketing_consent_source="")
        .exists()
    )
    assert all(contact.search_text for contact in Contact.objects.all())


def test_seed_demo_rep_sees_only_own_and_shared_accounts():
    call_command("seed_demo", accounts=30, seed=1)
    rep = User.objects.get(username="ana.garcia")

    visible = set(Account.objects.visible_to(rep).values_list("pk", flat=True))

    expected = set(Account.objects.filter(owner=rep).values_list("pk", flat=True)) | set(
        rep.shared_accounts.values_list("pk", flat=True)
    )
    assert visible == expected
    assert visible
    assert len(visible) < Account.objects.count()


def test_seed_demo_is_deterministic_for_a_seed():
    call_command("seed_demo", accounts=10, seed=7)
    call_command("seed_demo", accounts=10, seed=7)
    call_command("seed_demo", accounts=10, seed=8)

    rows = list(Account.objects.order_by("pk").values_list("name", "nif", "phone", "owner"))
    assert rows[:10] == rows[10:20]
    assert rows[:10] != rows[20:]


def test_seed_demo_uses_existing_sales_users_without_creating_any(rep, manager):
    call_command("seed_demo", accounts=20, seed=1)

    assert User.objects.count() == 2
    assert set(Account.objects.values_list("owner__username", flat=True)) <= {"rep", "manager"}
