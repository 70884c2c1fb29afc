import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import assume, given
from hypothesis import strategies as st

from crm.core.validation import (
    format_phone,
    normalize_nif,
    normalize_phone,
    validate_nif,
    validate_phone,
)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("B12345674", "B12345674"),  # CIF
        ("ES-B12345674", "B12345674"),
        ("es b12345674", "B12345674"),
        ("  b-1234567-4 ", "B12345674"),
        ("A58818501", "A58818501"),
        ("Q2826000H", "Q2826000H"),  # CIF with a control letter
        ("esQ2826000H", "Q2826000H"),
        ("12345678Z", "12345678Z"),  # DNI
        ("12345678-z", "12345678Z"),
        ("ES 12.345.678-Z", "12345678Z"),
        ("X1234567L", "X1234567L"),  # NIE
        ("x-1234567-l", "X1234567L"),
        ("Y1234567X", "Y1234567X"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize_nif_returns_the_compact_form(value, expected):
    assert normalize_nif(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "B12345675",  # wrong check digit
        "12345678A",  # wrong DNI letter
        "X1234567A",  # wrong NIE letter
        "ES-B12345675",
        "1234567",
        "ABC",
        "ES",
        "B1234567489",
        "=1+1",
    ],
)
def test_normalize_nif_refuses_an_invalid_one(value):
    with pytest.raises(ValidationError) as exc_info:
        normalize_nif(value)

    assert exc_info.value.code == "invalid_nif"
    assert exc_info.value.messages == [f"“{value.strip()}” is not a valid NIF, CIF or NIE."]


def test_validate_nif_accepts_a_valid_one_and_refuses_an_invalid_one():
    assert validate_nif("B12345674") is None
    with pytest.raises(ValidationError):
        validate_nif("B12345675")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("600123456", "+34600123456"),
        ("600 12 34 56", "+34600123456"),
        ("600-12-34-56", "+34600123456"),
        ("+34 600 12 34 56", "+34600123456"),
        ("+34600123456", "+34600123456"),
        ("0034 600 123 456", "+34600123456"),
        ("(+34) 612-345-678", "+34612345678"),
        ("710 12 34 56", "+34710123456"),
        ("910 12 34 56", "+34910123456"),  # landline
        ("  922 12 34 56  ", "+34922123456"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+33 1 42 68 53 00", "+33142685300"),
        ("+49 30 901820", "+4930901820"),
        ("+1 212 555 2368", "+12125552368"),
        ("", ""),
    ],
)
def test_normalize_phone_returns_e164(value, expected):
    assert normalize_phone(value) == expected


@pytest.mark.parametrize(
    "value",
    ["123", "abc", "+34 600", "60012345", "600 12 34 567", "+34 500 123 456", "+999 1234", "="],
)
def test_normalize_phone_refuses_an_invalid_one(value):
    with pytest.raises(ValidationError) as exc_info:
        normalize_phone(value)

    assert exc_info.value.code == "invalid_phone"
    assert exc_info.value.messages == [f"“{value}” is not a valid phone number."]


def test_validate_phone_accepts_a_valid_one_and_refuses_an_invalid_one():
    assert validate_phone("600 12 34 56") is None
    with pytest.raises(ValidationError):
        validate_phone("123")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+34600123456", "600 12 34 56"),
        ("+34910123456", "910 12 34 56"),
        ("+442079460958", "+44 20 7946 0958"),
        ("+33142685300", "+33 1 42 68 53 00"),
        ("", ""),
        ("no es un teléfono", "no es un teléfono"),
    ],
)
def test_format_phone_shows_spanish_numbers_national_and_others_international(value, expected):
    assert format_phone(value) == expected


_spanish_mobiles = st.builds(
    lambda prefix, digits: "+34" + prefix + digits[: 9 - len(prefix)],
    st.sampled_from(["6", "71", "72", "73", "74"]),
    st.text("0123456789", min_size=8, max_size=8),
)


@given(_spanish_mobiles)
def test_format_then_normalize_gives_back_the_same_spanish_mobile(number):
    assume(phonenumbers.is_valid_number(phonenumbers.parse(number)))

    assert normalize_phone(format_phone(number)) == number


@given(_spanish_mobiles)
def test_normalize_phone_accepts_a_mobile_written_with_spaces_and_without_prefix(number):
    assume(phonenumbers.is_valid_number(phonenumbers.parse(number)))
    national = number.removeprefix("+34")
    spaced = f"{national[:3]} {national[3:5]} {national[5:7]} {national[7:]}"

    assert normalize_phone(spaced) == number
    assert normalize_phone(f"+34 {spaced}") == number


def _by_the_parser(value: str) -> str:
    """normalize_phone as phonenumbers alone would answer it (no Spanish fast path)."""
    import phonenumbers

    try:
        number = phonenumbers.parse(value, "ES")
    except phonenumbers.NumberParseException:
        return "invalid"
    if not phonenumbers.is_valid_number(number):
        return "invalid"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _ours(value: str) -> str:
    try:
        return normalize_phone(value)
    except ValidationError:
        return "invalid"


@given(
    prefix=st.sampled_from(["", "+34", "0034", "+34 ", "(+34) ", "0034-"]),
    digits=st.from_regex(r"\A[5-9][0-9]{8}\Z"),
    separators=st.lists(st.sampled_from(["", " ", ".", "-"]), min_size=8, max_size=8),
)
def test_spanish_shapes_normalise_as_phonenumbers_parses_them(prefix, digits, separators):
    written = (
        prefix + digits[0] + "".join(s + d for s, d in zip(separators, digits[1:], strict=True))
    )

    assert _ours(written) == _by_the_parser(written)


@given(st.text(alphabet="+0123456789 .-()", max_size=20))
def test_any_phone_like_text_normalises_as_phonenumbers_parses_it(value):
    assert _ours(value) == (_by_the_parser(value.strip()) if value.strip() else "")
