"""Settings > Automation: administrators only, an editor whose rows become the rule's JSON,
errors beside the rows, and the firing log per rule and on the record."""

import pytest
from django.urls import reverse
from django.utils import translation

from crm.activities import automation
from crm.activities.models import AutomationFiring, AutomationRule, FiringStatus, Trigger
from crm.leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _setup(db):
    AutomationRule.objects.all().delete()
    with translation.override("en"):
        yield


@pytest.fixture
def admin_client(client, admin):
    admin.language = "en"
    admin.save()
    client.force_login(admin)
    return client


def rule_post(**overrides):
    data = {
        "name": "Llamar a los leads buenos",
        "is_active": "1",
        "trigger": "lead.created",
        "cond_count": "2",
        "cond-0-field": "score",
        "cond-0-op": "gte",
        "cond-0-value": "50",
        "cond-1-field": "status",
        "cond-1-op": "in",
        "cond-1-value": ["new", "contacted"],
        "act_count": "2",
        "act-0-type": "create_activity",
        "act-0-kind": "call",
        "act-0-subject": "Llamar a {lead.first_name}",
        "act-0-priority": "high",
        "act-0-due_days": "2",
        "act-0-due_hour": "10",
        "act-0-assignee": "owner",
        "act-1-type": "notify",
        "act-1-title": "Nuevo lead {lead.company}",
        "act-1-recipient": "manager",
    }
    data.update(overrides)
    return data


def make_rule(admin, **fields):
    return automation.automation_rule_save(
        actor=admin,
        fields={
            "name": "Regla",
            "trigger": Trigger.LEAD_CREATED,
            "actions": [{"type": "notify", "title": "Hola", "recipient": "owner"}],
            **fields,
        },
    )


def test_pages_are_for_administrators_only(client, rep, admin):
    rule = make_rule(admin)
    client.force_login(rep)
    for name, args in [
        ("automation-rule-list", []),
        ("automation-rule-create", []),
        ("automation-rule-detail", [rule.pk]),
        ("automation-rule-update", [rule.pk]),
        ("automation-rule-delete", [rule.pk]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 403
    assert client.post(reverse("automation-rule-delete", args=[rule.pk])).status_code == 403
    assert client.post(reverse("automation-rule-create"), rule_post()).status_code == 403
    assert list(AutomationRule.objects.values_list("pk", flat=True)) == [rule.pk]


def test_create_builds_the_rule_from_the_rows(admin_client, admin):
    response = admin_client.post(reverse("automation-rule-create"), rule_post())
    assert response.status_code == 302
    rule = AutomationRule.objects.get()
    assert (rule.name, rule.trigger, rule.is_active, rule.created_by) == (
        "Llamar a los leads buenos",
        "lead.created",
        True,
        admin,
    )
    assert rule.conditions == [
        {"field": "score", "op": "gte", "value": 50},
        {"field": "status", "op": "in", "value": ["new", "contacted"]},
    ]
    assert rule.actions == [
        {
            "type": "create_activity",
            "kind": "call",
            "subject": "Llamar a {lead.first_name}",
            "description": "",
            "priority": "high",
            "due_days": 2,
            "due_hour": 10,
            "assignee": "owner",
        },
        {
            "type": "notify",
            "title": "Nuevo lead {lead.company}",
            "body": "",
            "recipient": "manager",
        },
    ]


def test_contradictory_conditions_and_unknown_placeholders_show_beside_the_rows(admin_client):
    data = rule_post(
        **{"cond-1-field": "score", "cond-1-op": "lte", "cond-1-value": "10"},
        **{"act-0-subject": "Llamar a {lead.apodo}"},
    )
    response = admin_client.post(reverse("automation-rule-create"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "The conditions on “score” contradict each other" in html
    assert "Unknown placeholder {lead.apodo}" in html
    assert 'value="Llamar a {lead.apodo}"' in html  # what was typed stays
    assert not AutomationRule.objects.exists()


def test_a_rule_without_actions_is_refused(admin_client):
    response = admin_client.post(
        reverse("automation-rule-create"), rule_post(act_count="0", cond_count="0")
    )
    assert "Add at least one action: what the rule does." in response.content.decode()
    assert not AutomationRule.objects.exists()


def test_add_and_remove_rows_without_saving(admin_client):
    url = reverse("automation-rule-create")
    response = admin_client.post(url, rule_post(add="condition"))
    assert response.content.decode().count('name="cond-2-field"') == 1
    response = admin_client.post(url, rule_post(**{"act-0-remove": "1"}))
    assert response.status_code == 302
    assert [a["type"] for a in AutomationRule.objects.get().actions] == ["notify"]


def test_changing_the_trigger_refreshes_the_editor_partial(admin_client):
    response = admin_client.post(
        reverse("automation-rule-create"),
        rule_post(trigger="opportunity.idle", refresh="1", cond_count="0"),
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert html.strip().startswith('<div id="editor">')
    assert 'name="days"' in html
    assert "{opportunity.title}" in html
    assert not AutomationRule.objects.exists()


def test_update_toggle_move_and_delete(admin_client, admin):
    first, second = make_rule(admin, name="A"), make_rule(admin, name="B")
    response = admin_client.get(reverse("automation-rule-update", args=[first.pk]))
    assert 'value="Hola"' in response.content.decode()
    admin_client.post(reverse("automation-rule-update", args=[first.pk]), {"toggle_active": "1"})
    first.refresh_from_db()
    assert first.is_active is False
    admin_client.post(reverse("automation-rule-move", args=[second.pk]), {"direction": "up"})
    assert list(AutomationRule.objects.values_list("name", flat=True)) == ["B", "A"]
    admin_client.post(reverse("automation-rule-delete", args=[first.pk]))
    assert list(AutomationRule.objects.values_list("name", flat=True)) == ["B"]


def test_the_rule_page_shows_its_log_paginated(admin_client, admin):
    rule = make_rule(admin)
    AutomationFiring.objects.bulk_create(
        AutomationFiring(
            rule=rule,
            trigger=rule.trigger,
            model="leads.lead",
            object_id=n,
            occurrence=f"event:{n}",
            status=FiringStatus.DONE,
            result=[{"action": "notify", "user": admin.pk}],
        )
        for n in range(60)
    )
    response = admin_client.get(reverse("automation-rule-detail", args=[rule.pk]))
    html = response.content.decode()
    assert html.count("leads.lead #") == 50
    assert "60 results" in html


def test_the_lead_page_shows_the_rules_that_fired_on_it(client, admin, rep):
    rule = make_rule(admin, name="Primer contacto")
    lead = LeadFactory(owner=rep)
    AutomationFiring.objects.create(
        rule=rule,
        trigger=rule.trigger,
        model="leads.lead",
        object_id=lead.pk,
        occurrence="event:1",
        status=FiringStatus.DONE,
    )
    client.force_login(rep)
    html = client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    assert 'id="automation-firings"' in html
    assert "Primer contacto" in html
    assert reverse("automation-rule-detail", args=[rule.pk]) not in html  # not an admin
