import csv
import io
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from crm.core.models import Sector
from crm.customers.models import Account, AccountEvent, Contact, Lifecycle
from crm.customers.tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep_client(client, rep):
    client.force_login(rep)
    return client


@pytest.fixture
def foreign_account(other_rep):
    return AccountFactory(owner=other_rep, name="Ajena SL")


def account_form(**overrides):
    data = {
        "kind": "company",
        "name": "Talleres Pérez SL",
        "nif": "B12345674",
        "lifecycle": "prospect",
        "phone": "912 34 56 78",
        "email": "Info@TalleresPerez.es",
        "billing_city": "Madrid",
        "billing_province": "28",
        "billing_country": "ES",
        "shipping_country": "ES",
        "tags": "taller, madrid",
    }
    data.update(overrides)
    return data


def test_pages_need_a_login(client):
    response = client.get(reverse("account-list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_create_account_saves_normalised_values_and_records_the_creation(rep_client, rep):
    response = rep_client.post(reverse("account-create"), account_form(owner=rep.pk))

    account = Account.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("account-detail", args=[account.pk])
    assert account.nif == "B12345674"
    assert account.phone == "+34912345678"
    assert account.email == "info@talleresperez.es"
    assert account.owner == rep
    assert account.created_by == rep
    assert sorted(t.name for t in account.tags.all()) == ["madrid", "taller"]
    assert list(account.events.values_list("kind", flat=True)) == ["created"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("nif", "B12345678"), ("phone", "12345"), ("email", "no-es-un-correo")],
)
def test_invalid_field_is_reported_beside_it_and_nothing_is_saved(rep_client, rep, field, value):
    response = rep_client.post(
        reverse("account-create"), account_form(owner=rep.pk, **{field: value})
    )

    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert f'id="id_{field}_error"' in response.content.decode()
    assert Account.objects.count() == 0
    assert AccountEvent.objects.count() == 0


def test_duplicate_nif_asks_for_confirmation_then_creates(rep_client, rep):
    existing = AccountFactory(owner=rep, nif="B12345674", name="Ya Existe SL")

    response = rep_client.post(reverse("account-create"), account_form(owner=rep.pk))
    assert response.status_code == 200
    assert response.context["duplicates"].accounts == [existing]
    assert "Ya Existe SL" in response.content.decode()
    assert Account.objects.count() == 1

    response = rep_client.post(
        reverse("account-create"), account_form(owner=rep.pk, allow_duplicates="on")
    )
    assert response.status_code == 302
    assert Account.objects.count() == 2


def test_duplicate_warning_does_not_reveal_a_foreign_record(rep_client, rep, foreign_account):
    Account.objects.filter(pk=foreign_account.pk).update(nif="B12345674")

    response = rep_client.post(reverse("account-create"), account_form(owner=rep.pk))

    duplicates = response.context["duplicates"]
    assert duplicates.accounts == []
    assert duplicates.hidden == 1
    assert "Ajena SL" not in response.content.decode()


def test_sales_rep_cannot_give_an_account_to_someone_else(rep_client, other_rep):
    response = rep_client.post(reverse("account-create"), account_form(owner=other_rep.pk))

    assert response.status_code == 200
    assert "owner" in response.context["form"].errors
    assert Account.objects.count() == 0


def test_update_records_who_changed_what(rep_client, rep):
    account = AccountFactory(owner=rep, name="Viejo Nombre SL")

    response = rep_client.post(
        reverse("account-update", args=[account.pk]),
        account_form(owner=rep.pk, name="Nuevo Nombre SL", nif="", phone="", tags=""),
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.name == "Nuevo Nombre SL"
    assert account.updated_by == rep
    event = account.events.get(kind="updated")
    assert event.actor == rep
    assert event.changes["name"] == ["Viejo Nombre SL", "Nuevo Nombre SL"]
    page = rep_client.get(reverse("account-detail", args=[account.pk])).content.decode()
    assert "Viejo Nombre SL" in page
    assert "Nuevo Nombre SL" in page


def test_lifecycle_inline_edit_with_htmx_returns_the_fragment(rep_client, rep):
    account = AccountFactory(owner=rep)

    response = rep_client.post(
        reverse("account-lifecycle", args=[account.pk]),
        {"lifecycle": Lifecycle.CUSTOMER},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<form id="lifecycle-form"')
    assert "<html" not in body
    account.refresh_from_db()
    assert account.lifecycle == Lifecycle.CUSTOMER


def test_note_is_added_to_the_timeline(rep_client, rep):
    account = AccountFactory(owner=rep)

    response = rep_client.post(
        reverse("account-note-create", args=[account.pk]),
        {"body": "Llamar el lunes para la oferta"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "Llamar el lunes para la oferta" in response.content.decode()
    assert account.events.get(kind="note").body == "Llamar el lunes para la oferta"


def test_empty_note_is_refused_with_a_message(rep_client, rep):
    account = AccountFactory(owner=rep)

    response = rep_client.post(
        reverse("account-note-create", args=[account.pk]), {"body": "  "}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert 'id="id_body_error"' in response.content.decode()
    assert not account.events.filter(kind="note").exists()


FOREIGN_ACCOUNT_URLS = [
    ("get", "account-detail"),
    ("get", "account-update"),
    ("post", "account-update"),
    ("post", "account-lifecycle"),
    ("post", "account-note-create"),
    ("get", "contact-create"),
    ("post", "contact-create"),
]


@pytest.mark.parametrize(("method", "name"), FOREIGN_ACCOUNT_URLS)
def test_foreign_account_answers_404_everywhere(rep_client, foreign_account, method, name):
    before = (foreign_account.name, foreign_account.lifecycle)

    response = getattr(rep_client, method)(
        reverse(name, args=[foreign_account.pk]),
        {"name": "Robada", "lifecycle": "customer", "body": "x", "first_name": "X"},
    )

    assert response.status_code == 404
    foreign_account.refresh_from_db()
    assert (foreign_account.name, foreign_account.lifecycle) == before
    assert not foreign_account.events.exists()
    assert not foreign_account.contacts.exists()


@pytest.mark.parametrize("name", ["account-detail", "account-update", "contact-detail"])
def test_unknown_id_answers_404(rep_client, name):
    assert rep_client.get(reverse(name, args=[999999])).status_code == 404


@pytest.mark.parametrize(
    ("method", "name"),
    [("get", "contact-detail"), ("get", "contact-update"), ("post", "contact-update")],
)
def test_foreign_contact_answers_404(rep_client, foreign_account, method, name):
    contact = ContactFactory(account=foreign_account, first_name="Oculta")

    response = getattr(rep_client, method)(reverse(name, args=[contact.pk]), {"first_name": "X"})

    assert response.status_code == 404
    contact.refresh_from_db()
    assert contact.first_name == "Oculta"


def test_list_shows_only_visible_accounts_and_searches_without_accents(
    rep_client, rep, foreign_account
):
    AccountFactory(owner=rep, name="Panadería Muñoz")
    AccountFactory(owner=rep, name="Bar Pepe")

    response = rep_client.get(reverse("account-list"), {"q": "munoz"})

    names = [a.name for a in response.context["page"].object_list]
    assert names == ["Panadería Muñoz"]
    all_names = [
        a.name for a in rep_client.get(reverse("account-list")).context["page"].object_list
    ]
    assert "Ajena SL" not in all_names


def test_live_search_with_htmx_returns_only_the_results(rep_client, rep):
    AccountFactory(owner=rep, name="Panadería Muñoz")

    response = rep_client.get(reverse("account-list"), {"q": "pan"}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert body.lstrip().startswith('<div id="results">')
    assert "Panadería Muñoz" in body
    assert "<nav" not in body.split('<div id="results">')[0]


def test_list_sorts_and_filters_in_the_database(rep_client, rep):
    AccountFactory(owner=rep, name="B", lifecycle=Lifecycle.CUSTOMER)
    AccountFactory(owner=rep, name="A", lifecycle=Lifecycle.CUSTOMER)
    AccountFactory(owner=rep, name="C", lifecycle=Lifecycle.PROSPECT)

    response = rep_client.get(reverse("account-list"), {"lifecycle": "customer", "sort": "-name"})

    assert [a.name for a in response.context["page"].object_list] == ["B", "A"]


def test_bad_filter_values_do_not_fail(rep_client, rep):
    AccountFactory(owner=rep)

    response = rep_client.get(
        reverse("account-list"), {"sort": "nope", "owner": "abc", "page": "x"}
    )

    assert response.status_code == 200


def _count_queries(client, url, params=None):
    client.get(url, params or {})  # warm-up: the session and company settings rows
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url_name", ["account-list", "contact-list", "home"])
def test_list_query_count_does_not_grow_with_rows(rep_client, rep, url_name):
    for _ in range(2):
        ContactFactory(account=AccountFactory(owner=rep))
    few = _count_queries(rep_client, reverse(url_name))

    for _ in range(20):
        ContactFactory(account=AccountFactory(owner=rep))
    many = _count_queries(rep_client, reverse(url_name))

    assert many == few


def test_detail_query_count_does_not_grow_with_contacts_and_events(rep_client, rep):
    account = AccountFactory(owner=rep)
    ContactFactory(account=account)
    few = _count_queries(rep_client, reverse("account-detail", args=[account.pk]))

    for n in range(10):
        ContactFactory(account=account)
        AccountEvent.objects.create(account=account, kind="note", actor=rep, body=f"nota {n}")
    many = _count_queries(rep_client, reverse("account-detail", args=[account.pk]))

    assert many == few


def _csv_rows(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def test_csv_export_follows_filters_and_visibility_and_neutralises_formulas(
    rep_client, rep, foreign_account
):
    AccountFactory(owner=rep, name='=HYPERLINK("http://evil")', lifecycle=Lifecycle.CUSTOMER)
    AccountFactory(owner=rep, name="Cliente Normal", lifecycle=Lifecycle.CUSTOMER)
    AccountFactory(owner=rep, name="Prospecto", lifecycle=Lifecycle.PROSPECT)

    response = rep_client.get(reverse("account-export", args=["csv"]), {"lifecycle": "customer"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = _csv_rows(response)
    names = sorted(row[0] for row in rows[1:])
    assert names == ['\'=HYPERLINK("http://evil")', "Cliente Normal"]


def test_xlsx_export_has_no_formula_cells(rep_client, rep, foreign_account):
    AccountFactory(owner=rep, name="@SUM(1+1)")

    response = rep_client.get(reverse("account-export", args=["xlsx"]))

    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    cells = [cell for row in workbook.active.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    names = [row[0].value for row in workbook.active.iter_rows(min_row=2)]
    assert names == ["'@SUM(1+1)"]


def test_contact_export_respects_visibility(rep_client, rep, foreign_account):
    ContactFactory(account=AccountFactory(owner=rep), first_name="Visible")
    ContactFactory(account=foreign_account, first_name="Oculto")

    rows = _csv_rows(rep_client.get(reverse("contact-export", args=["csv"])))

    assert [row[0] for row in rows[1:]] == ["Visible"]


def test_unknown_export_format_is_404(rep_client):
    assert rep_client.get(reverse("account-export", args=["pdf"])).status_code == 404


def test_contact_create_with_consent_records_date_and_source(rep_client, rep):
    account = AccountFactory(owner=rep)

    response = rep_client.post(
        reverse("contact-create", args=[account.pk]),
        {
            "first_name": "Lucía",
            "last_name": "Gómez",
            "email": "lucia@example.com",
            "mobile": "+34 612 345 679",
            "is_active": "on",
            "marketing_consent": "on",
            "marketing_consent_source": "web_form",
        },
    )

    assert response.status_code == 302
    contact = Contact.objects.get()
    assert contact.is_primary
    assert contact.mobile == "+34612345679"
    assert contact.marketing_consent_at is not None
    assert contact.marketing_consent_source == "web_form"
    assert account.events.filter(kind="contact_created", contact=contact).exists()


def test_contact_consent_without_source_is_refused_beside_the_field(rep_client, rep):
    account = AccountFactory(owner=rep)

    response = rep_client.post(
        reverse("contact-create", args=[account.pk]),
        {"first_name": "Lucía", "is_active": "on", "marketing_consent": "on"},
    )

    assert response.status_code == 200
    assert "marketing_consent_source" in response.context["form"].errors
    assert Contact.objects.count() == 0


def test_manager_sees_the_team_accounts_but_not_other_teams(client, manager, rep, foreign_account):
    own_team = AccountFactory(owner=rep, name="Del Equipo SL")
    client.force_login(manager)

    assert client.get(reverse("account-detail", args=[own_team.pk])).status_code == 200
    assert client.get(reverse("account-detail", args=[foreign_account.pk])).status_code == 404


def test_admin_sees_everything(client, admin, foreign_account):
    client.force_login(admin)

    assert client.get(reverse("account-detail", args=[foreign_account.pk])).status_code == 200


def test_owner_deletes_an_account_after_confirming(rep_client, rep):
    account = AccountFactory(owner=rep, name="Cliente Borrable")
    ContactFactory(account=account)

    confirm = rep_client.get(reverse("account-delete", args=[account.pk]))
    assert confirm.status_code == 200
    assert "Cliente Borrable" in confirm.content.decode()
    assert Account.objects.filter(pk=account.pk).exists()

    response = rep_client.post(reverse("account-delete", args=[account.pk]))
    assert response.status_code == 302
    assert not Account.objects.filter(pk=account.pk).exists()
    assert Contact.objects.count() == 0


def test_shared_account_cannot_be_deleted_by_a_rep_who_does_not_own_it(rep_client, rep, other_rep):
    account = AccountFactory(owner=other_rep)
    account.shared_with.add(rep)

    assert rep_client.get(reverse("account-detail", args=[account.pk])).status_code == 200
    assert rep_client.post(reverse("account-delete", args=[account.pk])).status_code == 403
    assert Account.objects.filter(pk=account.pk).exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_foreign_account_delete_answers_404(rep_client, foreign_account, method):
    response = getattr(rep_client, method)(reverse("account-delete", args=[foreign_account.pk]))

    assert response.status_code == 404
    assert Account.objects.filter(pk=foreign_account.pk).exists()


def test_contact_delete_keeps_an_anonymous_line_on_the_timeline(rep_client, rep):
    account = AccountFactory(owner=rep)
    contact = ContactFactory(account=account, first_name="Olvidada")

    response = rep_client.post(reverse("contact-delete", args=[contact.pk]))

    assert response.status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    event = account.events.get(kind="contact_deleted")
    assert event.body == ""
    rep_client.get(reverse("account-detail", args=[account.pk]))  # shows the one-off toast
    page = rep_client.get(reverse("account-detail", args=[account.pk])).content.decode()
    assert "Olvidada" not in page


def _form_as_sent(response) -> dict:
    """The POST a browser sends for an untouched form: each field's initial value."""
    form = response.context["form"]
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value in (None, False):
            continue
        if isinstance(value, list | tuple):
            data[name] = [str(v) for v in value]
        else:
            data[name] = str(value)
    return data


def test_saving_a_shared_account_untouched_changes_nothing(rep_client, rep, other_rep):
    account = AccountFactory(owner=other_rep, name="Compartida SL")
    account.shared_with.add(rep)
    url = reverse("account-update", args=[account.pk])

    response = rep_client.post(url, _form_as_sent(rep_client.get(url)))

    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.owner, account.team) == (other_rep, other_rep.team)
    assert list(account.shared_with.all()) == [rep]
    assert not account.events.filter(kind="updated").exists()


def test_editing_notes_keeps_a_deactivated_owner_and_an_inactive_sector(client, admin, rep):
    sector = Sector.objects.create(name="Retirado", is_active=False)
    account = AccountFactory(owner=rep, sector=sector)
    rep.is_active = False
    rep.save()
    client.force_login(admin)
    url = reverse("account-update", args=[account.pk])
    data = _form_as_sent(client.get(url)) | {"notes": "Cliente heredado"}

    response = client.post(url, data)

    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.owner, account.sector, account.notes) == (rep, sector, "Cliente heredado")
    assert list(account.events.get(kind="updated").changes) == ["notes"]


def test_inline_lifecycle_change_on_an_invalid_older_record_says_why(rep_client, rep):
    account = AccountFactory(owner=rep, billing_postal_code="28001", billing_province="08")

    response = rep_client.post(
        reverse("account-lifecycle", args=[account.pk]),
        {"lifecycle": Lifecycle.CUSTOMER},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    account.refresh_from_db()
    assert account.lifecycle == Lifecycle.PROSPECT


def test_csv_export_speaks_the_users_language_and_the_company_time_zone(rep_client, rep):
    from crm.core.models import CompanySettings

    CompanySettings.objects.update_or_create(pk=1, defaults={"time_zone": "Atlantic/Canary"})
    rep.language = "en"
    rep.save()
    account = AccountFactory(owner=rep, name="Canaria SL")
    Account.objects.filter(pk=account.pk).update(
        created_at=datetime(2026, 1, 15, 23, 30, tzinfo=UTC)
    )

    rows = _csv_rows(rep_client.get(reverse("account-export", args=["csv"])))

    assert rows[0][0] == "Name"
    assert rows[1][0] == "Canaria SL"
    assert rows[1][-1] == "15/01/2026 23:30"


def test_huge_account_filter_is_harmless(rep_client):
    response = rep_client.get(reverse("contact-list"), {"account": "9" * 30})

    assert response.status_code == 200
