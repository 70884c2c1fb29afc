from django.db import migrations

CHANNELS = [
    "Web",
    "Teléfono",
    "Recomendación",
    "Feria",
    "Redes sociales",
    "E-mail",
    "Visita comercial",
    "Importación",
    "API",
]
SECTORS = [
    "Comercio",
    "Hostelería y turismo",
    "Construcción",
    "Industria",
    "Servicios profesionales",
    "Salud",
    "Educación",
    "Tecnología",
    "Transporte y logística",
    "Agricultura y alimentación",
    "Inmobiliaria",
    "Administración pública",
    "Otros",
]


def create_lists(apps, schema_editor):
    """A new installation starts with useful channels and sectors; the admin edits them."""
    Channel = apps.get_model("core", "Channel")
    Sector = apps.get_model("core", "Sector")
    for position, name in enumerate(CHANNELS):
        Channel.objects.get_or_create(name=name, defaults={"position": position})
    for position, name in enumerate(SECTORS):
        Sector.objects.get_or_create(name=name, defaults={"position": position})


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(create_lists, migrations.RunPython.noop)]
