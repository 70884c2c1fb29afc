import pytest
from django.core.exceptions import ValidationError

from crm.core.models import Channel, CompanySettings
from crm.core.selectors import company_settings_get
from crm.core.services import choice_save, company_settings_update


def _saved_company() -> dict:
    return CompanySettings.objects.values("name", "nif", "phone", "email", "updated_at").get()


def test_company_settings_update_normalises_nif_and_phone(admin):
    # Given
    company_settings_get()

    # When
    company = company_settings_update(
        actor=admin,
        fields={"name": "Talleres Muñoz SL", "nif": "es-b1234567-4", "phone": "600 12 34 56"},
    )

    # Then
    saved = _saved_company()
    assert (saved["name"], saved["nif"], saved["phone"]) == (
        "Talleres Muñoz SL",
        "B12345674",
        "+34600123456",
    )
    assert company.nif == "B12345674"


def test_company_settings_update_creates_the_row_on_first_use(admin):
    assert not CompanySettings.objects.exists()

    company_settings_update(actor=admin, fields={"name": "Nueva SL"})

    assert list(CompanySettings.objects.values_list("pk", "name")) == [(1, "Nueva SL")]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "Otra SL", "nif": "B12345675"}, "nif"),
        ({"name": "Otra SL", "phone": "123"}, "phone"),
        ({"name": "Otra SL", "email": "no-es-un-email"}, "email"),
        ({"name": "Otra SL", "licensed_seats": -1}, "licensed_seats"),
    ],
)
def test_company_settings_update_refuses_invalid_data_and_saves_nothing(admin, fields, field):
    # Given
    company_settings_get()
    before = _saved_company()

    # When
    with pytest.raises(ValidationError) as exc_info:
        company_settings_update(actor=admin, fields=fields)

    # Then
    assert list(exc_info.value.message_dict) == [field]
    assert _saved_company() == before


def test_company_settings_update_refuses_an_unknown_field(admin):
    company_settings_get()
    before = _saved_company()

    with pytest.raises(ValueError, match="unknown company field secret"):
        company_settings_update(actor=admin, fields={"name": "Otra SL", "secret": "x"})

    assert _saved_company() == before


def test_company_settings_update_without_changes_does_not_save(admin):
    # Given
    company_settings_update(actor=admin, fields={"nif": "B12345674"})
    before = _saved_company()

    # When the same NIF comes written in another way
    company_settings_update(actor=admin, fields={"nif": "ES-B12345674"})

    # Then
    assert _saved_company() == before


def test_choice_save_creates_a_channel_with_a_trimmed_name(db):
    channel = choice_save(
        instance=Channel(), name="  Feria de Valencia ", position=3, is_active=True
    )

    assert Channel.objects.values_list("name", "position", "is_active").get(pk=channel.pk) == (
        "Feria de Valencia",
        3,
        True,
    )


def test_choice_save_refuses_a_repeated_name_and_saves_nothing(db):
    # Given "Web" exists from the initial lists
    count = Channel.objects.count()

    # When
    with pytest.raises(ValidationError) as exc_info:
        choice_save(instance=Channel(), name="Web", position=0, is_active=True)

    # Then
    assert list(exc_info.value.message_dict) == ["name"]
    assert Channel.objects.count() == count
