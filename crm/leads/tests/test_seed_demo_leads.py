import pytest
from django.core.management import CommandError, call_command

from crm.core.validation import normalize_nif, normalize_phone
from crm.leads.assignment import preview
from crm.leads.models import AssignmentRule, Lead, LeadSettings, LeadStatus, WebForm
from crm.users.models import User

pytestmark = pytest.mark.django_db


def test_demo_leads_are_valid_and_in_every_status():
    call_command("seed_demo", accounts=5, seed=1)

    call_command("seed_demo_leads", leads=60, seed=2)

    leads = list(Lead.objects.all())
    assert len(leads) == 60
    assert {lead.status for lead in leads} >= {
        LeadStatus.NEW,
        LeadStatus.CONTACTED,
        LeadStatus.DISQUALIFIED,
    }
    for lead in leads:
        assert lead.display_name
        assert lead.owner.is_active
        assert lead.team_id == lead.owner.team_id
        assert lead.nif == normalize_nif(lead.nif)
        assert lead.mobile == normalize_phone(lead.mobile)
        assert lead.search_text
        if lead.status == LeadStatus.DISQUALIFIED:
            assert lead.disqualify_reason is not None


def test_demo_rules_send_a_northern_lead_to_team_norte_and_keep_a_fallback():
    call_command("seed_demo", accounts=5, seed=1)

    call_command("seed_demo_leads", leads=5)

    assert AssignmentRule.objects.count() == 2
    assert LeadSettings.objects.get().fallback_owner.role == "manager"
    assert WebForm.objects.get().is_active
    northern = preview(Lead(first_name="Ane", province="48"))
    assert northern.rule.name == "Norte: por turnos"
    assert northern.owner.team.name == "Norte"
    southern = preview(Lead(first_name="Rocío", province="41"))
    assert southern.owner.team.name == "Sur"


def test_demo_leads_need_the_demo_users():
    with pytest.raises(CommandError):
        call_command("seed_demo_leads", leads=5)


def test_bootstrap_loads_demo_leads_after_the_accounts(capsys):
    call_command("bootstrap", demo_accounts=5)

    assert User.objects.filter(username="admin", is_superuser=True).exists()
    assert Lead.objects.count() == 150
