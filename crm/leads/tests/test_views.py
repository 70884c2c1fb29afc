import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from crm.core.models import Channel
from crm.customers.models import Account, AccountEvent, Contact
from crm.customers.tests.factories import AccountFactory
from crm.leads.models import (
    AssignmentRule,
    AssignmentTarget,
    DisqualifyReason,
    Lead,
    LeadEvent,
    LeadSettings,
    LeadStatus,
)
from crm.leads.tests.factories import AssignmentRuleFactory, LeadFactory
from crm.sales.models import Opportunity
from crm.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def login(client, user):
    """Sign in as a user who reads English, so that texts are asserted in their source form."""
    user.language = "en"
    user.save(update_fields=["language"])
    client.force_login(user)
    return client


@pytest.fixture
def rep_client(client, rep):
    return login(client, rep)


@pytest.fixture
def admin_client(client, admin):
    return login(client, admin)


@pytest.fixture
def foreign_lead(other_rep):
    return LeadFactory(owner=other_rep, company="Ajena SL", first_name="Ana", last_name="Ajena")


@pytest.fixture
def reason():
    return DisqualifyReason.objects.get(name="Sin presupuesto")


def lead_form(**overrides):
    data = {
        "first_name": "Lucía",
        "last_name": "García",
        "company": "Talleres Pérez SL",
        "email": "Lucia@TalleresPerez.es",
        "phone": "612 34 56 78",
        "nif": "B12345674",
        "province": "28",
        "city": "Madrid",
        "score": "40",
    }
    data.update(overrides)
    return data


# -- list --


def test_pages_need_a_login(client):
    response = client.get(reverse("lead-list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_list_shows_only_visible_leads(rep_client, rep, foreign_lead):
    LeadFactory(owner=rep, first_name="Mía", company="Propia SL")

    response = rep_client.get(reverse("lead-list"))

    assert response.status_code == 200
    assert [lead.company for lead in response.context["page"].object_list] == ["Propia SL"]
    assert "Ajena SL" not in response.content.decode()


def test_list_filters_by_status_and_search_with_htmx_fragment(rep_client, rep):
    LeadFactory(owner=rep, company="Ferretería Muñoz SL", status=LeadStatus.CONTACTED)
    LeadFactory(owner=rep, company="Muñoz Hermanos SL", status=LeadStatus.NEW)
    LeadFactory(owner=rep, company="Otra SL", status=LeadStatus.CONTACTED)

    response = rep_client.get(
        reverse("lead-list"), {"q": "munoz", "status": "contacted"}, HTTP_HX_REQUEST="true"
    )

    body = response.content.decode()
    assert body.lstrip().startswith('<div id="results">')
    assert [lead.company for lead in response.context["page"].object_list] == [
        "Ferretería Muñoz SL"
    ]


def test_list_filters_open_and_unassigned(client, manager, rep):
    login(client, manager)
    LeadFactory(owner=rep, company="Abierta SL")
    LeadFactory(owner=None, company="Sin dueño SL")
    LeadFactory(owner=rep, company="Convertida SL", status=LeadStatus.CONVERTED)

    open_only = client.get(reverse("lead-list"), {"open": "true", "sort": "company"})
    unassigned = client.get(reverse("lead-list"), {"unassigned": "true"})

    assert [x.company for x in open_only.context["page"].object_list] == [
        "Abierta SL",
        "Sin dueño SL",
    ]
    assert [x.company for x in unassigned.context["page"].object_list] == ["Sin dueño SL"]


def test_list_query_count_does_not_grow_with_rows(rep_client, rep, django_assert_max_num_queries):
    LeadFactory.create_batch(3, owner=rep, channel=Channel.objects.get_or_create(name="Feria")[0])
    rep_client.get(reverse("lead-list"))
    LeadFactory.create_batch(20, owner=rep)

    with django_assert_max_num_queries(20):
        response = rep_client.get(reverse("lead-list"))
    assert len(response.context["page"].object_list) == 23


def test_export_csv_neutralises_formulas_and_keeps_the_filter(rep_client, rep, foreign_lead):
    LeadFactory(owner=rep, company='=HYPERLINK("x")', first_name="Eva")
    LeadFactory(owner=rep, company="Otra SL", status=LeadStatus.QUALIFIED)

    response = rep_client.get(reverse("lead-export", args=["csv"]), {"status": "new"})

    content = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content), delimiter=";"))
    assert len(rows) == 2
    assert rows[1][2] == '\'=HYPERLINK("x")'
    assert "Ajena SL" not in content


def test_export_unknown_format_is_404(rep_client):
    assert rep_client.get(reverse("lead-export", args=["pdf"])).status_code == 404


# -- create / edit --


def test_create_lead_by_hand_is_normalised_and_owned(rep_client, rep):
    response = rep_client.post(reverse("lead-create"), lead_form(owner=rep.pk))

    lead = Lead.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("lead-detail", args=[lead.pk])
    assert lead.email == "lucia@talleresperez.es"
    assert lead.phone == "+34612345678"
    assert lead.owner == rep
    assert lead.created_by == rep
    assert lead.score == 40


def test_create_without_owner_follows_the_assignment_rules(rep_client, rep):
    rule = AssignmentRuleFactory(name="Madrid", provinces=["28"], target_user=rep)

    rep_client.post(reverse("lead-create"), lead_form(owner=""))

    lead = Lead.objects.get()
    assert lead.owner == rep
    assert lead.assignment_rule == rule
    page = rep_client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    assert "Madrid" in page


def test_create_offers_automatic_owner(rep_client):
    body = rep_client.get(reverse("lead-create")).content.decode()

    assert ">Automatic (assignment rules)</option>" in body


@pytest.mark.parametrize(
    ("field", "value"), [("nif", "B12345678"), ("phone", "12345"), ("score", "140")]
)
def test_invalid_field_is_reported_beside_it(rep_client, rep, field, value):
    response = rep_client.post(reverse("lead-create"), lead_form(owner=rep.pk, **{field: value}))

    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert f'id="id_{field}_error"' in response.content.decode()
    assert Lead.objects.count() == 0


def test_lead_without_any_name_is_refused(rep_client, rep):
    response = rep_client.post(
        reverse("lead-create"), lead_form(owner=rep.pk, first_name="", last_name="", company="")
    )

    assert response.status_code == 200
    assert response.context["form"].errors["first_name"]
    assert Lead.objects.count() == 0


def test_duplicate_asks_for_confirmation_then_creates(rep_client, rep):
    LeadFactory(owner=rep, email="lucia@talleresperez.es", company="Ya Existe SL")
    AccountFactory(owner=rep, nif="B12345674", name="Cuenta Existente SL")

    response = rep_client.post(reverse("lead-create"), lead_form(owner=rep.pk))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Ya Existe SL" in body
    assert "Cuenta Existente SL" in body
    assert Lead.objects.count() == 1

    response = rep_client.post(
        reverse("lead-create"), lead_form(owner=rep.pk, allow_duplicates="on")
    )
    assert response.status_code == 302
    assert Lead.objects.count() == 2


def test_duplicate_warning_does_not_reveal_a_foreign_lead(rep_client, rep, foreign_lead):
    Lead.objects.filter(pk=foreign_lead.pk).update(email="lucia@talleresperez.es")

    response = rep_client.post(reverse("lead-create"), lead_form(owner=rep.pk))

    assert response.context["duplicates"].leads == []
    assert response.context["duplicates"].hidden == 1
    assert "Ajena SL" not in response.content.decode()


def test_sales_rep_cannot_give_a_lead_to_someone_else(rep_client, other_rep):
    response = rep_client.post(reverse("lead-create"), lead_form(owner=other_rep.pk))

    assert response.status_code == 200
    assert "owner" in response.context["form"].errors
    assert Lead.objects.count() == 0


def test_update_records_who_changed_what(rep_client, rep):
    lead = LeadFactory(owner=rep, company="Viejo SL", first_name="Lucía", last_name="García")

    response = rep_client.post(
        reverse("lead-update", args=[lead.pk]),
        lead_form(owner=rep.pk, company="Nuevo SL", nif="", phone=""),
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.company == "Nuevo SL"
    event = lead.events.get(kind="updated")
    assert event.actor == rep
    assert event.changes["company"] == ["Viejo SL", "Nuevo SL"]
    page = rep_client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    assert "Viejo SL" in page
    assert "Nuevo SL" in page


# -- detail, status, note, delete --


def test_detail_shows_the_origin_line(rep_client, rep):
    lead = LeadFactory(owner=rep, created_by=rep)

    body = rep_client.get(reverse("lead-detail", args=[lead.pk])).content.decode()

    assert f"Created by {rep}" in body
    assert 'id="timeline-origin"' in body


def test_status_change_inline_returns_the_fragment(rep_client, rep):
    lead = LeadFactory(owner=rep)

    response = rep_client.post(
        reverse("lead-status", args=[lead.pk]), {"status": "contacted"}, HTTP_HX_REQUEST="true"
    )

    body = response.content.decode()
    assert body.lstrip().startswith('<form id="status-form"')
    assert 'id="timeline-block" aria-labelledby="timeline-title" hx-swap-oob="true"' in body
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED
    assert lead.events.get().kind == "status"


def test_disqualifying_needs_a_reason(rep_client, rep, reason):
    lead = LeadFactory(owner=rep)

    response = rep_client.post(
        reverse("lead-status", args=[lead.pk]), {"status": "disqualified"}, HTTP_HX_REQUEST="true"
    )
    assert 'role="alert"' in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW

    rep_client.post(
        reverse("lead-status", args=[lead.pk]),
        {"status": "disqualified", "reason": reason.pk, "note": "No hay dinero"},
    )
    lead.refresh_from_db()
    assert lead.status == LeadStatus.DISQUALIFIED
    assert lead.disqualify_reason == reason
    assert lead.events.get().body == "No hay dinero"


def test_note_is_added_to_the_timeline(rep_client, rep):
    lead = LeadFactory(owner=rep)

    response = rep_client.post(
        reverse("lead-note", args=[lead.pk]), {"body": "Llamar el lunes"}, HTTP_HX_REQUEST="true"
    )

    assert "Llamar el lunes" in response.content.decode()
    assert lead.events.get(kind="note").body == "Llamar el lunes"


def test_empty_note_is_refused_beside_the_field(rep_client, rep):
    lead = LeadFactory(owner=rep)

    response = rep_client.post(
        reverse("lead-note", args=[lead.pk]), {"body": "  "}, HTTP_HX_REQUEST="true"
    )

    assert 'id="id_body_error"' in response.content.decode()
    assert not lead.events.exists()


def test_delete_asks_then_deletes(rep_client, rep):
    lead = LeadFactory(owner=rep)

    assert rep_client.get(reverse("lead-delete", args=[lead.pk])).status_code == 200
    response = rep_client.post(reverse("lead-delete", args=[lead.pk]))

    assert response["Location"] == reverse("lead-list")
    assert not Lead.objects.exists()


def test_manager_sees_a_team_lead_but_a_rep_cannot_delete_an_unowned_one(client, rep, manager):
    lead = LeadFactory(owner=None, team=rep.team)
    login(client, manager)

    assert client.post(reverse("lead-delete", args=[lead.pk])).status_code == 302
    assert not Lead.objects.exists()


FOREIGN_LEAD_URLS = [
    ("get", "lead-detail"),
    ("get", "lead-update"),
    ("post", "lead-update"),
    ("get", "lead-delete"),
    ("post", "lead-delete"),
    ("post", "lead-status"),
    ("post", "lead-note"),
    ("get", "lead-convert"),
    ("post", "lead-convert"),
]


@pytest.mark.parametrize(("method", "name"), FOREIGN_LEAD_URLS)
def test_foreign_lead_answers_404_everywhere(rep_client, foreign_lead, method, name):
    response = getattr(rep_client, method)(
        reverse(name, args=[foreign_lead.pk]),
        {"company": "Robada", "status": "contacted", "body": "x", "first_name": "X"},
    )

    assert response.status_code == 404
    foreign_lead.refresh_from_db()
    assert foreign_lead.company == "Ajena SL"
    assert foreign_lead.status == LeadStatus.NEW
    assert not LeadEvent.objects.exists()
    assert Account.objects.count() == 0


# -- bulk --


def test_bulk_assign_counts_changed_and_refused(client, manager, rep, other_rep):
    login(client, manager)
    mine = LeadFactory(owner=manager)
    teams = LeadFactory(owner=rep)
    converted = LeadFactory(owner=rep, status=LeadStatus.CONVERTED)
    foreign = LeadFactory(owner=other_rep)

    response = client.post(
        reverse("lead-bulk"),
        {
            "action": "assign",
            "owner": rep.pk,
            "ids": [mine.pk, teams.pk, converted.pk, foreign.pk],
            "querystring": "status=new&next=https://evil.example",
        },
        follow=True,
    )

    mine.refresh_from_db()
    foreign.refresh_from_db()
    assert mine.owner == rep
    assert foreign.owner == other_rep
    messages = [str(m) for m in response.context["messages"]]
    assert messages == ["1 lead changed. 1 was refused (converted, or not yours to change)."]
    assert response.redirect_chain[-1][0].startswith(reverse("lead-list") + "?status=new")


def test_bulk_assign_to_someone_the_rep_cannot_give_to_changes_nothing(rep_client, rep, other_rep):
    lead = LeadFactory(owner=rep)

    response = rep_client.post(
        reverse("lead-bulk"), {"action": "assign", "owner": other_rep.pk, "ids": [lead.pk]}
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == rep


def test_bulk_disqualify_needs_a_reason_then_applies(rep_client, rep, reason):
    leads = LeadFactory.create_batch(2, owner=rep)
    ids = [lead.pk for lead in leads]

    rep_client.post(
        reverse("lead-bulk"), {"action": "status", "status": "disqualified", "ids": ids}
    )
    assert Lead.objects.filter(status="disqualified").count() == 0

    rep_client.post(
        reverse("lead-bulk"),
        {"action": "status", "status": "disqualified", "reason": reason.pk, "ids": ids},
    )
    assert Lead.objects.filter(status="disqualified", disqualify_reason=reason).count() == 2


def test_bulk_delete_asks_for_confirmation_and_skips_foreign(rep_client, rep, foreign_lead):
    lead = LeadFactory(owner=rep)
    ids = [lead.pk, foreign_lead.pk]

    response = rep_client.post(reverse("lead-bulk"), {"action": "delete", "ids": ids})
    assert response.status_code == 200
    assert response.context["count"] == 1
    assert Lead.objects.count() == 2

    rep_client.post(reverse("lead-bulk"), {"action": "delete", "ids": ids, "confirm": "on"})
    assert list(Lead.objects.all()) == [foreign_lead]


# -- conversion --


def test_convert_into_new_account_contact_and_opportunity(rep_client, rep):
    lead = LeadFactory(
        owner=rep, first_name="Lucía", last_name="García", company="Talleres Pérez SL", nif=""
    )
    LeadEvent.objects.create(lead=lead, kind="note", actor=rep, body="Interesada en 20 cajas")

    response = rep_client.post(
        reverse("lead-convert", args=[lead.pk]),
        {
            "account": "",
            "create_contact": "on",
            "create_opportunity": "on",
            "opportunity_title": "20 cajas",
            "opportunity_amount": "1.234,56",
            "expected_close_date": "2026-12-31",
        },
    )

    account = Account.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("account-detail", args=[account.pk])
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert lead.converted_account == account
    assert lead.converted_contact == Contact.objects.get()
    opportunity = Opportunity.objects.get()
    assert opportunity.amount == Decimal("1234.56")
    assert opportunity.title == "20 cajas"
    assert lead.converted_opportunity == opportunity
    kinds = list(
        AccountEvent.objects.filter(account=account)
        .order_by("created_at", "id")
        .values_list("kind", flat=True)
    )
    assert kinds.count("lead_history") == 2
    assert "lead_converted" in kinds
    page = rep_client.get(reverse("account-detail", args=[account.pk])).content.decode()
    assert "Interesada en 20 cajas" in page


def test_convert_attaches_to_an_account_found_by_nif(rep_client, rep):
    account = AccountFactory(owner=rep, nif="B12345674", name="Existente SL")
    lead = LeadFactory(owner=rep, nif="B12345674", first_name="", last_name="", company="X SL")

    page = rep_client.get(reverse("lead-convert", args=[lead.pk])).content.decode()
    assert "Existente SL" in page
    rep_client.post(reverse("lead-convert", args=[lead.pk]), {"account": str(account.pk)})

    lead.refresh_from_db()
    assert Account.objects.count() == 1
    assert lead.converted_account == account
    assert lead.converted_contact is None


def test_convert_refuses_a_bad_amount_beside_the_field(rep_client, rep):
    lead = LeadFactory(owner=rep)

    response = rep_client.post(
        reverse("lead-convert", args=[lead.pk]),
        {"create_opportunity": "on", "opportunity_amount": "mucho"},
    )

    assert response.status_code == 200
    assert 'id="id_opportunity_amount_error"' in response.content.decode()
    assert Account.objects.count() == 0


def test_converted_lead_is_read_only_and_links_to_what_it_became(rep_client, rep):
    lead = LeadFactory(owner=rep, company="Vieja SL")
    rep_client.post(reverse("lead-convert", args=[lead.pk]), {"create_contact": "on"})
    lead.refresh_from_db()

    page = rep_client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    assert 'id="converted-banner"' in page
    assert reverse("account-detail", args=[lead.converted_account_id]) in page
    assert reverse("contact-detail", args=[lead.converted_contact_id]) in page
    assert reverse("lead-update", args=[lead.pk]) not in page
    assert 'id="status-form"' not in page

    update = rep_client.post(reverse("lead-update", args=[lead.pk]), lead_form(company="Nueva"))
    status = rep_client.post(reverse("lead-status", args=[lead.pk]), {"status": "new"})
    again = rep_client.get(reverse("lead-convert", args=[lead.pk]))
    assert update.status_code == status.status_code == again.status_code == 302
    lead.refresh_from_db()
    assert lead.company == "Vieja SL"
    assert lead.status == LeadStatus.CONVERTED
    assert Account.objects.count() == 1


# -- assignment rules and settings --

ADMIN_URLS = [
    ("get", "assignment-rule-list", False),
    ("get", "assignment-rule-create", False),
    ("post", "assignment-rule-create", False),
    ("post", "assignment-rule-try", False),
    ("post", "lead-settings", False),
    ("get", "assignment-rule-update", True),
    ("post", "assignment-rule-update", True),
    ("post", "assignment-rule-delete", True),
    ("post", "assignment-rule-move", True),
    ("get", "web-form-list", False),
    ("get", "web-form-create", False),
]


@pytest.mark.parametrize(("method", "name", "with_rule"), ADMIN_URLS)
@pytest.mark.parametrize("who", ["rep", "manager"])
def test_rule_pages_are_for_administrators(client, request, method, name, with_rule, who):
    login(client, request.getfixturevalue(who))
    rule = AssignmentRuleFactory(name="Intacta")
    args = [rule.pk] if with_rule else []

    response = getattr(client, method)(
        reverse(name, args=args), {"name": "Cambiada", "target": "user", "toggle_active": "1"}
    )

    assert response.status_code == 403
    rule.refresh_from_db()
    assert (rule.name, rule.is_active) == ("Intacta", True)
    assert AssignmentRule.objects.count() == 1


def test_admin_creates_a_rule_with_conditions(admin_client, rep):
    web = Channel.objects.get_or_create(name="Web")[0]

    response = admin_client.post(
        reverse("assignment-rule-create"),
        {
            "name": "Web de Madrid",
            "is_active": "on",
            "channels": [web.pk],
            "provinces": ["28", "45"],
            "size_segments": ["0-2", "3-9"],
            "min_score": "30",
            "product_contains": "software",
            "target": "user",
            "target_user": rep.pk,
        },
    )

    assert response.status_code == 302
    rule = AssignmentRule.objects.get()
    assert list(rule.channels.all()) == [web]
    assert rule.provinces == ["28", "45"]
    assert rule.min_score == 30
    assert rule.size_segments == ["0-2", "3-9"]
    assert rule.target_user == rep
    page = admin_client.get(reverse("assignment-rule-list")).content.decode()
    assert "Web de Madrid" in page
    assert "Toledo" in page


def test_rule_team_target_needs_a_team(admin_client):
    response = admin_client.post(
        reverse("assignment-rule-create"), {"name": "Equipo", "target": "round_robin"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["target_team"]
    assert not AssignmentRule.objects.exists()


def test_rules_move_and_toggle(admin_client):
    first = AssignmentRuleFactory(name="Primera", position=1)
    second = AssignmentRuleFactory(name="Segunda", position=2)

    admin_client.post(reverse("assignment-rule-move", args=[second.pk]), {"direction": "up"})
    admin_client.post(reverse("assignment-rule-update", args=[first.pk]), {"toggle_active": "1"})

    assert list(AssignmentRule.objects.values_list("name", flat=True)) == ["Segunda", "Primera"]
    first.refresh_from_db()
    assert first.is_active is False


def test_try_it_shows_the_rule_that_would_take_the_sample(admin_client, rep):
    AssignmentRuleFactory(name="Valencia", provinces=["46"], target_user=rep)
    LeadSettings.objects.filter(pk=1).update(fallback_owner=None)

    hit = admin_client.post(
        reverse("assignment-rule-try"), {"try-province": "46"}, HTTP_HX_REQUEST="true"
    )
    miss = admin_client.post(
        reverse("assignment-rule-try"), {"try-province": "28"}, HTTP_HX_REQUEST="true"
    )

    assert hit.context["try_result"].rule.name == "Valencia"
    assert hit.context["try_result"].owner == rep
    assert hit.content.decode().lstrip().startswith('<section class="card" id="try-it"')
    assert miss.context["try_result"].rule is None
    assert miss.context["try_result"].owner is None
    assert Lead.objects.count() == 0


def test_fallback_owner_is_saved(admin_client, rep):
    admin_client.post(reverse("lead-settings"), {"fallback_owner": rep.pk})

    assert LeadSettings.objects.get().fallback_owner == rep


def test_inactive_user_cannot_be_fallback_owner(admin_client):
    gone = UserFactory(is_active=False)

    response = admin_client.post(reverse("lead-settings"), {"fallback_owner": gone.pk})

    assert response.status_code == 200
    assert LeadSettings.objects.get().fallback_owner is None


def test_rule_target_is_described_in_words(admin_client, team):
    AssignmentRuleFactory(
        name="Reparto", target=AssignmentTarget.ROUND_ROBIN, target_user=None, target_team=team
    )

    body = admin_client.get(reverse("assignment-rule-list")).content.decode()

    assert team.name in body
    assert "Any lead" in body


def test_lead_the_rules_give_to_someone_else_sends_the_creator_to_the_list(rep_client, other_rep):
    AssignmentRuleFactory(name="Todo a otro", target_user=other_rep)

    response = rep_client.post(reverse("lead-create"), lead_form(owner=""), follow=True)

    lead = Lead.objects.get()
    assert lead.owner == other_rep
    assert response.redirect_chain[-1][0] == reverse("lead-list")
    assert [str(m) for m in response.context["messages"]] == [
        f"Lead {lead} created and given to {other_rep} by the assignment rules."
    ]


def test_empty_score_is_zero(rep_client, rep):
    rep_client.post(reverse("lead-create"), lead_form(owner=rep.pk, score=""))

    assert Lead.objects.get().score == 0
