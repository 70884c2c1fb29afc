"""manage.py import_leads FILE."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import Workbook

from crm.leads.models import ImportMapping, ImportStatus, Lead, LeadImport

pytestmark = pytest.mark.django_db


# The row reasons are written in the importer's language: English here, for stable texts.
@pytest.fixture
def admin(admin):
    admin.language = "en"
    admin.save()
    return admin


@pytest.fixture
def rep(rep):
    rep.language = "en"
    rep.save()
    return rep


@pytest.fixture(autouse=True)
def _media_and_english(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with translation.override("en"):
        yield


def _csv(tmp_path, text: str, encoding="cp1252"):
    path = tmp_path / "leads.csv"
    path.write_bytes(text.encode(encoding))
    return path


def _run(*args) -> str:
    out = StringIO()
    call_command("import_leads", *map(str, args), stdout=out)
    return out.getvalue()


def test_imports_with_automatic_mapping_and_prints_the_counts(tmp_path, admin):
    Lead.objects.create(first_name="Ya", email="ya@example.com", search_text="ya")
    path = _csv(
        tmp_path,
        "Nombre;Empresa;Correo\r\nAna;Peña SL;ana@example.com\r\nYa;;ya@example.com\r\n"
        "Mal;;mal@\r\n",
    )

    output = _run(path)

    lead_import = LeadImport.objects.get()
    assert output.splitlines() == [
        'Mapping: {"Nombre": "first_name", "Empresa": "company", "Correo": "email"}',
        f"Import #{lead_import.pk}: 3 rows; created 1, updated 0, skipped 1, failed 1.",
    ]
    assert (lead_import.created_by, lead_import.status) == (admin, ImportStatus.DONE)
    assert Lead.objects.get(lead_import=lead_import).company == "Peña SL"


def test_on_duplicate_update_and_a_chosen_user(tmp_path, admin, rep):
    lead = Lead.objects.create(
        first_name="Ana", email="ana@example.com", owner=rep, search_text="ana"
    )
    path = _csv(tmp_path, "Nombre;Ciudad;Correo\r\nAna;Soria;ana@example.com\r\n")

    output = _run(path, "--on-duplicate", "update", "--user", "rep")

    assert output.splitlines()[-1].endswith("created 0, updated 1, skipped 0, failed 0.")
    lead.refresh_from_db()
    assert lead.city == "Soria"
    assert LeadImport.objects.get().created_by == rep


def test_a_saved_mapping_by_name(tmp_path, admin):
    ImportMapping.objects.create(name="Feria", columns={"razon": "company"})
    path = _csv(tmp_path, "Razón;Correo\r\nBar Pepe;pepe@example.com\r\n")

    _run(path, "--mapping", "Feria")

    lead = Lead.objects.get()
    assert (lead.company, lead.email) == ("Bar Pepe", "")


def test_an_xlsx_sheet(tmp_path, admin):
    workbook = Workbook()
    workbook.active.append(["otra"])
    sheet = workbook.create_sheet("Datos")
    sheet.append(["Empresa", "Móvil"])
    sheet.append(["Bar Pepe", 612345678])
    path = tmp_path / "leads.xlsx"
    workbook.save(path)

    _run(path, "--sheet", "Datos")

    assert Lead.objects.get().mobile == "+34612345678"


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("", [], "File refused: The file is empty."),
        ("Nombre;Correo\r\n", [], "File refused: The file has column names but no rows."),
        (
            "Correo\r\na@example.com\r\n",
            [],
            "File refused: Choose at least one column for the name: person's or company's.",
        ),
        (
            "Nombre\r\nAna\r\n",
            ["--mapping", "Nada"],
            "File refused: There is no saved mapping “Nada”.",
        ),
        ("Nombre\r\nAna\r\n", ["--user", "nadie"], "No active user 'nadie'."),
    ],
)
def test_a_refused_file_exits_non_zero_and_imports_nothing(tmp_path, admin, content, args, message):
    path = _csv(tmp_path, content)

    with pytest.raises(CommandError) as error:
        _run(path, *args)

    assert str(error.value) == message
    assert Lead.objects.count() == 0
    assert LeadImport.objects.filter(status=ImportStatus.DONE).count() == 0


def test_a_missing_file_or_no_administrator_is_an_error(tmp_path, db):
    with pytest.raises(CommandError, match="No such file"):
        _run(tmp_path / "nada.csv")
    path = _csv(tmp_path, "Nombre\r\nAna\r\n")
    with pytest.raises(CommandError, match="There is no active administrator"):
        _run(path)
