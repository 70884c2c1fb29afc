from django.db import migrations

from crm.core.search import search_index_sql

STAGES = [
    ("En análisis", 10, "open"),
    ("Oferta presentada", 40, "open"),
    ("En negociación", 70, "open"),
    ("Ganada", 100, "won"),
    ("Perdida", 0, "lost"),
    ("Cancelada", 0, "lost"),
]
LOST_REASONS = [
    "Precio",
    "Eligió a la competencia",
    "Sin presupuesto",
    "Sin respuesta del cliente",
    "Proyecto aplazado o cancelado por el cliente",
    "Producto no adecuado",
]
CATEGORIES = ["Productos", "Servicios", "Mantenimiento"]
TABLES = ["sales_opportunity", "sales_product"]


def forwards(apps, schema_editor):
    pipeline_model = apps.get_model("sales", "Pipeline")
    stage_model = apps.get_model("sales", "Stage")
    if not pipeline_model.objects.exists():
        pipeline = pipeline_model.objects.create(name="Ventas", is_default=True, position=1)
        for position, (name, probability, kind) in enumerate(STAGES, start=1):
            stage_model.objects.create(
                pipeline=pipeline, name=name, position=position, probability=probability, kind=kind
            )
    reason = apps.get_model("sales", "LostReason")
    for position, name in enumerate(LOST_REASONS):
        reason.objects.get_or_create(name=name, defaults={"position": position})
    category = apps.get_model("sales", "ProductCategory")
    for position, name in enumerate(CATEGORIES):
        category.objects.get_or_create(name=name, defaults={"position": position})
    for table in TABLES:
        for sql in search_index_sql(table, schema_editor.connection.vendor)[0]:
            schema_editor.execute(sql)


def backwards(apps, schema_editor):
    for table in TABLES:
        for sql in search_index_sql(table, schema_editor.connection.vendor)[1]:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    """The pipeline a new installation starts with, lost reasons, categories, search indexes."""

    dependencies = [("sales", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
