"""What the leads app plugs into pages of lower apps: the reasons list and timeline labels."""

from django.urls import reverse
from django.utils import translation

from crm.customers.models import AccountEvent, EventKind
from crm.customers.templatetags.customers import change_label
from crm.customers.tests.factories import AccountFactory
from crm.leads.models import DisqualifyReason


def test_admin_edits_disqualify_reasons_with_the_other_lists(client, admin):
    client.force_login(admin)

    response = client.post(
        reverse("choice-list", args=["disqualify-reasons"]),
        {"name": "Precio demasiado alto", "position": 9, "is_active": "on"},
    )

    assert response.status_code == 302
    assert DisqualifyReason.objects.filter(name="Precio demasiado alto").exists()
    page = client.get(reverse("choice-list", args=["disqualify-reasons"]))
    assert "Sin presupuesto" in page.content.decode()


def test_sales_rep_cannot_edit_disqualify_reasons(client, rep):
    client.force_login(rep)

    response = client.get(reverse("choice-list", args=["disqualify-reasons"]))

    assert response.status_code == 403


def test_lead_history_on_account_timeline_names_lead_fields(db):
    account = AccountFactory()
    event = AccountEvent(account=account, kind=EventKind.LEAD_HISTORY)

    with translation.override("en"):
        assert change_label("first_name", event) == "first name"  # not a field of Account
        assert change_label("status", event) == "status"
        assert change_label("billing_city", AccountEvent(account=account, kind="updated")) == "city"
