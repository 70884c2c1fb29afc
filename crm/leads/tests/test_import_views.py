"""The lead import pages: upload, mapping with preview, progress, result, history, undo."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from crm.leads import imports
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


CSV = (
    "Nombre;Apellidos;Empresa;Correo\r\nAna;Pérez;Talleres SL;ana@example.com\r\nLuis;Gil;;mal@\r\n"
)


@pytest.fixture(autouse=True)
def _media_and_english(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with translation.override("en"):
        yield


@pytest.fixture
def rep_client(client, rep):
    client.force_login(rep)
    return client


def _file(text=CSV, name="leads.csv"):
    return SimpleUploadedFile(name, text.encode("cp1252"))


def _uploaded(user) -> LeadImport:
    return imports.lead_import_create(actor=user, uploaded_file=_file())


def test_pages_need_a_login(client):
    response = client.get(reverse("lead-import-list"))
    assert response.status_code == 302


def test_upload_stores_the_file_and_goes_to_the_mapping(rep_client, rep):
    response = rep_client.post(reverse("lead-import-create"), {"file": _file(), "sheet": ""})

    lead_import = LeadImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("lead-import-mapping", args=[lead_import.pk])
    assert (lead_import.created_by, lead_import.total_rows, lead_import.encoding) == (
        rep,
        2,
        "cp1252",
    )
    assert lead_import.mapping == {
        "0": "first_name",
        "1": "last_name",
        "2": "company",
        "3": "email",
    }


def test_a_refused_file_shows_the_reason_beside_the_field(rep_client):
    response = rep_client.post(reverse("lead-import-create"), {"file": _file("Nombre;Empresa\r\n")})

    assert response.status_code == 200
    assert response.context["form"].errors == {"file": ["The file has column names but no rows."]}
    assert LeadImport.objects.count() == 0


def test_mapping_page_preselects_suggestions_and_previews_rows_with_errors(rep_client, rep):
    lead_import = _uploaded(rep)

    response = rep_client.get(reverse("lead-import-mapping", args=[lead_import.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<option value="first_name" selected>' in html
    assert [(r.number, r.errors) for r in response.context["rows"]] == [
        (2, []),
        (3, ["E-mail: Enter a valid email address."]),
    ]
    assert Lead.objects.count() == 0


def test_preview_partial_follows_the_mapping_being_chosen(rep_client, rep):
    lead_import = _uploaded(rep)

    response = rep_client.get(
        reverse("lead-import-preview", args=[lead_import.pk]),
        {"col_0": "company"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="preview">')
    assert html.count("table-danger") == 0
    assert html.count("bi-check-lg") == 2
    none = rep_client.get(
        reverse("lead-import-preview", args=[lead_import.pk]), HTTP_HX_REQUEST="true"
    )
    assert "Choose at least one column for the name: person&#x27;s or company&#x27;s." in (
        none.content.decode()
    )


def test_start_runs_the_import_and_shows_the_result(
    rep_client, rep, django_capture_on_commit_callbacks
):
    lead_import = _uploaded(rep)
    data = {
        "col_0": "first_name",
        "col_1": "last_name",
        "col_2": "company",
        "col_3": "email",
        "on_duplicate": "skip",
        "save_mapping_as": "CRM antiguo",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = rep_client.post(reverse("lead-import-mapping", args=[lead_import.pk]), data)

    assert response.status_code == 302
    assert response["Location"] == reverse("lead-import-detail", args=[lead_import.pk])
    lead_import.refresh_from_db()
    assert (lead_import.status, lead_import.created_count, lead_import.failed_count) == (
        ImportStatus.DONE,
        1,
        1,
    )
    assert ImportMapping.objects.get().name == "CRM antiguo"
    page = rep_client.get(response["Location"])
    html = page.content.decode()
    assert f"?lead_import={lead_import.pk}" in html
    assert reverse("lead-import-failures", args=[lead_import.pk]) in html
    assert 'hx-trigger="every 1s"' not in html


def test_an_invalid_mapping_is_refused_and_nothing_starts(rep_client, rep):
    lead_import = _uploaded(rep)

    response = rep_client.post(
        reverse("lead-import-mapping", args=[lead_import.pk]),
        {"col_3": "email", "on_duplicate": "skip"},
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Choose at least one column for the name: person's or company's."
    ]
    lead_import.refresh_from_db()
    assert lead_import.status == ImportStatus.UPLOADED


def test_progress_polls_while_running(rep_client, rep):
    lead_import = _uploaded(rep)
    LeadImport.objects.filter(pk=lead_import.pk).update(
        status=ImportStatus.RUNNING, processed_rows=1
    )

    response = rep_client.get(
        reverse("lead-import-detail", args=[lead_import.pk]), HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="import-progress"')
    assert 'hx-trigger="every 1s"' in html
    assert 'aria-valuenow="50"' in html


def test_failures_download_is_csv_with_the_reason(rep_client, rep):
    lead_import = _uploaded(rep)
    imports.lead_import_start(
        actor=rep, lead_import=lead_import, mapping=lead_import.mapping, enqueue=False
    )
    imports.lead_import_run(import_id=lead_import.pk)

    response = rep_client.get(reverse("lead-import-failures", args=[lead_import.pk]))

    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert body.splitlines() == [
        "\ufeffRow;Nombre;Apellidos;Empresa;Correo;Reason",
        "3;Luis;Gil;;mal@;E-mail: Enter a valid email address.",
    ]


def test_undo_asks_then_deletes_the_created_leads(rep_client, rep):
    lead_import = _uploaded(rep)
    imports.lead_import_start(
        actor=rep, lead_import=lead_import, mapping=lead_import.mapping, enqueue=False
    )
    imports.lead_import_run(import_id=lead_import.pk)

    ask = rep_client.get(reverse("lead-import-undo", args=[lead_import.pk]))
    response = rep_client.post(reverse("lead-import-undo", args=[lead_import.pk]))

    assert ask.status_code == 200
    assert Lead.objects.count() == 0
    assert response.status_code == 302
    lead_import.refresh_from_db()
    assert lead_import.status == ImportStatus.UNDONE


def test_history_lists_own_imports_only(rep_client, rep, other_rep):
    mine = _uploaded(rep)
    _uploaded(other_rep)

    response = rep_client.get(reverse("lead-import-list"))

    assert list(response.context["page"].object_list) == [mine]


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("lead-import-detail", "get"),
        ("lead-import-mapping", "get"),
        ("lead-import-preview", "get"),
        ("lead-import-failures", "get"),
        ("lead-import-undo", "post"),
        ("lead-import-resume", "post"),
    ],
)
def test_another_users_import_answers_404_and_stays_as_it_was(rep_client, other_rep, name, method):
    foreign = _uploaded(other_rep)

    response = getattr(rep_client, method)(reverse(name, args=[foreign.pk]))

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == ImportStatus.UPLOADED


def test_a_saved_mapping_can_be_picked_on_the_mapping_page(rep_client, rep):
    template = ImportMapping.objects.create(name="Solo empresa", columns={"empresa": "company"})
    lead_import = _uploaded(rep)

    response = rep_client.get(
        reverse("lead-import-mapping", args=[lead_import.pk]), {"template": template.pk}
    )
    junk = rep_client.get(reverse("lead-import-mapping", args=[lead_import.pk]), {"template": "x"})

    form = response.context["form"]
    assert [form[f"col_{i}"].value() for i in range(4)] == [None, None, "company", None]
    assert junk.status_code == 200
