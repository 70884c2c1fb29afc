"""Normalisation and validation of Spanish identifiers and phone numbers.

python-stdnum and phonenumbers do the checking; these functions only give them one
shape for the whole project and a translated message.
"""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.es import nif as es_nif
from stdnum.exceptions import ValidationError as StdnumError

DEFAULT_PHONE_REGION = "ES"


def normalize_nif(value: str) -> str:
    """Return the NIF/CIF/NIE in its compact form (B12345674), raising on an invalid one."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        # stdnum drops spaces and dashes; people also write a DNI as 12.345.678-Z.
        return es_nif.validate(value.replace(".", ""))
    except StdnumError as exc:
        raise ValidationError(
            _("“%(value)s” is not a valid NIF, CIF or NIE."),
            code="invalid_nif",
            params={"value": value},
        ) from exc


def validate_nif(value: str) -> None:
    normalize_nif(value)


# The shapes in which Spanish numbers are usually written ("600 12 34 56", "+34 912-345-678",
# "0034 600123456"), once spaces, dots, dashes and brackets are dropped.
_SPANISH_NUMBER = re.compile(r"(?:\+34|0034)?([6-9][0-9]{8})")
_SEPARATORS = str.maketrans("", "", " .-()\u00a0")


def _invalid_phone(value: str) -> ValidationError:
    return ValidationError(
        _("“%(value)s” is not a valid phone number."),
        code="invalid_phone",
        params={"value": value},
    )


def normalize_phone(value: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """Return the phone number as E.164 (+34600123456), raising on an invalid one."""
    value = (value or "").strip()
    if not value:
        return ""
    if region == "ES":
        spanish = _SPANISH_NUMBER.fullmatch(value.translate(_SEPARATORS))
        if spanish:
            # What phonenumbers.parse would make of it (+34 and these nine digits), without
            # its general parsing, which dominates a large import; validity is still its own.
            digits = spanish.group(1)
            number = phonenumbers.PhoneNumber(country_code=34, national_number=int(digits))
            if not phonenumbers.is_valid_number(number):
                raise _invalid_phone(value)
            return "+34" + digits
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("“%(value)s” is not a valid phone number."),
            code="invalid_phone",
            params={"value": value},
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number."),
            code="invalid_phone",
            params={"value": value},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_phone(value: str) -> None:
    normalize_phone(value)


def format_phone(value: str) -> str:
    """Show an E.164 number the way people read it: +34 600 12 34 56, or 600 12 34 56 for Spain."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return value
    if number.country_code == 34:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalize_postal_code(value: str, country: str = "ES") -> str:
    """A Spanish postal code has five digits whose first two name the province (01-52)."""
    value = (value or "").strip()
    if not value or country != "ES":
        return value
    if len(value) == 4 and value.isdigit():
        value = "0" + value  # Excel drops the leading zero of 08001
    if not (len(value) == 5 and value.isdigit() and 1 <= int(value[:2]) <= 52):
        raise ValidationError(
            _("“%(value)s” is not a Spanish postal code (five digits, 01000 to 52999)."),
            code="invalid_postal_code",
            params={"value": value},
        )
    return value


def province_of_postal_code(postal_code: str) -> str:
    """The province code (as in localflavor's list) that a Spanish postal code belongs to."""
    return postal_code[:2] if len(postal_code) == 5 and postal_code.isdigit() else ""
