"""The automation rules a new installation starts with (the administrator can change or
delete them in Settings > Automation)."""

from django.db import migrations

DEFAULT_RULES = [
    {
        "name": "Primer contacto",
        "trigger": "lead.created",
        "days": None,
        "actions": [
            {
                "type": "create_activity",
                "kind": "call",
                "subject": "Primer contacto: {lead.first_name} {lead.last_name}",
                "description": "",
                "priority": "normal",
                "due_days": 1,
                "due_hour": 9,
                "assignee": "owner",
            }
        ],
    },
    {
        "name": "Seguimiento del presupuesto",
        "trigger": "quote.sent",
        "days": None,
        "actions": [
            {
                "type": "create_activity",
                "kind": "call",
                "subject": "Seguimiento del presupuesto {quote.number}: {account.name}",
                "description": "",
                "priority": "normal",
                "due_days": 3,
                "due_hour": 9,
                "assignee": "owner",
            }
        ],
    },
    {
        "name": "Oportunidad sin actividad",
        "trigger": "opportunity.idle",
        "days": 14,
        "actions": [
            {
                "type": "create_activity",
                "kind": "task",
                "subject": "Retomar la oportunidad {opportunity.title}",
                "description": "Lleva 14 días sin actividad.",
                "priority": "normal",
                "due_days": 1,
                "due_hour": 9,
                "assignee": "owner",
            }
        ],
    },
]


def create(apps, schema_editor):
    AutomationRule = apps.get_model("activities", "AutomationRule")
    for position, rule in enumerate(DEFAULT_RULES, start=1):
        if not AutomationRule.objects.filter(name=rule["name"]).exists():
            AutomationRule.objects.create(position=position, conditions=[], **rule)


def remove(apps, schema_editor):
    AutomationRule = apps.get_model("activities", "AutomationRule")
    AutomationRule.objects.filter(name__in=[r["name"] for r in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0001_initial"),
        ("sales", "0002_default_pipeline"),
    ]

    operations = [migrations.RunPython(create, remove)]
