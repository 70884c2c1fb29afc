"""The lead import API: /api/v1/lead-imports/."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from rest_framework.test import APIClient

from crm.leads import imports
from crm.leads.models import ImportMapping, ImportStatus, Lead, LeadImport
from crm.users.services import token_for

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


URL = "/api/v1/lead-imports/"
CSV = "Nombre;Empresa;Correo\r\nAna;Talleres SL;ana@example.com\r\nLuis;;mal@\r\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _as(client: APIClient, user) -> APIClient:
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_for(user=user).key}", HTTP_ACCEPT_LANGUAGE="en"
    )
    return client


def _file(text=CSV, name="leads.csv"):
    return SimpleUploadedFile(name, text.encode("utf-8"))


def test_preview_answers_rows_with_errors_and_writes_nothing(api_client, rep):
    response = _as(api_client, rep).post(
        URL, {"file": _file(), "preview": "true"}, format="multipart"
    )

    assert response.status_code == 200
    assert response.json() == {
        "headers": ["Nombre", "Empresa", "Correo"],
        "mapping": {"0": "first_name", "1": "company", "2": "email"},
        "total_rows": 2,
        "rows": [
            {
                "number": 2,
                "values": ["Ana", "Talleres SL", "ana@example.com"],
                "errors": [],
                "duplicate": "",
            },
            {
                "number": 3,
                "values": ["Luis", "", "mal@"],
                "errors": ["E-mail: Enter a valid email address."],
                "duplicate": "",
            },
        ],
    }
    assert LeadImport.objects.count() == 0
    assert Lead.objects.count() == 0


def test_post_queues_the_import_which_runs(api_client, rep, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _as(api_client, rep).post(
            URL,
            {"file": _file(), "mapping": json.dumps({"Nombre": "first_name", "1": "company"})},
            format="multipart",
        )

    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["mapping"]) == ("queued", {"0": "first_name", "1": "company"})
    detail = api_client.get(f"{URL}{body['id']}/").json()
    assert {k: detail[k] for k in ("status", "progress_percent", "created_count")} == {
        "status": "done",
        "progress_percent": 100,
        "created_count": 2,
    }
    assert sorted(Lead.objects.values_list("first_name", flat=True)) == ["Ana", "Luis"]


def test_a_saved_mapping_is_used_by_name(api_client, rep, django_capture_on_commit_callbacks):
    ImportMapping.objects.create(name="Solo empresa", columns={"empresa": "company"})

    with django_capture_on_commit_callbacks(execute=True):
        response = _as(api_client, rep).post(
            URL, {"file": _file(), "mapping_name": "Solo empresa"}, format="multipart"
        )

    assert response.status_code == 202
    lead_import = LeadImport.objects.get()
    assert (lead_import.mapping, lead_import.created_count, lead_import.failed_count) == (
        {"1": "company"},
        1,
        1,
    )


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"file": _file("")}, {"file": ["The submitted file is empty."]}),
        ({"file": _file("Nombre\r\n")}, {"file": ["The file has column names but no rows."]}),
        (
            {"file": _file(), "mapping": '{"Correo": "email"}'},
            {"mapping": ["Choose at least one column for the name: person's or company's."]},
        ),
        ({"file": _file(), "mapping": "[1,"}, {"mapping": ["Give the mapping as a JSON object."]}),
        (
            {"file": _file(), "mapping_name": "Nada"},
            {"mapping": ["There is no saved mapping “Nada”."]},
        ),
        (
            {"file": _file(), "on_duplicate": "merge"},
            {"on_duplicate": ['"merge" is not a valid choice.']},
        ),
    ],
)
def test_refused_input_answers_400_and_writes_nothing(api_client, rep, data, errors):
    response = _as(api_client, rep).post(URL, data, format="multipart")

    assert response.status_code == 400
    assert response.json() == errors
    assert LeadImport.objects.filter(status=ImportStatus.QUEUED).count() == 0
    assert Lead.objects.count() == 0


def _done(user) -> LeadImport:
    with translation.override("en"):
        lead_import = imports.lead_import_create(actor=user, uploaded_file=_file())
        imports.lead_import_start(
            actor=user, lead_import=lead_import, mapping=lead_import.mapping, enqueue=False
        )
        return imports.lead_import_run(import_id=lead_import.pk)


def test_list_shows_own_imports_in_constant_queries(api_client, rep, other_rep):
    first = _done(rep)
    _done(other_rep)
    client = _as(api_client, rep)
    client.get(URL)
    with CaptureQueriesContext(connection) as one:
        client.get(URL)
    second = _done(rep)
    third = _done(rep)
    client.get(URL)

    with CaptureQueriesContext(connection) as three:
        response = client.get(URL)

    ids = [row["id"] for row in response.json()["results"]]
    assert ids == [third.pk, second.pk, first.pk]
    assert len(three) == len(one)


def test_failures_are_a_csv(api_client, rep):
    lead_import = _done(rep)

    response = _as(api_client, rep).get(f"{URL}{lead_import.pk}/failures/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode().splitlines() == [
        "\ufeffRow;Nombre;Empresa;Correo;Reason",
        "3;Luis;;mal@;E-mail: Enter a valid email address.",
    ]


def test_undo_deletes_the_created_leads(api_client, rep):
    lead_import = _done(rep)

    response = _as(api_client, rep).post(f"{URL}{lead_import.pk}/undo/")

    assert response.status_code == 200
    body = response.json()
    assert (body["deleted"], body["kept_converted"], body["lead_import"]["status"]) == (
        1,
        0,
        "undone",
    )
    assert Lead.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "suffix"), [("get", ""), ("get", "failures/"), ("post", "undo/")]
)
def test_another_users_import_answers_404_and_stays(api_client, rep, other_rep, method, suffix):
    foreign = _done(other_rep)

    response = getattr(_as(api_client, rep), method)(f"{URL}{foreign.pk}/{suffix}")

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == ImportStatus.DONE
    assert Lead.objects.filter(lead_import=foreign).count() == 1


def test_anonymous_requests_are_refused(api_client):
    assert api_client.get(URL).status_code == 401
