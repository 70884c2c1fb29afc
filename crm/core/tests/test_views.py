import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.urls import reverse
from PIL import Image

from crm.core.models import Channel, CompanySettings
from crm.core.selectors import company_settings_get
from crm.customers.models import AccountEvent
from crm.customers.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[3]


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "navy").save(buffer, format="PNG")
    return buffer.getvalue()


def test_healthz_answers_200_without_login(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_does_not(client, monkeypatch):
    def broken(*args, **kwargs):
        raise DatabaseError("down")

    monkeypatch.setattr("django.db.backends.utils.CursorWrapper.execute", broken)

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


def test_company_settings_are_for_administrators(client, rep):
    client.force_login(rep)
    assert client.get(reverse("company-settings")).status_code == 403


def test_company_settings_save_with_logo(client, admin, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(admin)

    response = client.post(
        reverse("company-settings"),
        {
            "name": "Suministros Levante SL",
            "nif": "b-12345674",
            "province": "46",
            "currency": "EUR",
            "default_vat_rate": "21",
            "fiscal_year_start_month": "4",
            "time_zone": "Atlantic/Canary",
            "licensed_seats": "10",
            "logo": SimpleUploadedFile("logo.png", png_bytes(), content_type="image/png"),
        },
    )

    assert response.status_code == 302
    company = CompanySettings.objects.get()
    assert company.name == "Suministros Levante SL"
    assert company.nif == "B12345674"
    assert company.fiscal_year_start_month == 4
    assert client.get(reverse("company-logo")).status_code == 200


def test_company_settings_invalid_nif_is_shown_beside_the_field(client, admin):
    client.force_login(admin)

    response = client.post(
        reverse("company-settings"),
        {
            "name": "X",
            "nif": "B12345678",
            "currency": "EUR",
            "default_vat_rate": "21",
            "fiscal_year_start_month": "1",
            "time_zone": "Europe/Madrid",
            "licensed_seats": "3",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["nif"]
    assert company_settings_get().name == "Mi empresa"


@pytest.mark.parametrize(
    ("zone", "shown"),
    [("Europe/Madrid", "16/01/2026 00:30"), ("Atlantic/Canary", "15/01/2026 23:30")],
)
def test_times_are_stored_in_utc_and_shown_in_the_company_time_zone(client, admin, zone, shown):
    CompanySettings.objects.update_or_create(pk=1, defaults={"time_zone": zone})
    account = AccountFactory(owner=admin)
    event = AccountEvent.objects.create(account=account, kind="note", actor=admin, body="hola")
    AccountEvent.objects.filter(pk=event.pk).update(
        created_at=datetime(2026, 1, 15, 23, 30, tzinfo=UTC)
    )
    client.force_login(admin)

    response = client.get(reverse("account-detail", args=[account.pk]))

    assert shown in response.content.decode()


def test_channels_are_configured_in_the_app(client, admin):
    client.force_login(admin)

    client.post(
        reverse("choice-list", args=["channels"]),
        {"name": "Google Ads", "position": 20, "is_active": "on"},
    )
    channel = Channel.objects.get(name="Google Ads")
    response = client.post(
        reverse("choice-update", args=["channels", channel.pk]),
        {"name": "Google Ads (SEM)", "position": 20},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    channel.refresh_from_db()
    assert (channel.name, channel.is_active) == ("Google Ads (SEM)", False)
    assert "Google Ads (SEM)" in response.content.decode()


def test_unknown_list_is_404(client, admin):
    client.force_login(admin)
    assert client.get(reverse("choice-list", args=["planetas"])).status_code == 404


def test_new_installation_has_default_channels_and_sectors():
    assert Channel.objects.filter(name="Web").exists()


def test_check_deploy_has_no_warnings_with_debug_off_and_secrets_set():
    env = {k: v for k, v in os.environ.items() if k not in {"CRM_TESTING", "DEBUG", "DATABASE_URL"}}
    env |= {
        "SECRET_KEY": "x" * 20 + "q8Z!mN2@vB7#kL4$pR9%tY6^wE3&uI1*oA5",
        "ALLOWED_HOSTS": "crm.example.com",
        "DEBUG": "0",
    }
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_settings_refuse_to_start_without_a_secret_when_debug_is_off():
    env = {k: v for k, v in os.environ.items() if k not in {"CRM_TESTING", "DEBUG", "SECRET_KEY"}}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_company_logo_can_be_replaced_and_cleared(client, admin, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(admin)
    base = {
        "name": "Con Logo SL",
        "currency": "EUR",
        "default_vat_rate": "21",
        "fiscal_year_start_month": "1",
        "time_zone": "Europe/Madrid",
        "licensed_seats": "3",
    }
    logo = SimpleUploadedFile("logo.png", png_bytes(), content_type="image/png")
    client.post(reverse("company-settings"), base | {"logo": logo})
    first = CompanySettings.objects.get().logo.name
    assert (tmp_path / first).exists()

    response = client.post(reverse("company-settings"), base | {"logo-clear": "on"})

    assert response.status_code == 302
    assert CompanySettings.objects.get().logo.name == ""
    assert client.get(reverse("company-logo")).status_code == 404


def test_company_logo_must_be_png_or_jpeg(client, admin, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(admin)
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="GIF")

    response = client.post(
        reverse("company-settings"),
        {
            "name": "X",
            "currency": "EUR",
            "default_vat_rate": "21",
            "fiscal_year_start_month": "1",
            "time_zone": "Europe/Madrid",
            "licensed_seats": "3",
            "logo": SimpleUploadedFile("logo.gif", buffer.getvalue(), content_type="image/gif"),
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["logo"]
