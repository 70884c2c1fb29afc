from django.db import migrations

from crm.core.search import search_index_sql

REASONS = [
    "Sin presupuesto",
    "Sin interés",
    "Ilocalizable",
    "Ya es cliente de la competencia",
    "Fuera de nuestra zona",
    "Datos falsos o duplicados",
]
TABLE = "leads_lead"


def forwards(apps, schema_editor):
    reason = apps.get_model("leads", "DisqualifyReason")
    for position, name in enumerate(REASONS):
        reason.objects.get_or_create(name=name, defaults={"position": position})
    apps.get_model("leads", "LeadSettings").objects.get_or_create(id=1)
    for sql in search_index_sql(TABLE, schema_editor.connection.vendor)[0]:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    for sql in search_index_sql(TABLE, schema_editor.connection.vendor)[1]:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    """Default disqualification reasons, the settings row, and the search index of leads."""

    dependencies = [("leads", "0002_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
