"""Importing leads from a file: reading CSV and XLSX, mapping columns, and the import services.

Reading. A CSV file may use ; , tab or | as separator (detected on a sample) and be UTF-8, with
or without BOM, or Windows-1252 / Latin-1 as Spanish Excel writes it (detected by trying to
decode the whole file). An XLSX file is read with openpyxl in read-only mode, from its first
sheet or a chosen one; numbers that are whole (a phone typed as 600123456) become their digits.
Rows are streamed: nothing holds the whole file in memory.

Mapping. Each column goes to a lead field (or is ignored): suggested from Spanish and English
headers, or taken from a saved `ImportMapping` by folded header. Values of choice and related
fields are converted here (province by code, name, co-official name or postal code; channel and
sector by name among the configured lists; size by segment or number of employees; owner by
username, e-mail or name among the users the importer may give leads to); everything else goes
through `crm.leads.services.lead_clean_fields`, the rule set of every lead.

Running. `lead_import_run` writes the rows in batches, each in one transaction that also moves
the import's counters, so a crash leaves the database as of the last committed batch and running
again resumes after it (`Lead(lead_import, import_row)` is unique: a batch cannot be written
twice). Duplicates are found per batch with a few IN queries against leads (not converted),
accounts and contacts (e-mail, phone or mobile, NIF) and against the earlier rows of the file:

- skip: the row is not written; it is counted as skipped and listed with its reason;
- update: when the match is a lead the importer can see, the row's non-empty values replace the
  lead's (empty cells never erase data; the owner and channel are kept) through `lead_update`,
  which records the change on the lead's timeline. A match that is an account or contact only,
  a converted or invisible lead, or an earlier row of the same file is skipped with its reason;
- create: the row is written anyway.

Undo deletes the leads that the import created and that were not converted since; converted
leads (now accounts) and leads the import updated stay as they are.
"""

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from huey.contrib.djhuey import db_task

from crm.core.events import current_depth
from crm.core.models import PROVINCES, Channel, DomainEvent, Sector
from crm.core.tabular import (
    csv_rows,
    fold_header,
    inspect_file,
    is_blank,
    xlsx_rows,
)
from crm.core.tasks import dispatch
from crm.customers.models import Account, Contact, SizeSegment
from crm.leads.assignment import Assigner
from crm.leads.models import (
    ImportMapping,
    ImportRowError,
    ImportStatus,
    Lead,
    LeadImport,
    LeadStatus,
    OnDuplicate,
)
from crm.leads.selectors import lead_assignable_owners
from crm.leads.services import LEAD_FIELDS, channel_named, lead_clean_fields, lead_update
from crm.users.models import User

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 50 * 1024 * 1024
BATCH_SIZE = 2_000

# Columns may also hold a full name (split into first and last name) or a postal code (which
# gives the province when there is no province column).
EXTRA_FIELDS = {"full_name", "postal_code"}
IMPORT_FIELDS = LEAD_FIELDS | EXTRA_FIELDS
NAME_FIELDS = {"first_name", "last_name", "company", "full_name"}
FIELD_LABELS = {
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "full_name": gettext_lazy("Full name (split)"),
    "company": gettext_lazy("Company"),
    "position": gettext_lazy("Position"),
    "email": gettext_lazy("E-mail"),
    "phone": gettext_lazy("Phone"),
    "mobile": gettext_lazy("Mobile"),
    "nif": gettext_lazy("NIF / CIF / NIE"),
    "province": gettext_lazy("Province"),
    "postal_code": gettext_lazy("Postal code (gives the province)"),
    "city": gettext_lazy("City"),
    "sector": gettext_lazy("Sector"),
    "size_segment": gettext_lazy("Size"),
    "channel": gettext_lazy("Channel"),
    "campaign": gettext_lazy("Campaign"),
    "products_of_interest": gettext_lazy("Products of interest"),
    "score": gettext_lazy("Score"),
    "owner": gettext_lazy("Owner"),
    "notes": gettext_lazy("Notes"),
}

# Field -> folded headers (accents, case and punctuation removed), separated by |.
HEADER_ALIASES = {
    "first_name": "nombre|nombre de pila|first name|firstname|given name|forename",
    "last_name": ("apellidos|apellido|primer apellido|last name|lastname|surname|family name"),
    "full_name": (
        "nombre completo|nombre y apellidos|contacto|persona de contacto|"
        "full name|name|contact|contact name"
    ),
    "company": (
        "empresa|razon social|compania|company|company name|organizacion|"
        "organization|organisation|nombre empresa|nombre de la empresa|"
        "nombre comercial|cliente|account|account name"
    ),
    "position": "cargo|puesto|job title|title|position|funcion",
    "email": (
        "correo|email|e mail|correo electronico|mail|email address|"
        "e mail address|direccion de correo"
    ),
    "phone": (
        "telefono|tel|tlf|telf|tfno|phone|telephone|phone number|telefono fijo|fijo|work phone"
    ),
    "mobile": ("movil|celular|mobile|cell|cell phone|mobile phone|telefono movil|tel movil"),
    "nif": ("cif|nif|nie|dni|vat|vat number|tax id|cif nif|nif cif|nif cif nie|nif nie|dni nif"),
    "province": "provincia|province|state|region|county",
    "postal_code": "codigo postal|cp|c p|postal code|zip|zip code|postcode",
    "city": "ciudad|localidad|poblacion|municipio|city|town|locality",
    "sector": "sector|actividad|sector de actividad|industry|industria",
    "size_segment": (
        "tamano|empleados|numero de empleados|n empleados|no empleados|"
        "n de empleados|plantilla|size|company size|employees|"
        "number of employees"
    ),
    "channel": "canal|origen|fuente|source|channel|lead source|procedencia",
    "campaign": "campana|campaign",
    "products_of_interest": (
        "productos|producto|interes|productos de interes|products|product|"
        "interest|products of interest"
    ),
    "score": "puntuacion|score|lead score|valoracion|scoring",
    "notes": (
        "notas|nota|observaciones|comentarios|comentario|notes|note|comments|"
        "description|descripcion"
    ),
    "owner": (
        "comercial|propietario|owner|responsable|asignado a|assigned to|vendedor|sales rep|agente"
    ),
}
_ALIASES = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases.split("|")}

# Province code -> names people write that are not the list's own (co-official, old...).
PROVINCE_ALIASES = {
    "01": "alava|araba alava|alava araba",
    "03": "alicante|alacant alicante|alicante alacant",
    "07": "baleares|islas baleares|illes balears|balears",
    "12": "castellon|castellon de la plana|castello de la plana|castellon castello",
    "15": "la coruna|coruna|a coruna",
    "17": "gerona|girona gerona",
    "20": "guipuzcoa|gipuzkoa|gipuzkoa guipuzcoa|guipuzcoa gipuzkoa",
    "25": "lerida|lleida lerida",
    "26": "rioja",
    "31": "navarra|nafarroa",
    "32": "orense|ourense orense",
    "33": "asturies|principado de asturias",
    "35": "gran canaria|palmas|las palmas de gran canaria",
    "38": "tenerife|santa cruz",
    "41": "sevilla",
    "46": "valencia valencia|valencia",
    "48": "vizcaya|bizkaia vizcaya|vizcaya bizkaia",
}


def suggest_field(header: str) -> str:
    return _ALIASES.get(fold_header(header), "")


def suggest_mapping(headers: list[str], template: ImportMapping | None = None) -> dict[str, str]:
    """{column position: field} from a saved template (by folded header), else by the headers'
    names; each field goes to its first column only."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    columns = {fold_header(k): v for k, v in (template.columns if template else {}).items()}
    for index, header in enumerate(headers):
        name = columns.get(fold_header(header), "") if template else suggest_field(header)
        if name in IMPORT_FIELDS and name not in taken:
            mapping[str(index)] = name
            taken.add(name)
    if "full_name" in taken and taken & {"first_name", "last_name"}:
        mapping = {k: v for k, v in mapping.items() if v != "full_name"}
    return mapping


def clean_mapping(mapping: dict, headers: list[str]) -> dict[str, str]:
    """The mapping as stored: valid positions, known fields, each field once, a name column."""
    clean: dict[str, str] = {}
    seen: dict[str, str] = {}
    for key, name in (mapping or {}).items():
        if not name:
            continue
        key = str(key)
        if not key.isdigit() or int(key) >= len(headers):
            raise ValidationError(
                {"mapping": _("Column %(column)s does not exist.") % {"column": key}}
            )
        if name not in IMPORT_FIELDS:
            raise ValidationError({"mapping": _("Unknown field “%(field)s”.") % {"field": name}})
        if name in seen:
            raise ValidationError(
                {
                    "mapping": _("Two columns go to %(field)s: “%(first)s” and “%(second)s”.")
                    % {
                        "field": FIELD_LABELS[name],
                        "first": headers[int(seen[name])],
                        "second": headers[int(key)],
                    }
                }
            )
        seen[name] = key
        clean[key] = name
    if not set(clean.values()) & NAME_FIELDS:
        raise ValidationError(
            {"mapping": _("Choose at least one column for the name: person's or company's.")}
        )
    return clean


def read_rows(lead_import: LeadImport) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of every non-blank data row, the header being row 1, the cells
    padded or cut to the header's width. Streams the file."""
    width = len(lead_import.headers)
    with lead_import.file.open("rb") as binary:
        if lead_import.encoding:
            rows = csv_rows(binary, lead_import.encoding, lead_import.delimiter or ";")
        else:
            rows = xlsx_rows(binary, lead_import.sheet)
        header_seen = False
        for number, row in enumerate(rows, start=1):
            if is_blank(row):
                continue
            if not header_seen:
                header_seen = True
                continue
            if len(row) < width:
                row = row + [""] * (width - len(row))
            yield number, [cell.strip() for cell in row[:width]]


# -- converting values --


def _lookup(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    return {fold_header(name): value for name, value in items}


def _province_lookup() -> dict[str, str]:
    lookup = {}
    for code, name in PROVINCES:
        lookup[fold_header(str(name))] = code
        lookup[code] = code
    for code, names in PROVINCE_ALIASES.items():
        lookup.update({fold_header(name): code for name in names.split("|")})
    return lookup


PROVINCE_LOOKUP: dict[str, str] = {}


def _size_lookup() -> dict[str, str]:
    lookup = {}
    for value, label in SizeSegment.choices:
        lookup[fold_header(value)] = value
        for language in ("es", "en"):
            with translation.override(language):
                lookup[fold_header(str(label))] = value
    return lookup


def size_from_employees(count: int) -> str:
    if count <= 2:
        return SizeSegment.MICRO
    if count <= 9:
        return SizeSegment.SMALL
    if count <= 49:
        return SizeSegment.MEDIUM
    return SizeSegment.LARGE


class RowError(Exception):
    """A row that cannot be written, with its reason."""


class Converter:
    """Turns a row's cells into lead fields by the mapping; built once per import, holding
    every lookup it needs so that no row queries the database."""

    def __init__(self, *, lead_import: LeadImport, mapping: dict[str, str], actor: User):
        global PROVINCE_LOOKUP
        if not PROVINCE_LOOKUP:
            PROVINCE_LOOKUP = _province_lookup()
        self.columns = sorted((int(k), v) for k, v in mapping.items())
        self.fields = {name for _index, name in self.columns}
        self.channels = _lookup((c.name, c) for c in Channel.objects.filter(is_active=True))
        self.sectors = _lookup((s.name, s) for s in Sector.objects.filter(is_active=True))
        self.sizes = _size_lookup()
        self.default_channel = None if "channel" in self.fields else channel_named("Importación")
        self._memo: dict[tuple[str, str], tuple[Any, list[str]]] = {}
        self.owners: dict[str, User] = {}
        if "owner" in self.fields:
            for user in lead_assignable_owners(actor=actor):
                for key in (user.username, user.email, user.get_full_name()):
                    if key:
                        self.owners.setdefault(fold_header(key), user)
                        self.owners.setdefault(key.strip().lower(), user)

    def values(self, cells: list[str]) -> dict[str, str]:
        return {name: cells[index] for index, name in self.columns}

    def convert(self, cells: list[str]) -> dict[str, Any]:
        """The row's lead fields, cleaned; raises RowError naming every bad value."""
        raw = self.values(cells)
        errors: list[str] = []
        fields: dict[str, Any] = {}
        postal_code = raw.pop("postal_code", "")
        full_name = raw.pop("full_name", "")
        if full_name:
            first, _sep, last = full_name.strip().partition(" ")
            fields["first_name"], fields["last_name"] = first, last.strip()
        for name, value in raw.items():
            if name in self.LOOKED_UP:
                fields[name] = self._looked_up(name, value, errors)
            else:
                fields[name] = value
        if postal_code and not fields.get("province"):
            digits = postal_code.strip()
            if len(digits) == 4 and digits.isdigit():
                digits = "0" + digits
            code = digits[:2] if len(digits) == 5 and digits.isdigit() else ""
            if code in PROVINCE_LOOKUP and code.isdigit() and "01" <= code <= "52":
                fields["province"] = code
            else:
                errors.append(
                    _("“%(value)s” is not a Spanish postal code.") % {"value": postal_code}
                )
        if "channel" not in self.fields:
            fields["channel"] = self.default_channel
        try:
            fields = lead_clean_fields(fields)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                label = FIELD_LABELS.get(name, name)
                errors.extend(f"{label}: {message}" for message in messages)
        if not errors and not (
            fields.get("first_name") or fields.get("last_name") or fields.get("company")
        ):
            errors.append(_("The row has no name: give the person's or the company's."))
        if errors:
            raise RowError(" ".join(errors))
        return fields

    LOOKED_UP = {"province", "channel", "sector", "size_segment", "owner"}
    MEMO_SIZE = 20_000

    def _looked_up(self, name: str, value: str, errors: list[str]):
        """A choice or related value, remembered by its text: a file repeats them."""
        key = (name, value)
        hit = self._memo.get(key)
        if hit is None:
            found: list[str] = []
            if name == "province":
                result = self._province(value, found)
            elif name == "channel":
                result = self._choice(self.channels, value, _("channel"), found)
            elif name == "sector":
                result = self._choice(self.sectors, value, _("sector"), found)
            elif name == "size_segment":
                result = self._size(value, found)
            else:
                result = self._owner(value, found)
            hit = (result, found)
            if len(self._memo) < self.MEMO_SIZE:
                self._memo[key] = hit
        errors.extend(hit[1])
        return hit[0]

    def _province(self, value: str, errors: list[str]) -> str:
        value = value.strip()
        if not value:
            return ""
        if value.isdigit():
            if len(value) <= 2:
                code = value.zfill(2)
                if code in PROVINCE_LOOKUP:
                    return code
            digits = value.zfill(5) if len(value) == 4 else value
            if len(digits) == 5 and "01" <= digits[:2] <= "52":
                return digits[:2]
        key = fold_header(value)
        code = PROVINCE_LOOKUP.get(key)
        if code is None and " " in key:
            # "Valencia/València", "Alicante (Alacant)": try each part.
            for part in re.split(r"[/()]", value):
                code = PROVINCE_LOOKUP.get(fold_header(part))
                if code:
                    break
        if code is None:
            errors.append(_("Unknown province “%(value)s”.") % {"value": value})
            return ""
        return code

    def _choice(self, lookup: dict, value: str, what: str, errors: list[str]):
        if not value.strip():
            return None
        found = lookup.get(fold_header(value))
        if found is None:
            errors.append(
                _("Unknown %(what)s “%(value)s”: add it in the settings or correct it.")
                % {"what": what, "value": value}
            )
        return found

    def _size(self, value: str, errors: list[str]) -> str:
        value = value.strip()
        if not value:
            return ""
        found = self.sizes.get(fold_header(value))
        if found:
            return found
        number = value.replace(".", "").replace(",", ".")
        try:
            return size_from_employees(int(Decimal(number)))
        except (ArithmeticError, ValueError):
            errors.append(_("Unknown size “%(value)s”.") % {"value": value})
            return ""

    def _owner(self, value: str, errors: list[str]) -> User | None:
        value = value.strip()
        if not value:
            return None
        user = self.owners.get(value.lower()) or self.owners.get(fold_header(value))
        if user is None:
            errors.append(_("“%(value)s” is not a user you can give leads to.") % {"value": value})
        return user


# -- duplicates --


def _chunks(values: list, size: int = 900) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _keys(fields: dict[str, Any]) -> list[tuple[str, str]]:
    keys = []
    if fields.get("email"):
        keys.append(("email", fields["email"]))
    if fields.get("nif"):
        keys.append(("nif", fields["nif"]))
    for name in ("phone", "mobile"):
        if fields.get(name):
            keys.append(("phone", fields[name]))
    return keys


KEY_LABELS = {
    "email": gettext_lazy("e-mail"),
    "nif": gettext_lazy("NIF"),
    "phone": gettext_lazy("phone"),
}


@dataclass
class Match:
    kind: str  # lead, account, contact
    pk: int
    key: str
    value: str


def existing_matches(rows: list[dict[str, Any]]) -> dict[tuple[str, str], Match]:
    """Existing leads (not converted), accounts and contacts sharing an e-mail, a NIF or a
    phone with the given rows: a few IN queries for the whole batch. Leads come first."""
    emails = sorted({f["email"] for f in rows if f.get("email")})
    nifs = sorted({f["nif"] for f in rows if f.get("nif")})
    phones = sorted({f[n] for f in rows for n in ("phone", "mobile") if f.get(n)})
    found: dict[tuple[str, str], Match] = {}
    # Plain SQL: with thousands of values per batch, building the ORM's IN lists costs more
    # than the database's indexed look-ups. Names come from model metadata; values are bound.
    quote = connection.ops.quote_name
    searches = [
        ("lead", Lead, {"email": "email", "nif": "nif", "phone": "phone", "mobile": "phone"}),
        ("account", Account, {"email": "email", "nif": "nif", "phone": "phone"}),
        ("contact", Contact, {"email": "email", "phone": "phone", "mobile": "phone"}),
    ]
    wanted = {"email": emails, "nif": nifs, "phone": phones}
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        for kind, model, columns in searches:
            table = quote(model._meta.db_table)
            names = list(columns)
            select = ", ".join(quote(model._meta.get_field(name).column) for name in names)
            extra, extra_params = "", []
            if model is Lead:
                extra, extra_params = f" AND {quote('status')} <> %s", [LeadStatus.CONVERTED]
            for column, key in columns.items():
                for chunk in _chunks(wanted[key], size=10_000 if postgres else 900):
                    if postgres:
                        # One array parameter: PostgreSQL's client-side binding parses each
                        # placeholder in Python.
                        condition, params = f"{quote(column)} = ANY(%s)", [chunk]
                    else:
                        marks = ", ".join(["%s"] * len(chunk))
                        condition, params = f"{quote(column)} IN ({marks})", chunk
                    cursor.execute(
                        f"SELECT id, {select} FROM {table} "  # noqa: S608
                        f"WHERE {condition}{extra} ORDER BY id",
                        [*params, *extra_params],
                    )
                    for pk, *values in cursor.fetchall():
                        for name, value in zip(names, values, strict=True):
                            if value:
                                value = value.lower() if name == "email" else value
                                match_key = (columns[name], value)
                                if (
                                    match_key not in found
                                    or found[match_key].pk > pk
                                    and (found[match_key].kind == kind)
                                ):
                                    found[match_key] = Match(kind, pk, columns[name], value)
    return found


def _match_reason(match: Match) -> str:
    kinds = {
        "lead": _("an existing lead"),
        "account": _("an existing account"),
        "contact": _("an existing contact"),
    }
    return _("Same %(key)s (%(value)s) as %(record)s (#%(id)d).") % {
        "key": KEY_LABELS[match.key],
        "value": match.value,
        "record": kinds[match.kind],
        "id": match.pk,
    }


def _first_match(fields: dict, matches: dict) -> Match | None:
    found = [matches[key] for key in _keys(fields) if key in matches]
    leads = [m for m in found if m.kind == "lead"]
    return (leads or found or [None])[0]


# -- preview --


@dataclass
class PreviewRow:
    number: int
    values: list[str]
    errors: list[str]
    duplicate: str = ""


def lead_import_preview(
    *, lead_import: LeadImport, mapping: dict[str, str], rows: int = 20
) -> list[PreviewRow]:
    """The first rows as they would be imported, each with its errors and duplicate; writes
    nothing. `mapping` must already be valid (`clean_mapping`)."""
    actor = lead_import.created_by
    converter = Converter(lead_import=lead_import, mapping=mapping, actor=actor)
    preview: list[PreviewRow] = []
    cleaned: list[tuple[PreviewRow, dict]] = []
    for number, cells in read_rows(lead_import):
        row = PreviewRow(number=number, values=cells, errors=[])
        try:
            fields = converter.convert(cells)
        except RowError as exc:
            row.errors.append(str(exc))
        else:
            cleaned.append((row, fields))
        preview.append(row)
        if len(preview) >= rows:
            break
    matches = existing_matches([fields for _row, fields in cleaned])
    seen: dict[tuple[str, str], int] = {}
    for row, fields in cleaned:
        match = _first_match(fields, matches)
        if match:
            row.duplicate = _match_reason(match)
        for key in _keys(fields):
            if key in seen and not row.duplicate:
                row.duplicate = _("Same %(key)s as row %(row)d.") % {
                    "key": KEY_LABELS[key[0]],
                    "row": seen[key],
                }
            seen.setdefault(key, row.number)
    return preview


# -- services --


def lead_import_inspect(*, uploaded_file: UploadedFile, sheet: str = "") -> LeadImport:
    """An unsaved import of the uploaded file: its type, encoding, separator, headers and
    row count; raises ValidationError for an empty, unreadable, too big or unknown file."""
    if uploaded_file is None:
        raise ValidationError({"file": _("Choose a file.")})
    if uploaded_file.size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    if uploaded_file.size > MAX_FILE_BYTES:
        raise ValidationError(
            {"file": _("The file is larger than %(max)d MB.") % {"max": MAX_FILE_BYTES // 2**20}}
        )
    uploaded_file.seek(0)
    name = PurePath(uploaded_file.name or "import.csv").name
    info = inspect_file(uploaded_file, name, (sheet or "").strip())
    uploaded_file.seek(0)
    return LeadImport(
        file=uploaded_file,
        filename=name[:255],
        sha256=info.sha256,
        sheet=info.sheet,
        encoding=info.encoding,
        delimiter=info.delimiter,
        headers=info.headers,
        total_rows=info.total_rows,
    )


@transaction.atomic
def lead_import_create(*, actor: User, uploaded_file: UploadedFile, sheet: str = "") -> LeadImport:
    """Store an uploaded file as an import waiting for its mapping."""
    lead_import = lead_import_inspect(uploaded_file=uploaded_file, sheet=sheet)
    lead_import.created_by = actor
    lead_import.mapping = suggest_mapping(lead_import.headers)
    lead_import.full_clean(exclude=["file"])
    lead_import.save()
    return lead_import


def previous_imports_of_same_file(*, lead_import: LeadImport):
    """Earlier imports of a file with the same content (a warning on the mapping page)."""
    return (
        LeadImport.objects.filter(sha256=lead_import.sha256, status=ImportStatus.DONE)
        .exclude(pk=lead_import.pk)
        .order_by("-created_at")
    )


def _check_may_run(actor: User, lead_import: LeadImport) -> None:
    if not LeadImport.objects.visible_to(actor).filter(pk=lead_import.pk).exists():
        raise PermissionDenied


@transaction.atomic
def lead_import_start(
    *,
    actor: User,
    lead_import: LeadImport,
    mapping: dict[str, str],
    on_duplicate: str = OnDuplicate.SKIP,
    save_mapping_as: str = "",
    enqueue: bool = True,
) -> LeadImport:
    """Fix the mapping and the duplicate choice and queue the import for the worker (after
    the commit); `enqueue=False` leaves it queued for the caller to run (the command)."""
    _check_may_run(actor, lead_import)
    lead_import = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
    if lead_import.status != ImportStatus.UPLOADED:
        raise ValidationError(_("This import has already been started."))
    if on_duplicate not in OnDuplicate.values:
        raise ValidationError({"on_duplicate": _("Choose skip, update or create.")})
    mapping = clean_mapping(mapping, lead_import.headers)
    save_mapping_as = (save_mapping_as or "").strip()
    if save_mapping_as:
        import_mapping_save(
            actor=actor, name=save_mapping_as, headers=lead_import.headers, mapping=mapping
        )
    lead_import.mapping = mapping
    lead_import.on_duplicate = on_duplicate
    lead_import.status = ImportStatus.QUEUED
    lead_import.save(update_fields=["mapping", "on_duplicate", "status", "updated_at"])
    if enqueue:
        _enqueue(lead_import.pk)
    return lead_import


def _enqueue(import_id: int) -> None:
    from crm.leads.tasks import lead_import_task

    transaction.on_commit(lambda: lead_import_task(import_id))


STALE_AFTER = timedelta(minutes=10)


def lead_import_is_stale(lead_import: LeadImport) -> bool:
    """Queued or running but not moved for a while: its worker died (a batch takes seconds)."""
    return (
        lead_import.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)
        and lead_import.updated_at is not None
        and lead_import.updated_at < timezone.now() - STALE_AFTER
    )


@transaction.atomic
def lead_import_resume(*, actor: User, lead_import: LeadImport) -> LeadImport:
    """Queue again an import that failed, or whose worker died: it goes on after its last
    committed batch."""
    _check_may_run(actor, lead_import)
    lead_import = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
    if lead_import.status != ImportStatus.FAILED and not lead_import_is_stale(lead_import):
        raise ValidationError(_("Only a failed or stalled import can be resumed."))
    lead_import.status = ImportStatus.QUEUED
    lead_import.error = ""
    lead_import.save(update_fields=["status", "error", "updated_at"])
    _enqueue(lead_import.pk)
    return lead_import


def import_mapping_save(
    *, actor: User, name: str, headers: list[str], mapping: dict[str, str]
) -> ImportMapping:
    """Save (or replace) a named mapping, by folded header, for files with the same columns."""
    name = name.strip()[:100]
    if not name:
        raise ValidationError({"save_mapping_as": _("Give the mapping a name.")})
    columns = {fold_header(headers[int(k)]): v for k, v in mapping.items()}
    template, _created = ImportMapping.objects.update_or_create(
        name=name, defaults={"columns": columns, "created_by": actor}
    )
    return template


class _Stop(Exception):
    """Another run of the same import moved it on: this one stops."""


def _batches(rows: Iterator, size: int) -> Iterator[list]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def lead_import_run(*, import_id: int, batch_size: int = BATCH_SIZE) -> LeadImport | None:
    """Run a queued (or failed, or interrupted) import to its end; safe to run twice.

    Each batch is one transaction: leads, row errors, updates and the counters together. On an
    unexpected error the import is marked failed with the message; its committed batches stay
    and running it again resumes after them.
    """
    with transaction.atomic():
        lead_import = LeadImport.objects.select_for_update().filter(pk=import_id).first()
        if lead_import is None or lead_import.status not in (
            ImportStatus.QUEUED,
            ImportStatus.RUNNING,
            ImportStatus.FAILED,
        ):
            return lead_import
        lead_import.status = ImportStatus.RUNNING
        lead_import.error = ""
        lead_import.started_at = lead_import.started_at or timezone.now()
        lead_import.save(update_fields=["status", "error", "started_at", "updated_at"])
    # Row reasons are stored as text: in the importer's language, as the pages would show them.
    language = getattr(lead_import.created_by, "language", "") or translation.get_language()
    try:
        with translation.override(language):
            _run(lead_import, batch_size)
    except _Stop:
        return LeadImport.objects.get(pk=import_id)
    except Exception as exc:
        logger.exception("lead import %s failed", import_id)
        LeadImport.objects.filter(pk=import_id).update(
            status=ImportStatus.FAILED, error=str(exc)[:2000] or exc.__class__.__name__
        )
        return LeadImport.objects.get(pk=import_id)
    LeadImport.objects.filter(pk=import_id, status=ImportStatus.RUNNING).update(
        status=ImportStatus.DONE, finished_at=timezone.now(), updated_at=timezone.now()
    )
    return LeadImport.objects.get(pk=import_id)


@dataclass
class _Batch:
    leads: list[Lead] = field(default_factory=list)
    errors: list[ImportRowError] = field(default_factory=list)
    updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0


def _run(lead_import: LeadImport, batch_size: int) -> None:
    actor = lead_import.created_by
    converter = Converter(lead_import=lead_import, mapping=lead_import.mapping, actor=actor)
    on_duplicate = lead_import.on_duplicate
    seen: dict[tuple[str, str], int] = {}
    done = lead_import.processed_rows
    rows = read_rows(lead_import)
    for _skip in range(done):
        number, cells = next(rows)
        # Earlier batches' rows count as seen for the duplicates inside the file.
        try:
            for key in _keys(converter.convert(cells)):
                seen.setdefault(key, number)
        except RowError:
            pass
    visible_leads = Lead.objects.visible_to(actor) if actor else Lead.objects.none()
    for batch in _batches(rows, batch_size):
        cleaned: list[tuple[int, list[str], dict | None, str]] = []
        for number, cells in batch:
            try:
                cleaned.append((number, cells, converter.convert(cells), ""))
            except RowError as exc:
                cleaned.append((number, cells, None, str(exc)))
        with transaction.atomic():
            locked = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
            if locked.status != ImportStatus.RUNNING or locked.processed_rows != done:
                raise _Stop
            result = _write_batch(
                lead_import=lead_import,
                actor=actor,
                cleaned=cleaned,
                on_duplicate=on_duplicate,
                seen=seen,
                visible_leads=visible_leads,
            )
            done += len(batch)
            locked.processed_rows = done
            locked.created_count += result.created
            locked.updated_count += result.updated
            locked.skipped_count += result.skipped
            locked.failed_count += result.failed
            locked.save(
                update_fields=[
                    "processed_rows",
                    "created_count",
                    "updated_count",
                    "skipped_count",
                    "failed_count",
                    "updated_at",
                ]
            )


class _NewLead:
    """A lead to insert, as plain attributes named like the model's (`channel_id`...): what
    the Assigner and `Lead.refresh_search_text` read, without a model instance per row."""

    def __init__(self, values: dict[str, Any]):
        self.__dict__.update(values)


class _Inserter:
    """Inserts new leads with one executemany per batch. Values come cleaned by
    `lead_clean_fields` and the database checks the constraints; this skips only the ORM's
    per-value preparation, which costs more than the database's work on a big import."""

    RELATED = {"channel", "sector"}

    def __init__(self):
        template = Lead()
        self.fields = [f for f in Lead._meta.concrete_fields if not f.primary_key]
        self.attnames = [f.attname for f in self.fields]
        self.defaults = {name: getattr(template, name) for name in self.attnames}
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in self.fields)
        placeholders = ", ".join(["%s"] * len(self.fields))
        # Names from the model's metadata; values are always bound parameters.
        table = quote(Lead._meta.db_table)
        self.sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
        self.search_table = f"{Lead._meta.db_table}_search"
        self.copy_sql = f"COPY {table} ({columns}) FROM STDIN"

    def new(self, fields: dict[str, Any], **extra) -> _NewLead:
        values = dict(self.defaults)
        for name, value in fields.items():
            if name in self.RELATED:
                values[f"{name}_id"] = value.pk if value is not None else None
            values[name] = value
        values.update(extra)
        return _NewLead(values)

    def insert(self, leads: list[_NewLead]) -> None:
        if not leads:
            return
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        rows = []
        for lead in leads:
            lead.created_at = lead.updated_at = now
            values = lead.__dict__
            rows.append([values[name] for name in self.attnames])
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                self._copy(cursor, rows)
                return
            trigger = self._search_trigger(cursor)
            if trigger is None:
                cursor.executemany(self.sql, rows)
                return
            # SQLite's FTS5 trigram index fed row by row by its trigger costs about ten times
            # what one INSERT ... SELECT of the batch costs: inside this transaction (SQLite has
            # one writer: nobody else writes meanwhile) the trigger is set aside, the batch
            # indexed at once, and the trigger put back as it was.
            name, definition = trigger
            cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)}")
            cursor.executemany(self.sql, rows)
            numbers = [lead.import_row for lead in leads]
            cursor.execute(
                f"INSERT INTO {self.search_table} (rowid, search_text) "  # noqa: S608
                f"SELECT id, search_text FROM {connection.ops.quote_name(Lead._meta.db_table)} "
                "WHERE lead_import_id = %s AND import_row BETWEEN %s AND %s",
                [leads[0].lead_import_id, min(numbers), max(numbers)],
            )
            cursor.execute(definition)

    def _copy(self, cursor, rows: list[list]) -> None:
        """PostgreSQL: COPY, many times faster than one INSERT per row (the client-side
        binding that Django uses sends each row as its own statement)."""
        import psycopg

        try:
            with cursor.cursor.copy(self.copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.errors.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    def _search_trigger(self, cursor) -> tuple[str, str] | None:
        """The SQLite trigger that indexes a new lead's search text (crm.core.search)."""
        if connection.vendor != "sqlite":
            return None
        name = f"{self.search_table}_ai"
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [name]
        )
        row = cursor.fetchone()
        return (row[0], row[1]) if row else None


def _write_batch(
    *,
    lead_import: LeadImport,
    actor: User | None,
    cleaned: list[tuple[int, list[str], dict | None, str]],
    on_duplicate: str,
    seen: dict[tuple[str, str], int],
    visible_leads,
) -> _Batch:
    result = _Batch()
    check = on_duplicate != OnDuplicate.CREATE
    matches = existing_matches([f for _n, _c, f, _e in cleaned if f]) if check else {}
    assigner = Assigner()
    inserter = _Inserter()
    actor_id = actor.pk if actor else None
    updates: dict[int, tuple[int, list[str], dict]] = {}
    for number, cells, fields, error in cleaned:
        if fields is None:
            result.failed += 1
            result.errors.append(_row_error(lead_import, number, cells, error))
            continue
        keys = _keys(fields)
        if check:
            earlier = next((key for key in keys if key in seen), None)
            if earlier:
                reason = _("Skipped: same %(key)s as row %(row)d of the file.") % {
                    "key": KEY_LABELS[earlier[0]],
                    "row": seen[earlier],
                }
                result.skipped += 1
                result.errors.append(_row_error(lead_import, number, cells, reason))
                continue
            match = _first_match(fields, matches)
            if match is not None:
                for key in keys:
                    seen.setdefault(key, number)
                if (
                    on_duplicate == OnDuplicate.UPDATE
                    and match.kind == "lead"
                    and match.pk not in updates
                ):
                    updates[match.pk] = (number, cells, fields)
                    continue
                reason = _("Skipped: %(reason)s") % {"reason": _match_reason(match)}
                result.skipped += 1
                result.errors.append(_row_error(lead_import, number, cells, reason))
                continue
        for key in keys:
            seen.setdefault(key, number)
        owner = fields.pop("owner", None)
        lead = inserter.new(fields, created_by_id=actor_id, updated_by_id=actor_id)
        lead.lead_import_id, lead.import_row = lead_import.pk, number
        if owner is not None:
            lead.owner_id, lead.team_id = owner.pk, owner.team_id
        else:
            assigner.apply(lead)
            lead.owner_id = lead.owner.pk if lead.owner else None
            lead.assignment_rule_id = lead.assignment_rule.pk if lead.assignment_rule else None
        Lead.refresh_search_text(lead)
        result.leads.append(lead)
    if updates:
        _apply_updates(lead_import, actor, updates, visible_leads, result)
    assigner.save()
    try:
        with transaction.atomic():
            inserter.insert(result.leads)
    except IntegrityError as exc:
        # The unique (import, row) refuses a row already written: this batch writes nothing
        # and the import stops as failed rather than write anything twice.
        raise RuntimeError(
            _(
                "Rows %(first)d to %(last)d were already imported by another run; "
                "nothing was written twice."
            )
            % {"first": cleaned[0][0], "last": cleaned[-1][0]}
        ) from exc
    result.created = len(result.leads)
    _record_created_events(lead_import, result.leads, actor_id)
    ImportRowError.objects.bulk_create(result.errors, batch_size=500)
    return result


def _record_created_events(lead_import: LeadImport, leads: list, actor_id: int | None) -> None:
    """One "lead.created" event per new lead (what `lead_create` records for a typed one),
    written in bulk in the batch's transaction and handed to the worker after commit as one
    job per batch rather than one per lead."""
    if not leads:
        return
    numbers = [lead.import_row for lead in leads]
    quote = connection.ops.quote_name
    # One INSERT ... SELECT over the batch's new rows (names from the models' metadata, values
    # bound), returning the events' ids for the worker.
    sql = (
        f"INSERT INTO {quote(DomainEvent._meta.db_table)} "  # noqa: S608
        "(kind, model, object_id, data, actor_id, depth, created_at) "
        f"SELECT 'lead.created', 'leads.lead', id, %s, %s, %s, %s "
        f"FROM {quote(Lead._meta.db_table)} "
        "WHERE lead_import_id = %s AND import_row BETWEEN %s AND %s RETURNING id"
    )
    params = [
        "{}",
        actor_id,
        current_depth.get(),
        connection.ops.adapt_datetimefield_value(timezone.now()),
        lead_import.pk,
        min(numbers),
        max(numbers),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        event_ids = [row[0] for row in cursor.fetchall()]
    transaction.on_commit(lambda: dispatch_events(event_ids))


@db_task(retries=3, retry_delay=30)
def dispatch_events(event_ids: list[int]) -> int:
    """Dispatch a batch's events one by one (each in its own transaction, as
    crm.core.tasks.dispatch_event does); an event already processed is skipped."""
    return sum(dispatch(event_id) for event_id in event_ids)


_KEEP_ON_UPDATE = {"owner", "channel"}


def _apply_updates(lead_import, actor, updates, visible_leads, result: _Batch) -> None:
    leads = {
        lead.pk: lead
        for lead in visible_leads.filter(pk__in=list(updates)).exclude(status=LeadStatus.CONVERTED)
    }
    for pk, (number, cells, fields) in updates.items():
        lead = leads.get(pk)
        if lead is None:
            reason = _("Skipped: the lead #%(id)d with the same data is not yours to update.") % {
                "id": pk
            }
            result.skipped += 1
            result.errors.append(_row_error(lead_import, number, cells, reason))
            continue
        given = _given_fields(lead_import, cells)
        changes = {
            name: value
            for name, value in fields.items()
            if name not in _KEEP_ON_UPDATE and name in given and value not in ("", None)
        }
        try:
            with transaction.atomic():
                lead_update(actor=actor, lead=lead, fields=changes)
        except ValidationError as exc:
            result.failed += 1
            result.errors.append(_row_error(lead_import, number, cells, " ".join(exc.messages)))
            continue
        result.updated += 1


def _given_fields(lead_import: LeadImport, cells: list[str]) -> set[str]:
    """The lead fields that the row's non-empty cells give."""
    given = set()
    for index, name in lead_import.mapping.items():
        if cells[int(index)].strip():
            given.add(name)
    if "full_name" in given:
        given |= {"first_name", "last_name"}
    if "postal_code" in given:
        given.add("province")
    return given


def _row_error(lead_import: LeadImport, number: int, cells: list[str], reason: str):
    return ImportRowError(lead_import=lead_import, row_number=number, values=cells, reason=reason)


@dataclass
class UndoResult:
    deleted: int
    kept_converted: int


@transaction.atomic
def lead_import_undo(*, actor: User, lead_import: LeadImport) -> UndoResult:
    """Delete the leads this import created that have not been converted, in one transaction.

    Converted ones stay (they are accounts now) and so do the changes the import made to
    existing leads. The import is marked undone and cannot run again.
    """
    _check_may_run(actor, lead_import)
    lead_import = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
    if lead_import.status not in (ImportStatus.DONE, ImportStatus.FAILED):
        raise ValidationError(_("Only a finished or failed import can be undone."))
    created = Lead.objects.filter(lead_import=lead_import)
    kept = created.filter(status=LeadStatus.CONVERTED).count()
    try:
        deleted, _per_model = created.exclude(status=LeadStatus.CONVERTED).delete()
    except ProtectedError as exc:
        raise ValidationError(
            _("Some imported leads are linked to other records and cannot be deleted.")
        ) from exc
    deleted_leads = _per_model.get(Lead._meta.label, 0)
    logger.info("lead import %s undone by user %s: %s leads", lead_import.pk, actor.pk, deleted)
    lead_import.status = ImportStatus.UNDONE
    lead_import.undone_at = timezone.now()
    lead_import.undone_by = actor
    lead_import.save(update_fields=["status", "undone_at", "undone_by", "updated_at"])
    return UndoResult(deleted=deleted_leads, kept_converted=kept)


def failure_rows(*, lead_import: LeadImport) -> tuple[list[str], Iterator[list]]:
    """Headers and rows of the file of rows not imported (failed or skipped): the row number,
    the original cells and the reason; for crm.core.exports, which neutralises formulas."""
    headers = [_("Row"), *lead_import.headers, _("Reason")]
    width = len(lead_import.headers)

    def rows() -> Iterator[list]:
        errors = lead_import.row_errors.order_by("row_number").values_list(
            "row_number", "values", "reason"
        )
        for number, values, reason in errors.iterator(chunk_size=2000):
            values = list(values or [])[:width]
            yield [number, *values, *[""] * (width - len(values)), reason]

    return headers, rows()


def resolve_mapping(
    *, lead_import: LeadImport, mapping: dict | None = None, template_name: str = ""
) -> dict[str, str]:
    """A mapping given by position or by header name, or a saved template's, or the
    suggestions: the API's and the command's way to say it."""
    if template_name:
        template = ImportMapping.objects.filter(name=template_name).first()
        if template is None:
            raise ValidationError(
                {"mapping": _("There is no saved mapping “%(name)s”.") % {"name": template_name}}
            )
        return suggest_mapping(lead_import.headers, template)
    if not mapping:
        return suggest_mapping(lead_import.headers)
    by_header = {fold_header(h): str(i) for i, h in enumerate(lead_import.headers)}
    positions = {}
    for key, name in mapping.items():
        key = str(key)
        if not key.isdigit():
            if fold_header(key) not in by_header:
                raise ValidationError(
                    {"mapping": _("The file has no column “%(column)s”.") % {"column": key}}
                )
            key = by_header[fold_header(key)]
        positions[key] = name
    return positions
