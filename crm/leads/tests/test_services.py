"""Lead services: create, update, status, bulk actions, conversion and the web form."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from crm.core.models import Channel, Sector
from crm.customers.models import Account, AccountEvent, AccountKind, Contact, EventKind
from crm.customers.services import DuplicatesFound
from crm.customers.tests.factories import AccountFactory, ContactFactory
from crm.leads import services
from crm.leads.models import (
    DisqualifyReason,
    Lead,
    LeadEvent,
    LeadEventKind,
    LeadSettings,
    LeadStatus,
)
from crm.leads.tests.factories import AssignmentRuleFactory, LeadFactory, WebFormFactory
from crm.sales.models import Opportunity
from crm.users.tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _english():
    """English messages, so that texts are stable."""
    with translation.override("en"):
        yield


def _reason() -> DisqualifyReason:
    return DisqualifyReason.objects.get(name="Sin presupuesto")


def _snapshot(lead: Lead) -> dict:
    return Lead.objects.filter(pk=lead.pk).values().get()


def _errors(exc_info) -> dict:
    return exc_info.value.message_dict


# lead_create


def test_lead_create_normalises_every_field(rep):
    # when
    lead = services.lead_create(
        actor=rep,
        fields={
            "first_name": "  Ana ",
            "last_name": " Ruiz",
            "company": " Talleres Ruiz SL ",
            "email": " Ana@Talleres.Example ",
            "phone": "910 12 34 56",
            "mobile": "+34 600-123-456",
            "nif": "b-1234567-4",
            "province": " 46 ",
            "score": "45",
            "owner": rep,
        },
    )
    # then
    lead.refresh_from_db()
    assert (lead.first_name, lead.last_name, lead.company) == ("Ana", "Ruiz", "Talleres Ruiz SL")
    assert (lead.email, lead.phone, lead.mobile, lead.nif) == (
        "ana@talleres.example",
        "+34910123456",
        "+34600123456",
        "B12345674",
    )
    assert (lead.province, lead.score, lead.status) == ("46", 45, LeadStatus.NEW)
    assert (lead.owner, lead.team, lead.created_by, lead.updated_by) == (
        rep,
        rep.team,
        rep,
        rep,
    )
    assert lead.search_text == (
        "ana ruiz talleres ruiz sl ana@talleres.example +34910123456 +34600123456 b12345674"
    )
    assert lead.events.count() == 0


def test_lead_create_collects_every_fields_error(rep):
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.lead_create(
            actor=rep,
            fields={
                "company": "x" * 201,
                "email": "no-es-email",
                "nif": "B12345675",
                "phone": "12",
                "province": "99",
                "score": 101,
            },
        )
    # then
    assert _errors(exc_info) == {
        "company": ["At most 200 characters (it has 201)."],
        "email": ["Enter a valid email address."],
        "nif": ["“B12345675” is not a valid NIF, CIF or NIE."],
        "phone": ["“12” is not a valid phone number."],
        "province": ["Unknown province."],
        "score": ["The score is a whole number from 0 to 100."],
    }
    assert Lead.objects.count() == 0


@pytest.mark.parametrize("score", ["abc", -1, "1e9"])
def test_lead_create_refuses_scores_out_of_0_to_100(rep, score):
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.lead_create(actor=rep, fields={"company": "X", "score": score})
    # then
    assert _errors(exc_info) == {"score": ["The score is a whole number from 0 to 100."]}


def test_lead_create_needs_a_person_or_company_name(rep):
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.lead_create(actor=rep, fields={"first_name": "  ", "email": "a@ejemplo.es"})
    # then
    assert _errors(exc_info) == {"first_name": ["Give the person's name or the company's."]}
    assert Lead.objects.count() == 0


@pytest.mark.parametrize("fields", [{"first_name": "Ana"}, {"last_name": "Ruiz"}, {"company": "X"}])
def test_lead_create_accepts_any_one_name(rep, fields):
    # when
    lead = services.lead_create(actor=rep, fields={**fields, "owner": rep})
    # then
    assert Lead.objects.get() == lead


def test_lead_create_refuses_unknown_fields(rep):
    # when / then
    with pytest.raises(ValueError, match="unknown fields: \\['status'\\]"):
        services.lead_create(actor=rep, fields={"company": "X", "status": "converted"})
    assert Lead.objects.count() == 0


def test_lead_create_finds_duplicate_leads_accounts_and_contacts(rep, other_rep):
    # given
    lead = LeadFactory(owner=rep, nif="B12345674")
    account = AccountFactory(owner=rep, email="compras@ejemplo.es")
    contact = ContactFactory(account=AccountFactory(owner=rep), mobile="+34600123456", email="")
    LeadFactory(owner=other_rep, nif="B12345674")
    LeadFactory(owner=rep, nif="B12345674", status=LeadStatus.CONVERTED)
    # when
    with pytest.raises(DuplicatesFound) as exc_info:
        services.lead_create(
            actor=rep,
            fields={
                "company": "Nueva",
                "nif": "B12345674",
                "email": "Compras@ejemplo.es",
                "phone": "600123456",
            },
        )
    # then
    duplicates = exc_info.value.duplicates
    assert duplicates.leads == [lead]
    assert duplicates.accounts == [account]
    assert duplicates.contacts == [contact]
    assert duplicates.hidden == 1
    assert Lead.objects.filter(company="Nueva").count() == 0


def test_lead_create_with_allow_duplicates_creates_it(rep):
    # given
    LeadFactory(owner=rep, nif="B12345674")
    # when
    lead = services.lead_create(
        actor=rep, fields={"company": "Nueva", "nif": "B12345674"}, allow_duplicates=True
    )
    # then
    assert Lead.objects.filter(nif="B12345674").count() == 2
    assert lead.pk is not None


def test_lead_create_lets_a_rep_own_only_their_leads(rep, manager, other_rep):
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.lead_create(actor=rep, fields={"company": "X", "owner": manager})
    # then
    assert _errors(exc_info) == {"owner": ["You cannot give this record to that user."]}
    assert Lead.objects.count() == 0


def test_lead_create_lets_a_manager_give_it_within_their_teams(manager, rep, other_rep):
    # when
    lead = services.lead_create(actor=manager, fields={"company": "X", "owner": rep})
    with pytest.raises(ValidationError) as exc_info:
        services.lead_create(actor=manager, fields={"company": "Y", "owner": other_rep})
    # then
    assert (lead.owner, lead.team) == (rep, rep.team)
    assert _errors(exc_info) == {"owner": ["You cannot give this record to that user."]}
    assert list(Lead.objects.all()) == [lead]


def test_lead_create_lets_an_admin_give_it_to_anyone_active(admin, other_rep):
    # given
    gone = UserFactory(is_active=False)
    # when
    lead = services.lead_create(actor=admin, fields={"company": "X", "owner": other_rep})
    with pytest.raises(ValidationError) as exc_info:
        services.lead_create(actor=admin, fields={"company": "Y", "owner": gone})
    # then
    assert (lead.owner, lead.team) == (other_rep, other_rep.team)
    assert _errors(exc_info) == {"owner": ["A deactivated user cannot own records."]}
    assert list(Lead.objects.all()) == [lead]


def test_lead_create_without_owner_is_assigned_by_the_first_matching_rule(rep, manager):
    # given
    madrid = AssignmentRuleFactory(target_user=rep, provinces=["28"])
    valencia = AssignmentRuleFactory(target_user=manager, provinces=["46"])
    # when
    lead = services.lead_create(actor=rep, fields={"company": "X", "province": "46"})
    # then
    lead.refresh_from_db()
    assert (lead.owner, lead.team, lead.assignment_rule) == (manager, manager.team, valencia)
    assert madrid.leads.count() == 0


def test_lead_create_without_owner_and_no_matching_rule_goes_to_the_fallback(rep, manager):
    # given
    AssignmentRuleFactory(target_user=rep, provinces=["28"])
    LeadSettings.objects.filter(pk=1).update(fallback_owner=manager)
    # when
    lead = services.lead_create(actor=rep, fields={"company": "X", "province": "46"})
    # then
    assert (lead.owner, lead.team, lead.assignment_rule) == (manager, manager.team, None)


def test_lead_create_without_owner_rule_or_fallback_stays_unassigned(rep):
    # when
    lead = services.lead_create(actor=rep, fields={"company": "X"})
    # then
    lead.refresh_from_db()
    assert (lead.owner, lead.team, lead.assignment_rule) == (None, None, None)


# lead_update


def test_lead_update_records_who_changed_what(rep):
    # given
    web = Channel.objects.get(name="Web")
    lead = LeadFactory(owner=rep, company="Vieja", city="Valencia", score=10)
    # when
    services.lead_update(
        actor=rep,
        lead=lead,
        fields={"company": " Nueva ", "city": "Valencia", "score": 20, "channel": web},
    )
    # then
    lead.refresh_from_db()
    assert (lead.company, lead.score, lead.channel, lead.updated_by) == ("Nueva", 20, web, rep)
    assert "nueva" in lead.search_text
    event = lead.events.get()
    assert (event.kind, event.actor, event.changes) == (
        LeadEventKind.UPDATED,
        rep,
        {"company": ["Vieja", "Nueva"], "score": ["10", "20"], "channel": ["", "Web"]},
    )


def test_lead_update_without_changes_writes_nothing(rep):
    # given
    lead = LeadFactory(owner=rep, company="Igual")
    before = _snapshot(lead)
    # when
    services.lead_update(actor=rep, lead=lead, fields={"company": "Igual "})
    # then
    assert _snapshot(lead) == before
    assert LeadEvent.objects.count() == 0


def test_lead_update_refuses_removing_every_name(rep):
    # given
    lead = LeadFactory(owner=rep, first_name="", last_name="", company="Solo empresa")
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.lead_update(actor=rep, lead=lead, fields={"company": ""})
    # then
    assert _errors(exc_info) == {"first_name": ["Give the person's name or the company's."]}
    assert Lead.objects.get().company == "Solo empresa"
    assert LeadEvent.objects.count() == 0


def test_lead_update_refuses_a_converted_lead(rep):
    # given
    lead = LeadFactory(owner=rep, status=LeadStatus.CONVERTED)
    before = _snapshot(lead)
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.lead_update(actor=rep, lead=lead, fields={"company": "Otra"})
    # then
    assert exc_info.value.messages == ["A converted lead cannot be changed."]
    assert _snapshot(lead) == before


def test_lead_update_owner_change_is_an_assignment_the_team_follows(manager, rep):
    # given
    lead = LeadFactory(owner=None)
    # when
    services.lead_update(actor=manager, lead=lead, fields={"owner": rep})
    # then
    lead.refresh_from_db()
    assert (lead.owner, lead.team) == (rep, rep.team)
    event = lead.events.get()
    assert (event.kind, event.changes) == (LeadEventKind.ASSIGNED, {"owner": ["", str(rep)]})


def test_lead_update_refuses_a_rep_giving_away_their_lead(rep, manager):
    # given
    lead = LeadFactory(owner=rep)
    before = _snapshot(lead)
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.lead_update(actor=rep, lead=lead, fields={"owner": manager})
    # then
    assert _errors(exc_info) == {"owner": ["You cannot give this record to that user."]}
    assert _snapshot(lead) == before


def test_lead_update_refuses_removing_the_owner(rep):
    # given
    lead = LeadFactory(owner=rep)
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.lead_update(actor=rep, lead=lead, fields={"owner": None})
    # then
    assert _errors(exc_info) == {"owner": ["Choose who owns the lead."]}
    assert Lead.objects.get().owner == rep


def test_lead_update_refuses_a_manager_reassigning_another_teams_lead(manager, other_rep):
    # given
    lead = LeadFactory(owner=other_rep)
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.lead_update(actor=manager, lead=lead, fields={"owner": manager})
    # then
    assert _errors(exc_info) == {"owner": ["Only its owner or their manager can reassign it."]}
    assert Lead.objects.get().owner == other_rep


# lead_change_status


def test_lead_change_status_records_the_move_and_its_note(rep):
    # given
    lead = LeadFactory(owner=rep)
    # when
    services.lead_change_status(actor=rep, lead=lead, status="qualified", note=" Buena pinta ")
    # then
    lead.refresh_from_db()
    assert (lead.status, lead.updated_by) == (LeadStatus.QUALIFIED, rep)
    event = lead.events.get()
    assert (event.kind, event.body, event.changes) == (
        LeadEventKind.STATUS,
        "Buena pinta",
        {"status": ["New", "Qualified"]},
    )


def test_lead_change_status_disqualifying_needs_a_reason(rep):
    # given
    lead = LeadFactory(owner=rep)
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.lead_change_status(actor=rep, lead=lead, status="disqualified")
    # then
    assert _errors(exc_info) == {"reason": ["Say why the lead is disqualified."]}
    assert Lead.objects.get().status == LeadStatus.NEW
    assert LeadEvent.objects.count() == 0


def test_lead_change_status_reopening_clears_the_reason(rep):
    # given
    lead = LeadFactory(owner=rep)
    services.lead_change_status(actor=rep, lead=lead, status="disqualified", reason=_reason())
    # when
    services.lead_change_status(actor=rep, lead=lead, status="contacted", reason=_reason())
    # then
    lead.refresh_from_db()
    assert (lead.status, lead.disqualify_reason) == (LeadStatus.CONTACTED, None)
    assert list(lead.events.order_by("id").values_list("changes", flat=True)) == [
        {"status": ["New", "Disqualified"], "disqualify_reason": ["", "Sin presupuesto"]},
        {"status": ["Disqualified", "Contacted"], "disqualify_reason": ["Sin presupuesto", ""]},
    ]


@pytest.mark.parametrize("status", ["converted", "zombie"])
def test_lead_change_status_refuses_converted_and_unknown(rep, status):
    # given
    lead = LeadFactory(owner=rep)
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.lead_change_status(actor=rep, lead=lead, status=status)
    # then
    assert _errors(exc_info) == {"status": ["Choose new, contacted, qualified or disqualified."]}
    assert Lead.objects.get().status == LeadStatus.NEW


def test_lead_change_status_refuses_a_converted_lead(rep):
    # given
    lead = LeadFactory(owner=rep, status=LeadStatus.CONVERTED)
    # when
    with pytest.raises(ValidationError):
        services.lead_change_status(actor=rep, lead=lead, status="new")
    # then
    assert Lead.objects.get().status == LeadStatus.CONVERTED


def test_lead_change_status_to_the_same_status_writes_nothing(rep):
    # given
    lead = LeadFactory(owner=rep, status=LeadStatus.CONTACTED)
    # when
    services.lead_change_status(actor=rep, lead=lead, status="contacted")
    # then
    assert LeadEvent.objects.count() == 0


# Bulk actions


def test_lead_bulk_assign_counts_changed_and_refused(manager, rep, other_rep):
    # given
    team_lead = LeadFactory(owner=manager)
    already = LeadFactory(owner=rep)
    converted = LeadFactory(owner=manager, status=LeadStatus.CONVERTED)
    foreign = LeadFactory(owner=other_rep)
    # when
    result = services.lead_bulk_assign(actor=manager, leads=Lead.objects.all(), owner=rep)
    # then
    assert (result.changed, result.refused) == (1, 2)
    assert [lead.owner for lead in Lead.objects.order_by("pk")] == [rep, rep, manager, other_rep]
    assert team_lead.events.get().kind == LeadEventKind.ASSIGNED
    assert already.events.count() == converted.events.count() == foreign.events.count() == 0


def test_lead_bulk_assign_refuses_an_owner_the_actor_cannot_give_to(rep, manager):
    # given
    lead = LeadFactory(owner=rep)
    # when
    with pytest.raises(ValidationError):
        services.lead_bulk_assign(actor=rep, leads=Lead.objects.all(), owner=manager)
    # then
    assert Lead.objects.get(pk=lead.pk).owner == rep


def test_lead_bulk_change_status_refuses_converted_leads(rep):
    # given
    LeadFactory.create_batch(2, owner=rep)
    LeadFactory(owner=rep, status=LeadStatus.CONTACTED)
    LeadFactory(owner=rep, status=LeadStatus.CONVERTED)
    # when
    result = services.lead_bulk_change_status(
        actor=rep, leads=Lead.objects.all(), status="contacted"
    )
    # then
    assert (result.changed, result.refused) == (2, 1)
    assert sorted(Lead.objects.values_list("status", flat=True)) == [
        "contacted",
        "contacted",
        "contacted",
        "converted",
    ]


def test_lead_bulk_change_status_is_all_or_nothing(rep, monkeypatch):
    # given
    leads = LeadFactory.create_batch(3, owner=rep)
    real = services.lead_change_status
    calls = []

    def failing_on_the_second(**kwargs):
        calls.append(kwargs["lead"].pk)
        if len(calls) == 2:
            raise ValidationError("boom")
        return real(**kwargs)

    monkeypatch.setattr(services, "lead_change_status", failing_on_the_second)
    # when
    with pytest.raises(ValidationError):
        services.lead_bulk_change_status(
            actor=rep, leads=Lead.objects.filter(pk__in=[x.pk for x in leads]), status="qualified"
        )
    # then
    assert len(calls) == 2
    assert set(Lead.objects.values_list("status", flat=True)) == {"new"}
    assert LeadEvent.objects.count() == 0


def test_lead_bulk_assign_is_all_or_nothing(admin, rep, monkeypatch):
    # given
    LeadFactory.create_batch(3, owner=admin)
    real = services.lead_update
    calls = []

    def failing_on_the_third(**kwargs):
        calls.append(kwargs["lead"].pk)
        if len(calls) == 3:
            raise ValidationError("boom")
        return real(**kwargs)

    monkeypatch.setattr(services, "lead_update", failing_on_the_third)
    # when
    with pytest.raises(ValidationError):
        services.lead_bulk_assign(actor=admin, leads=Lead.objects.all(), owner=rep)
    # then
    assert set(Lead.objects.values_list("owner", flat=True)) == {admin.pk}
    assert LeadEvent.objects.count() == 0


def test_lead_bulk_delete_deletes_only_what_the_actor_may(rep, other_rep):
    # given
    mine = LeadFactory(owner=rep)
    foreign = LeadFactory(owner=other_rep)
    # when
    result = services.lead_bulk_delete(actor=rep, leads=Lead.objects.all())
    # then
    assert (result.changed, result.refused) == (1, 1)
    assert list(Lead.objects.all()) == [foreign]
    assert not Lead.objects.filter(pk=mine.pk).exists()


def test_lead_delete_refuses_who_may_not(rep, other_rep):
    # given
    lead = LeadFactory(owner=other_rep)
    # when
    with pytest.raises(PermissionDenied):
        services.lead_delete(actor=rep, lead=lead)
    # then
    assert Lead.objects.filter(pk=lead.pk).exists()


# lead_convert


def _history_lead(rep) -> Lead:
    """A lead with a timeline of two events written at known past times."""
    web = Channel.objects.get(name="Web")
    trade = Sector.objects.get(name="Comercio")
    lead = LeadFactory(
        first_name="Ana",
        last_name="Ruiz",
        company="Talleres Ruiz SL",
        position="Gerente",
        email="ana@talleres.example",
        phone="+34910123456",
        mobile="+34600123456",
        nif="B12345674",
        province="46",
        city="Valencia",
        sector=trade,
        size_segment="3-9",
        channel=web,
        products_of_interest="Tornillería",
        notes="Vino a la feria",
        owner=rep,
        created_by=rep,
        status=LeadStatus.QUALIFIED,
    )
    start = timezone.now() - timedelta(days=10)
    Lead.objects.filter(pk=lead.pk).update(created_at=start)
    lead.refresh_from_db()
    note = LeadEvent.objects.create(lead=lead, kind=LeadEventKind.NOTE, actor=rep, body="Llamar")
    status = LeadEvent.objects.create(
        lead=lead, kind=LeadEventKind.STATUS, actor=rep, changes={"status": ["New", "Qualified"]}
    )
    LeadEvent.objects.filter(pk=note.pk).update(created_at=start + timedelta(days=1))
    LeadEvent.objects.filter(pk=status.pk).update(created_at=start + timedelta(days=2))
    return lead


def test_lead_convert_creates_an_account_with_the_leads_data(rep):
    # given
    lead = _history_lead(rep)
    # when
    conversion = services.lead_convert(actor=rep, lead=lead)
    # then
    account = Account.objects.get()
    assert conversion.account == account
    assert (account.kind, account.name, account.nif, account.email, account.phone) == (
        AccountKind.COMPANY,
        "Talleres Ruiz SL",
        "B12345674",
        "ana@talleres.example",
        "+34910123456",
    )
    assert (account.billing_city, account.billing_province, account.size_segment) == (
        "Valencia",
        "46",
        "3-9",
    )
    assert (account.sector, account.channel, account.owner, account.team, account.notes) == (
        lead.sector,
        lead.channel,
        rep,
        rep.team,
        "Vino a la feria",
    )
    contact = Contact.objects.get()
    assert conversion.contact == contact
    assert (contact.account, contact.first_name, contact.last_name, contact.position) == (
        account,
        "Ana",
        "Ruiz",
        "Gerente",
    )
    assert (contact.email, contact.phone, contact.mobile) == (
        "ana@talleres.example",
        "+34910123456",
        "+34600123456",
    )
    assert conversion.opportunity is None
    assert Opportunity.objects.count() == 0


def test_lead_convert_of_a_person_makes_an_individual_account(rep):
    # given
    lead = LeadFactory(first_name="Ana", last_name="Ruiz", company="", owner=rep)
    # when
    conversion = services.lead_convert(actor=rep, lead=lead)
    # then
    assert (conversion.account.kind, conversion.account.name) == (
        AccountKind.INDIVIDUAL,
        "Ana Ruiz",
    )
    assert conversion.contact.first_name == "Ana"


def test_lead_convert_of_a_company_only_lead_creates_no_contact(rep):
    # given
    lead = LeadFactory(first_name="", last_name="", company="Solo Empresa SL", owner=rep)
    # when
    conversion = services.lead_convert(actor=rep, lead=lead, create_contact=True)
    # then
    assert conversion.contact is None
    assert Contact.objects.count() == 0


def test_lead_convert_without_contact_when_asked(rep):
    # given
    lead = LeadFactory(owner=rep)
    # when
    conversion = services.lead_convert(actor=rep, lead=lead, create_contact=False)
    # then
    assert conversion.contact is None
    assert Contact.objects.count() == 0


def test_lead_convert_with_a_last_name_only_makes_it_the_contacts_first_name(rep):
    # given
    lead = LeadFactory(first_name="", last_name="Ruiz", owner=rep)
    # when
    conversion = services.lead_convert(actor=rep, lead=lead)
    # then
    assert (conversion.contact.first_name, conversion.contact.last_name) == ("Ruiz", "")


def test_lead_convert_with_an_opportunity(rep):
    # given
    lead = _history_lead(rep)
    # when
    conversion = services.lead_convert(
        actor=rep,
        lead=lead,
        create_opportunity=True,
        opportunity_title=" Flota ",
        opportunity_amount=Decimal("1234.50"),
        expected_close_date=date(2026, 12, 31),
    )
    # then
    opportunity = Opportunity.objects.get()
    assert conversion.opportunity == opportunity
    assert (opportunity.title, opportunity.amount, opportunity.expected_close_date) == (
        "Flota",
        Decimal("1234.50"),
        date(2026, 12, 31),
    )
    assert (opportunity.account, opportunity.contact, opportunity.owner, opportunity.team) == (
        conversion.account,
        conversion.contact,
        rep,
        rep.team,
    )
    assert (opportunity.channel, opportunity.products_of_interest, opportunity.created_by) == (
        lead.channel,
        "Tornillería",
        rep,
    )


def test_lead_convert_opportunity_title_defaults(rep):
    # given
    with_products = LeadFactory(owner=rep, products_of_interest="Alarmas")
    without = LeadFactory(owner=rep, company="Bar Pepe", products_of_interest="")
    # when
    first = services.lead_convert(actor=rep, lead=with_products, create_opportunity=True)
    second = services.lead_convert(actor=rep, lead=without, create_opportunity=True)
    # then
    assert first.opportunity.title == "Alarmas"
    assert second.opportunity.title == "Deal with Bar Pepe"
    assert second.opportunity.amount is None


def test_lead_convert_refuses_a_negative_amount_and_writes_nothing(rep):
    # given
    lead = LeadFactory(owner=rep)
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.lead_convert(
            actor=rep, lead=lead, create_opportunity=True, opportunity_amount=Decimal("-1")
        )
    # then
    assert "amount" in _errors(exc_info)
    assert Account.objects.count() == Contact.objects.count() == Opportunity.objects.count() == 0
    assert Lead.objects.get().status == LeadStatus.NEW


def test_lead_convert_copies_the_history_to_the_account_in_order(rep, manager):
    # given
    lead = _history_lead(rep)
    start = lead.created_at
    # when
    conversion = services.lead_convert(actor=manager, lead=lead)
    # then
    rows = list(
        AccountEvent.objects.filter(account=conversion.account)
        .exclude(kind__in=[EventKind.CREATED, EventKind.CONTACT_CREATED])
        .order_by("created_at", "id")
        .values_list("kind", "actor", "created_at", "body", "changes", "contact")
    )
    assert rows[:3] == [
        (EventKind.LEAD_HISTORY, rep.pk, start, "Lead created", {}, None),
        (EventKind.LEAD_HISTORY, rep.pk, start + timedelta(days=1), "Note: Llamar", {}, None),
        (
            EventKind.LEAD_HISTORY,
            rep.pk,
            start + timedelta(days=2),
            "Status changed",
            {"status": ["New", "Qualified"]},
            None,
        ),
    ]
    kind, actor, _at, body, _changes, contact = rows[3]
    assert (kind, actor, body, contact) == (
        EventKind.LEAD_CONVERTED,
        manager.pk,
        "Ana Ruiz (Talleres Ruiz SL)",
        conversion.contact.pk,
    )
    assert len(rows) == 4


def test_lead_convert_leaves_the_lead_read_only_and_linked(rep):
    # given
    lead = _history_lead(rep)
    # when
    conversion = services.lead_convert(actor=rep, lead=lead)
    # then
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert (lead.converted_account, lead.converted_contact, lead.converted_opportunity) == (
        conversion.account,
        conversion.contact,
        None,
    )
    assert lead.converted_at is not None
    assert (lead.first_name, lead.company, lead.updated_by) == ("Ana", "Talleres Ruiz SL", rep)
    event = lead.events.get(kind=LeadEventKind.CONVERTED)
    assert (event.actor, event.body) == (rep, "Talleres Ruiz SL")
    with pytest.raises(ValidationError):
        services.lead_update(actor=rep, lead=lead, fields={"company": "Otra"})


def test_lead_convert_a_second_time_is_refused(rep):
    # given
    lead = LeadFactory(owner=rep)
    services.lead_convert(actor=rep, lead=lead)
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.lead_convert(actor=rep, lead=lead)
    # then
    assert exc_info.value.messages == ["This lead has already been converted."]
    assert Account.objects.count() == 1


def test_lead_convert_refuses_a_disqualified_lead(rep):
    # given
    lead = LeadFactory(owner=rep, status=LeadStatus.DISQUALIFIED, disqualify_reason=_reason())
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.lead_convert(actor=rep, lead=lead)
    # then
    assert exc_info.value.messages == ["A disqualified lead cannot be converted; reopen it first."]
    assert Account.objects.count() == 0
    assert Lead.objects.get().status == LeadStatus.DISQUALIFIED


def test_lead_convert_attaches_it_to_an_existing_visible_account(rep):
    # given
    account = AccountFactory(name="Existente SL", owner=rep)
    lead = LeadFactory(first_name="Ana", last_name="Ruiz", owner=rep)
    # when
    conversion = services.lead_convert(actor=rep, lead=lead, account=account)
    # then
    assert Account.objects.count() == 1
    assert conversion.account == account
    assert conversion.contact.account == account
    lead.refresh_from_db()
    assert lead.converted_account == account
    assert account.events.filter(kind=EventKind.LEAD_CONVERTED).count() == 1


def test_lead_convert_refuses_a_foreign_account(rep, other_rep):
    # given
    foreign = AccountFactory(owner=other_rep)
    lead = LeadFactory(owner=rep)
    before = _snapshot(lead)
    # when
    with pytest.raises(PermissionDenied):
        services.lead_convert(actor=rep, lead=lead, account=foreign)
    # then
    assert _snapshot(lead) == before
    assert Contact.objects.count() == 0
    assert AccountEvent.objects.count() == 0


def test_lead_convert_of_an_unassigned_lead_gives_the_account_to_the_actor(manager):
    # given
    lead = LeadFactory(owner=None)
    # when
    conversion = services.lead_convert(actor=manager, lead=lead)
    # then
    assert conversion.account.owner == manager


def test_lead_convert_of_a_deactivated_owners_lead_gives_it_to_the_actor(admin):
    # given
    gone = UserFactory(is_active=False)
    lead = LeadFactory(owner=gone)
    # when
    conversion = services.lead_convert(actor=admin, lead=lead)
    # then
    assert conversion.account.owner == admin


# web_form_submit


def test_web_form_submit_takes_only_the_shown_fields(rep):
    # given
    form = WebFormFactory(
        fields=["phone", "message"], channel=Channel.objects.get(name="Web"), campaign="Web 2026"
    )
    data = {
        "first_name": " Ana ",
        "last_name": "Ruiz",
        "email": "Ana@Ejemplo.es",
        "phone": "600 123 456",
        "company": "No se pide",
        "score": "100",
        "owner": str(rep.pk),
        "message": " Quiero precio ",
    }
    # when
    lead = services.web_form_submit(web_form=form, data=data)
    # then
    lead.refresh_from_db()
    assert (lead.first_name, lead.last_name, lead.email, lead.phone) == (
        "Ana",
        "Ruiz",
        "ana@ejemplo.es",
        "+34600123456",
    )
    assert (lead.company, lead.score, lead.owner, lead.created_by) == ("", 0, None, None)
    assert (lead.channel, lead.campaign, lead.notes, lead.web_form) == (
        form.channel,
        "Web 2026",
        "Quiero precio",
        form,
    )


def test_web_form_submit_is_assigned_by_the_rules(rep):
    # given
    form = WebFormFactory(channel=Channel.objects.get(name="Web"))
    rule = AssignmentRuleFactory(target_user=rep)
    rule.channels.add(form.channel)
    # when
    lead = services.web_form_submit(web_form=form, data={"first_name": "Ana", "email": "a@e.es"})
    # then
    assert (lead.owner, lead.assignment_rule) == (rep, rule)


def test_web_form_submit_needs_a_name_and_an_email_or_phone(db):
    # given
    form = WebFormFactory(fields=["phone"])
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.web_form_submit(web_form=form, data={"first_name": " ", "email": ""})
    phone_only = services.web_form_submit(
        web_form=form, data={"first_name": "Ana", "phone": "600123456"}
    )
    # then
    assert _errors(exc_info) == {
        "first_name": ["Tell us your name."],
        "email": ["Give an e-mail or a phone so that we can answer you."],
    }
    assert list(Lead.objects.all()) == [phone_only]


def test_web_form_submit_ignores_a_phone_the_form_does_not_show(db):
    # given
    form = WebFormFactory(fields=[])
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.web_form_submit(web_form=form, data={"first_name": "Ana", "phone": "600123456"})
    # then
    assert _errors(exc_info) == {"email": ["Give an e-mail or a phone so that we can answer you."]}
    assert Lead.objects.count() == 0


def test_web_form_submit_accepts_duplicates(rep):
    # given
    LeadFactory(owner=rep, email="ana@ejemplo.es")
    form = WebFormFactory()
    # when
    services.web_form_submit(web_form=form, data={"first_name": "Ana", "email": "ana@ejemplo.es"})
    # then
    assert Lead.objects.filter(email="ana@ejemplo.es").count() == 2


def test_web_form_submit_refuses_an_inactive_form(db):
    # given
    form = WebFormFactory(is_active=False)
    # when
    with pytest.raises(PermissionDenied):
        services.web_form_submit(web_form=form, data={"first_name": "Ana", "email": "a@e.es"})
    # then
    assert Lead.objects.count() == 0
