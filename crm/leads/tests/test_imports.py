"""Reading import files, mapping their columns and the import services."""

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from crm.core import tabular
from crm.core.models import Channel, Sector
from crm.customers.tests.factories import AccountFactory, ContactFactory
from crm.leads import imports
from crm.leads.models import (
    AssignmentTarget,
    ImportMapping,
    ImportRowError,
    ImportStatus,
    Lead,
    LeadEvent,
    LeadEventKind,
    LeadImport,
    LeadStatus,
)
from crm.leads.selectors import lead_import_get_for_user, lead_search_filter
from crm.leads.tests.factories import AssignmentRuleFactory, LeadFactory
from crm.users.tests.factories import UserFactory

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


HEADER = ["Nombre", "Apellidos", "Empresa", "Correo", "Teléfono", "CIF", "Provincia"]


@pytest.fixture(autouse=True)
def _media_and_english(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with translation.override("en"):
        yield


def write_csv(path: Path, rows, *, delimiter=";", encoding="utf-8", bom=False) -> Path:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = buffer.getvalue().encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return path


def upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes())


def create(actor, path: Path, sheet: str = "") -> LeadImport:
    return imports.lead_import_create(actor=actor, uploaded_file=upload(path), sheet=sheet)


def run(actor, lead_import, *, mapping=None, on_duplicate="skip", batch_size=2000):
    imports.lead_import_start(
        actor=actor,
        lead_import=lead_import,
        mapping=mapping or imports.suggest_mapping(lead_import.headers),
        on_duplicate=on_duplicate,
        enqueue=False,
    )
    return imports.lead_import_run(import_id=lead_import.pk, batch_size=batch_size)


def row(
    first="Ana", last="Pérez", company="Talleres Pérez SL", email="", phone="", nif="", prov=""
):
    return [first, last, company, email, phone, nif, prov]


# -- reading --


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_every_separator_is_detected(tmp_path, admin, delimiter):
    path = write_csv(
        tmp_path / "leads.csv",
        [HEADER, row(email="ana@example.com", phone="600 12 34 56"), row(first="Luis")],
        delimiter=delimiter,
    )

    lead_import = create(admin, path)

    assert lead_import.delimiter == delimiter
    assert lead_import.headers == HEADER
    assert lead_import.total_rows == 2
    assert [cells for _n, cells in imports.read_rows(lead_import)][0] == [
        "Ana",
        "Pérez",
        "Talleres Pérez SL",
        "ana@example.com",
        "600 12 34 56",
        "",
        "",
    ]


@pytest.mark.parametrize(
    ("encoding", "bom", "expected"),
    [("utf-8", False, "utf-8"), ("utf-8", True, "utf-8-sig"), ("cp1252", False, "cp1252")],
)
def test_encodings_are_detected(tmp_path, admin, encoding, bom, expected):
    path = write_csv(
        tmp_path / "leads.csv",
        [["Nombre", "Empresa", "Notas"], ["Begoña", "Muñoz Ávila SL", "Presupuesto 1.000 €"]],
        encoding=encoding,
        bom=bom,
    )

    lead_import = create(admin, path)

    assert lead_import.encoding == expected
    assert lead_import.headers == ["Nombre", "Empresa", "Notas"]
    assert list(imports.read_rows(lead_import)) == [
        (2, ["Begoña", "Muñoz Ávila SL", "Presupuesto 1.000 €"])
    ]


def test_latin1_bytes_that_cp1252_lacks_fall_back_to_latin1(tmp_path, admin):
    path = tmp_path / "leads.csv"
    path.write_bytes("Nombre;Notas\r\nPeña;x\x81y\r\n".encode("latin-1"))

    lead_import = create(admin, path)

    assert lead_import.encoding == "latin-1"
    assert list(imports.read_rows(lead_import)) == [(2, ["Peña", "x\x81y"])]


def test_quoted_fields_keep_their_newlines_and_blank_rows_are_left_out(tmp_path, admin):
    path = tmp_path / "leads.csv"
    path.write_text(
        'Nombre;Notas\r\n"Ana";"Primera línea\r\nsegunda; con punto y coma"\r\n;\r\nLuis;ok\r\n',
        encoding="utf-8",
    )

    lead_import = create(admin, path)

    assert lead_import.total_rows == 2
    assert list(imports.read_rows(lead_import)) == [
        (2, ["Ana", "Primera línea\r\nsegunda; con punto y coma"]),
        (4, ["Luis", "ok"]),
    ]


def _workbook(path: Path) -> Path:
    workbook = Workbook()
    first = workbook.active
    first.title = "Resumen"
    first.append(["Nada"])
    first.append(["que ver"])
    sheet = workbook.create_sheet("Contactos")
    sheet.append(["Nombre", "Empresa", "Móvil", "Empleados", "Puntuación"])
    sheet.append(["Ana", "Talleres SL", 600123456, 12, 7.5])
    sheet.append(["Luis", None, 612345678.0, None, None])
    workbook.save(path)
    return path


def test_xlsx_reads_the_chosen_sheet_with_phones_typed_as_numbers(tmp_path, admin):
    lead_import = create(admin, _workbook(tmp_path / "leads.xlsx"), sheet="Contactos")

    assert lead_import.sheet == "Contactos"
    assert lead_import.encoding == ""
    assert lead_import.headers == ["Nombre", "Empresa", "Móvil", "Empleados", "Puntuación"]
    assert lead_import.total_rows == 2
    assert list(imports.read_rows(lead_import)) == [
        (2, ["Ana", "Talleres SL", "600123456", "12", "7.5"]),
        (3, ["Luis", "", "612345678", "", ""]),
    ]


def test_xlsx_takes_the_first_sheet_by_default_and_refuses_an_unknown_one(tmp_path, admin):
    path = _workbook(tmp_path / "leads.xlsx")

    assert create(admin, path).headers == ["Nada"]
    with pytest.raises(ValidationError) as error:
        create(admin, path, sheet="Otra")
    assert error.value.message_dict == {
        "sheet": ["The file has no sheet “Otra”; it has: Resumen, Contactos."]
    }


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("leads.csv", b"", "The file is empty."),
        ("leads.csv", b"\r\n;;\r\n", "The file is empty."),
        ("leads.csv", b"Nombre;Empresa\r\n", "The file has column names but no rows."),
        ("leads.pdf", b"%PDF-1.4", "Upload a CSV or XLSX file (this one is .pdf)."),
        ("leads.xlsx", b"not a zip", "This file is not a valid Excel (XLSX) file."),
        ("leads.xlsx", b"PK\x03\x04broken", "This Excel file cannot be read."),
    ],
)
def test_unusable_files_are_refused_and_nothing_is_stored(admin, name, content, message):
    with pytest.raises(ValidationError) as error:
        imports.lead_import_create(
            actor=admin, uploaded_file=SimpleUploadedFile(name, content), sheet=""
        )

    assert error.value.message_dict == {"file": [message]}
    assert LeadImport.objects.count() == 0


_cell = st.text(
    alphabet=st.characters(
        codec="utf-8", categories=("L", "N", "Zs"), include_characters="\"'\n.-€ñ"
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    delimiter=st.sampled_from(list(tabular.DELIMITERS)),
    width=st.integers(min_value=2, max_value=6),
    data=st.data(),
)
def test_csv_round_trip_with_any_separator(delimiter, width, data):
    header = [f"Columna {i}" for i in range(width)]
    rows = data.draw(
        st.lists(st.lists(_cell, min_size=width, max_size=width), min_size=1, max_size=8)
    )
    rows = [r for r in rows if any(c.strip() for c in r)]
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows([header, *rows])
    text = buffer.getvalue()

    assert tabular.detect_delimiter(text) == delimiter
    assert list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)) == [header, *rows]


# -- mapping --


def test_headers_in_spanish_and_english_suggest_fields():
    headers = [
        "NOMBRE",
        "Apellidos",
        "Razón social",
        "Puesto",
        "E-mail",
        "Teléfono",
        "Móvil",
        "CIF/NIF",
        "Provincia",
        "Población",
        "Sector",
        "Nº empleados",
        "Origen",
        "Campaña",
        "Productos de interés",
        "Puntuación",
        "Observaciones",
        "Comercial",
        "Sin correspondencia",
    ]

    mapping = imports.suggest_mapping(headers)

    assert [mapping.get(str(i), "") for i in range(len(headers))] == [
        "first_name",
        "last_name",
        "company",
        "position",
        "email",
        "phone",
        "mobile",
        "nif",
        "province",
        "city",
        "sector",
        "size_segment",
        "channel",
        "campaign",
        "products_of_interest",
        "score",
        "notes",
        "owner",
        "",
    ]
    english = ["First Name", "Last name", "Company", "Email", "Phone", "Mobile", "State", "Zip"]
    assert list(imports.suggest_mapping(english).values()) == [
        "first_name",
        "last_name",
        "company",
        "email",
        "phone",
        "mobile",
        "province",
        "postal_code",
    ]


def test_a_saved_mapping_applies_by_folded_header(admin):
    ImportMapping.objects.create(
        name="Feria", columns={"razon social": "company", "contacto": "full_name", "dato": "notes"}
    )

    template = ImportMapping.objects.get(name="Feria")

    assert imports.suggest_mapping(["RAZÓN SOCIAL", "Contacto", "Dato", "Otro"], template) == {
        "0": "company",
        "1": "full_name",
        "2": "notes",
    }


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"0": "email"}, "Choose at least one column for the name: person's or company's."),
        ({"0": "company", "1": "company"}, "Two columns go to Company: “A” and “B”."),
        ({"0": "company", "5": "email"}, "Column 5 does not exist."),
        ({"0": "status"}, "Unknown field “status”."),
    ],
)
def test_invalid_mappings_are_refused(mapping, message):
    with pytest.raises(ValidationError) as error:
        imports.clean_mapping(mapping, ["A", "B"])
    assert error.value.message_dict == {"mapping": [message]}


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("28", "28"),
        ("8", "08"),
        ("A Coruña", "15"),
        ("La Coruña", "15"),
        ("Valencia/València", "46"),
        ("València", "46"),
        ("Baleares", "07"),
        ("Illes Balears", "07"),
        ("Gipuzkoa", "20"),
        ("Guipúzcoa", "20"),
        ("Bizkaia", "48"),
        ("Vizcaya", "48"),
        ("Araba/Álava", "01"),
        ("Álava", "01"),
        ("Gerona", "17"),
        ("Lérida", "25"),
        ("Orense", "32"),
        ("ÁVILA", "05"),
        ("08001", "08"),
        ("Sevilla", "41"),
    ],
)
def test_provinces_by_code_name_co_official_name_or_postal_code(admin, value, code):
    lead_import = LeadImport(headers=["Empresa", "Provincia"], created_by=admin)
    converter = imports.Converter(
        lead_import=lead_import, mapping={"0": "company", "1": "province"}, actor=admin
    )

    assert converter.convert(["X SL", value])["province"] == code


def test_values_are_converted_and_bad_ones_named(admin, rep):
    Sector.objects.get_or_create(name="Hostelería y turismo")
    headers = ["Empresa", "Canal", "Sector", "Tamaño", "Comercial", "Contacto", "Móvil"]
    mapping = imports.suggest_mapping(headers)
    converter = imports.Converter(
        lead_import=LeadImport(headers=headers), mapping=mapping, actor=admin
    )

    fields = converter.convert(
        ["Bar Pepe", "feria", "HOSTELERIA Y TURISMO", "25", "rep", "María José Gil", "612345678"]
    )

    assert fields["channel"] == Channel.objects.get(name="Feria")
    assert fields["sector"].name == "Hostelería y turismo"
    assert fields["size_segment"] == "10-49"
    assert fields["owner"] == rep
    assert (fields["first_name"], fields["last_name"]) == ("María", "José Gil")
    assert fields["mobile"] == "+34612345678"
    with pytest.raises(imports.RowError) as error:
        converter.convert(["Bar", "Prensa", "", "muchos", "nadie", "", "12"])
    assert str(error.value) == (
        "Unknown channel “Prensa”: add it in the settings or correct it. "
        "Unknown size “muchos”. “nadie” is not a user you can give leads to. "
        "Mobile: “12” is not a valid phone number."
    )


def test_a_rep_cannot_give_imported_leads_to_someone_else(rep, manager):
    converter = imports.Converter(
        lead_import=LeadImport(headers=["Empresa", "Comercial"]),
        mapping={"0": "company", "1": "owner"},
        actor=rep,
    )

    assert converter.convert(["X", "rep"])["owner"] == rep
    with pytest.raises(imports.RowError):
        converter.convert(["X", "manager"])


# -- services --


def test_preview_shows_errors_and_duplicates_and_writes_nothing(tmp_path, admin):
    LeadFactory(email="ya@example.com")
    path = write_csv(
        tmp_path / "leads.csv",
        [
            HEADER,
            row(email="ana@example.com"),
            row(email="mal@"),
            row(email="ya@example.com"),
            row(first="", last="", company="", email="x@example.com"),
            row(email="ANA@example.com"),
        ],
    )
    lead_import = create(admin, path)
    leads_before = Lead.objects.count()

    preview = imports.lead_import_preview(
        lead_import=lead_import, mapping=imports.suggest_mapping(HEADER), rows=20
    )

    assert [(p.number, p.errors, p.duplicate) for p in preview] == [
        (2, [], ""),
        (3, ["E-mail: Enter a valid email address."], ""),
        (4, [], f"Same e-mail (ya@example.com) as an existing lead (#{Lead.objects.get().pk})."),
        (5, ["The row has no name: give the person's or the company's."], ""),
        (6, [], "Same e-mail as row 2."),
    ]
    assert Lead.objects.count() == leads_before
    assert LeadImport.objects.get().status == ImportStatus.UPLOADED


def test_import_creates_leads_with_the_import_channel_and_counts(tmp_path, admin):
    path = write_csv(
        tmp_path / "leads.csv",
        [
            HEADER,
            row(email="Ana@Example.com", phone="600 12 34 56", nif="b12345674", prov="Madrid"),
            row(first="Luis", email="luis@", prov="Marte"),
        ],
        encoding="cp1252",
    )
    lead_import = create(admin, path)

    result = run(admin, lead_import)

    assert (result.status, result.processed_rows, result.created_count, result.failed_count) == (
        ImportStatus.DONE,
        2,
        1,
        1,
    )
    lead = Lead.objects.get()
    assert (lead.email, lead.phone, lead.nif, lead.province) == (
        "ana@example.com",
        "+34600123456",
        "B12345674",
        "28",
    )
    assert lead.channel == Channel.objects.get(name="Importación")
    assert (lead.lead_import, lead.import_row, lead.created_by) == (lead_import, 2, admin)
    assert lead.search_text == "ana perez talleres perez sl ana@example.com +34600123456 b12345674"
    error = ImportRowError.objects.get()
    assert (error.row_number, error.values[0], error.reason) == (
        3,
        "Luis",
        "Unknown province “Marte”. E-mail: Enter a valid email address.",
    )


@pytest.fixture
def existing(admin):
    lead = LeadFactory(email="lead@example.com", owner=admin, company="Viejo SL", city="Lugo")
    account = AccountFactory(nif="B12345674")
    contact = ContactFactory(email="contacto@example.com", mobile="+34612345678")
    return lead, account, contact


def _dupe_file(tmp_path):
    return write_csv(
        tmp_path / "leads.csv",
        [
            HEADER,
            row(company="Nuevo SL", email="lead@example.com", prov="Lugo"),
            row(email="otra@example.com", nif="B12345674"),
            row(email="x@example.com", phone="612 345 678"),
            row(email="nuevo@example.com"),
            row(email="NUEVO@example.com", company="Copia SL"),
        ],
    )


def test_duplicates_are_skipped_with_their_reason(tmp_path, admin, existing):
    lead, account, contact = existing
    result = run(admin, create(admin, _dupe_file(tmp_path)), on_duplicate="skip")

    assert (result.created_count, result.skipped_count, result.updated_count) == (1, 4, 0)
    assert list(ImportRowError.objects.values_list("row_number", "reason")) == [
        (2, f"Skipped: Same e-mail (lead@example.com) as an existing lead (#{lead.pk})."),
        (3, f"Skipped: Same NIF (B12345674) as an existing account (#{account.pk})."),
        (4, f"Skipped: Same phone (+34612345678) as an existing contact (#{contact.pk})."),
        (6, "Skipped: same e-mail as row 5 of the file."),
    ]
    assert Lead.objects.get(lead_import=result).email == "nuevo@example.com"


def test_update_changes_the_existing_lead_and_records_it(tmp_path, admin, existing):
    lead, account, _contact = existing
    result = run(admin, create(admin, _dupe_file(tmp_path)), on_duplicate="update")

    assert (result.created_count, result.updated_count, result.skipped_count) == (1, 1, 3)
    lead.refresh_from_db()
    assert (lead.company, lead.province, lead.city, lead.lead_import) == (
        "Nuevo SL",
        "27",
        "Lugo",
        None,
    )
    event = LeadEvent.objects.get(lead=lead)
    assert event.kind == LeadEventKind.UPDATED
    assert event.changes["company"] == ["Viejo SL", "Nuevo SL"]
    assert ImportRowError.objects.get(row_number=3).reason == (
        f"Skipped: Same NIF (B12345674) as an existing account (#{account.pk})."
    )


def test_update_does_not_touch_a_lead_the_importer_cannot_see(tmp_path, rep, other_rep):
    foreign = LeadFactory(email="lead@example.com", owner=other_rep, company="Ajena SL")
    path = write_csv(tmp_path / "l.csv", [HEADER, row(company="Mía SL", email="lead@example.com")])

    result = run(rep, create(rep, path), on_duplicate="update")

    foreign.refresh_from_db()
    assert foreign.company == "Ajena SL"
    assert (result.updated_count, result.skipped_count) == (0, 1)
    assert ImportRowError.objects.get().reason == (
        f"Skipped: the lead #{foreign.pk} with the same data is not yours to update."
    )


def test_create_anyway_writes_every_valid_row(tmp_path, admin, existing):
    result = run(admin, create(admin, _dupe_file(tmp_path)), on_duplicate="create")

    assert (result.created_count, result.skipped_count) == (5, 0)
    assert Lead.objects.filter(lead_import=result).count() == 5


def test_assignment_rules_apply_to_imported_leads_round_robin(tmp_path, admin, team):
    first, second = UserFactory(team=team), UserFactory(team=team)
    madrid = AssignmentRuleFactory(
        target=AssignmentTarget.USER, target_user=admin, provinces=["28"], position=1
    )
    robin = AssignmentRuleFactory(
        target=AssignmentTarget.ROUND_ROBIN, target_user=None, target_team=team, position=2
    )
    rows = [HEADER] + [row(first=f"N{i}", prov="Sevilla") for i in range(5)]
    rows.append(row(first="Madrileña", prov="Madrid"))
    path = write_csv(tmp_path / "leads.csv", rows)

    run(admin, create(admin, path), batch_size=2)

    owners = list(Lead.objects.order_by("import_row").values_list("owner", "assignment_rule"))
    assert owners == [
        (first.pk, robin.pk),
        (second.pk, robin.pk),
        (first.pk, robin.pk),
        (second.pk, robin.pk),
        (first.pk, robin.pk),
        (admin.pk, madrid.pk),
    ]
    robin.refresh_from_db()
    assert robin.last_assigned == first


def test_the_owner_column_wins_over_the_rules(tmp_path, admin, rep):
    AssignmentRuleFactory(target_user=admin)
    path = write_csv(tmp_path / "l.csv", [["Empresa", "Comercial"], ["A SL", "rep"], ["B SL", ""]])

    run(admin, create(admin, path))

    assert list(Lead.objects.order_by("import_row").values_list("owner", "team")) == [
        (rep.pk, rep.team_id),
        (admin.pk, None),
    ]


def test_a_crash_in_batch_two_keeps_batch_one_and_a_rerun_completes(tmp_path, admin, monkeypatch):
    rows = [HEADER] + [row(first=f"N{i}", email=f"n{i}@example.com") for i in range(5)]
    lead_import = create(admin, write_csv(tmp_path / "leads.csv", rows))
    original = imports._write_batch
    calls = []

    def failing(**kwargs):
        calls.append(1)
        result = original(**kwargs)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return result

    monkeypatch.setattr(imports, "_write_batch", failing)

    failed = run(admin, lead_import, batch_size=2)

    assert (failed.status, failed.error, failed.processed_rows, failed.created_count) == (
        ImportStatus.FAILED,
        "disk full",
        2,
        2,
    )
    assert list(Lead.objects.order_by("import_row").values_list("import_row", flat=True)) == [2, 3]
    monkeypatch.setattr(imports, "_write_batch", original)
    imports.lead_import_resume(actor=admin, lead_import=lead_import)

    done = imports.lead_import_run(import_id=lead_import.pk, batch_size=2)

    assert (done.status, done.processed_rows, done.created_count, done.skipped_count) == (
        ImportStatus.DONE,
        5,
        5,
        0,
    )
    assert list(Lead.objects.order_by("import_row").values_list("import_row", flat=True)) == [
        2,
        3,
        4,
        5,
        6,
    ]
    # Running a finished import again changes nothing.
    assert imports.lead_import_run(import_id=lead_import.pk).created_count == 5
    assert Lead.objects.count() == 5


def test_a_batch_written_twice_is_refused_by_the_unique_row(tmp_path, admin):
    rows = [HEADER, row(first="A"), row(first="B")]
    lead_import = create(admin, write_csv(tmp_path / "leads.csv", rows))
    LeadFactory(lead_import=lead_import, import_row=2, first_name="A")
    imports.lead_import_start(
        actor=admin,
        lead_import=lead_import,
        mapping=imports.suggest_mapping(HEADER),
        on_duplicate="create",
        enqueue=False,
    )

    result = imports.lead_import_run(import_id=lead_import.pk)

    assert Lead.objects.count() == 1
    assert (result.status, result.processed_rows, result.created_count) == (
        ImportStatus.FAILED,
        0,
        0,
    )
    assert result.error == (
        "Rows 2 to 3 were already imported by another run; nothing was written twice."
    )


def test_undo_deletes_created_leads_but_keeps_converted_ones(tmp_path, admin):
    rows = [HEADER, row(first="A"), row(first="B"), row(first="C")]
    lead_import = run(admin, create(admin, write_csv(tmp_path / "l.csv", rows)))
    converted = Lead.objects.get(first_name="C")
    Lead.objects.filter(pk=converted.pk).update(status=LeadStatus.CONVERTED)
    other = LeadFactory()

    result = imports.lead_import_undo(actor=admin, lead_import=lead_import)

    assert (result.deleted, result.kept_converted) == (2, 1)
    assert set(Lead.objects.values_list("pk", flat=True)) == {converted.pk, other.pk}
    lead_import.refresh_from_db()
    assert (lead_import.status, lead_import.undone_by) == (ImportStatus.UNDONE, admin)
    with pytest.raises(ValidationError):
        imports.lead_import_undo(actor=admin, lead_import=lead_import)


def test_imports_are_visible_to_their_author_and_admins_only(tmp_path, rep, other_rep, admin):
    lead_import = create(rep, write_csv(tmp_path / "l.csv", [HEADER, row()]))

    assert lead_import_get_for_user(user=rep, import_id=lead_import.pk) == lead_import
    assert lead_import_get_for_user(user=admin, import_id=lead_import.pk) == lead_import
    with pytest.raises(Http404):
        lead_import_get_for_user(user=other_rep, import_id=lead_import.pk)
    with pytest.raises(PermissionDenied):
        imports.lead_import_start(
            actor=other_rep,
            lead_import=lead_import,
            mapping={"2": "company"},
            on_duplicate="skip",
            enqueue=False,
        )
    lead_import.refresh_from_db()
    assert lead_import.status == ImportStatus.UPLOADED


def test_start_saves_the_mapping_as_a_template_and_enqueues_after_commit(
    tmp_path, admin, django_capture_on_commit_callbacks
):
    lead_import = create(admin, write_csv(tmp_path / "l.csv", [HEADER, row()]))

    with django_capture_on_commit_callbacks(execute=True):
        imports.lead_import_start(
            actor=admin,
            lead_import=lead_import,
            mapping={"0": "first_name", "2": "company"},
            on_duplicate="skip",
            save_mapping_as="Mi plantilla",
        )

    assert ImportMapping.objects.get(name="Mi plantilla").columns == {
        "nombre": "first_name",
        "empresa": "company",
    }
    lead_import.refresh_from_db()
    assert (lead_import.status, lead_import.created_count) == (ImportStatus.DONE, 1)


def test_failure_rows_give_the_original_columns_and_the_reason(tmp_path, admin):
    rows = [HEADER, row(first="=HYPERLINK()", email="mal@")]
    lead_import = run(admin, create(admin, write_csv(tmp_path / "l.csv", rows)))

    headers, lines = imports.failure_rows(lead_import=lead_import)

    assert headers == ["Row", *HEADER, "Reason"]
    assert list(lines) == [
        [2, "=HYPERLINK()", "Pérez", "Talleres Pérez SL", "mal@", "", "", "", ""][:8]
        + ["E-mail: Enter a valid email address."]
    ]


def test_imported_leads_are_found_by_the_search_index(tmp_path, admin):
    rows = [HEADER, row(company="Ferretería Íñiguez SL"), row(company="Otra SA")]

    run(admin, create(admin, write_csv(tmp_path / "l.csv", rows)), batch_size=1)

    found = Lead.objects.filter(lead_search_filter("iniguez"))
    assert list(found.values_list("company", flat=True)) == ["Ferretería Íñiguez SL"]
    # A lead created afterwards is still indexed: the search index is intact.
    LeadFactory(company="Nueva Íñiguez SA")
    assert Lead.objects.filter(lead_search_filter("iniguez")).count() == 2


def test_a_stalled_import_can_be_resumed_but_not_a_moving_one(tmp_path, admin):
    lead_import = create(admin, write_csv(tmp_path / "l.csv", [HEADER, row()]))
    imports.lead_import_start(
        actor=admin, lead_import=lead_import, mapping={"2": "company"}, enqueue=False
    )
    with pytest.raises(ValidationError):
        imports.lead_import_resume(actor=admin, lead_import=lead_import)
    LeadImport.objects.filter(pk=lead_import.pk).update(
        status=ImportStatus.RUNNING, updated_at=timezone.now() - timedelta(minutes=11)
    )
    lead_import.refresh_from_db()

    imports.lead_import_resume(actor=admin, lead_import=lead_import)

    lead_import.refresh_from_db()
    assert lead_import.status == ImportStatus.QUEUED
    assert imports.lead_import_run(import_id=lead_import.pk).created_count == 1
