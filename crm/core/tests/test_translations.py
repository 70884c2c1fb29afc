"""The interface speaks Spanish by default and English on request.

These tests keep the catalogues honest without running the gettext tools: every
string is translated, the compiled .mo matches its .po, and the literal strings
of the templates are in the catalogue.
"""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

LOCALE = Path(settings.BASE_DIR) / "locale"
LANGUAGES = ["es", "en"]

# %(name)s / %(count)d, bare %s / %d, and {{ name }} (in case a template variable slips in).
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]?\d*(?:\.\d+)?[a-zA-Z]|(?<!%)%[sdif]|{{\s*[\w.]+\s*}}")


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "django.po"


def mo_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "django.mo"


def live_entries(po: polib.POFile) -> list[polib.POEntry]:
    return [e for e in po if not e.obsolete]


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text.replace("%%", "")))


@pytest.fixture(scope="module")
def es_po() -> polib.POFile:
    return polib.pofile(str(po_path("es")))


# --- (a) the Spanish catalogue is complete and keeps its placeholders -----------------------


def test_spanish_plural_forms_header(es_po):
    assert es_po.metadata["Plural-Forms"].replace(" ", "") == "nplurals=2;plural=(n!=1);"
    assert not es_po.metadata_is_fuzzy


def test_every_spanish_entry_is_translated(es_po):
    untranslated = []
    for entry in live_entries(es_po):
        if "fuzzy" in entry.flags:
            untranslated.append(("fuzzy", entry.msgid))
        elif entry.msgid_plural:
            forms = entry.msgstr_plural
            if sorted(forms) != [0, 1] or not all(forms.values()):
                untranslated.append(("plural", entry.msgid))
        elif not entry.msgstr:
            untranslated.append(("empty", entry.msgid))
    assert untranslated == []


def test_spanish_placeholders_match_the_source(es_po):
    wrong = []
    for entry in live_entries(es_po):
        if entry.msgid_plural:
            source = placeholders(entry.msgid) | placeholders(entry.msgid_plural)
            forms = [placeholders(s) for s in entry.msgstr_plural.values()]
            # A singular form may leave out what only the plural needs (and vice versa),
            # but nothing may be invented and nothing may be lost altogether.
            if any(not form <= source for form in forms) or set().union(*forms) != source:
                wrong.append(entry.msgid)
        elif placeholders(entry.msgid) != placeholders(entry.msgstr):
            wrong.append(entry.msgid)
    assert wrong == []


def test_english_is_a_real_choice():
    assert "en" in dict(settings.LANGUAGES)
    assert po_path("en").exists()
    assert mo_path("en").exists()


# --- (b) the committed .mo is compiled from the current .po ---------------------------------


def catalogue(entries) -> dict:
    """What a compiled catalogue holds: (context, msgid) -> translation(s)."""
    result = {}
    for e in entries:
        if not e.msgid:  # the header
            continue
        if e.msgid_plural:
            value = (e.msgid_plural, tuple(e.msgstr_plural[k] for k in sorted(e.msgstr_plural)))
        else:
            value = e.msgstr
        result[(e.msgctxt, e.msgid)] = value
    return result


def compiled_from_po(po: polib.POFile) -> dict:
    """What msgfmt puts in the .mo: translated entries that are neither fuzzy nor obsolete."""
    kept = []
    for e in live_entries(po):
        if "fuzzy" in e.flags:
            continue
        if e.msgid_plural:
            if e.msgstr_plural and all(e.msgstr_plural.values()):
                kept.append(e)
        elif e.msgstr:
            kept.append(e)
    return catalogue(kept)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_mo_is_compiled_from_the_current_po(lang):
    po = polib.pofile(str(po_path(lang)))
    mo = polib.mofile(str(mo_path(lang)))
    expected = compiled_from_po(po)
    actual = catalogue(mo)
    assert set(actual) == set(expected), "run: manage.py compilemessages --ignore=.venv"
    assert actual == expected, "run: manage.py compilemessages --ignore=.venv"


# --- (c) the interface really speaks Spanish, and English on request ------------------------


@pytest.mark.parametrize(
    ("lang", "source", "expected"),
    [
        ("es", "Accounts", "Cuentas"),
        ("es", "Contacts", "Contactos"),
        ("es", "Log out", "Cerrar sesión"),
        ("es", "Save", "Guardar"),
        ("es", "Owner", "Responsable"),
        ("es", "Timeline", "Historial"),
        ("en", "Accounts", "Accounts"),
        ("en", "Log out", "Log out"),
    ],
)
def test_gettext(lang, source, expected):
    with translation.override(lang):
        assert gettext(source) == expected


def test_spanish_plural():
    with translation.override("es"):
        assert translation.ngettext("%(counter)s member", "%(counter)s members", 1) == (
            "%(counter)s miembro"
        )
        assert translation.ngettext("%(counter)s member", "%(counter)s members", 3) == (
            "%(counter)s miembros"
        )


def test_default_language_is_spanish():
    assert settings.LANGUAGE_CODE == "es"


@pytest.mark.django_db
def test_account_list_in_spanish(client, rep):
    client.force_login(rep)
    # override() puts back the active language afterwards: the request activates its own.
    with translation.override("es"):
        response = client.get(reverse("account-list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Cuentas" in html
    assert "Cerrar sesión" in html
    assert ">Accounts<" not in html


@pytest.mark.django_db
def test_account_list_in_english_for_a_user_who_chose_it(client, rep):
    rep.language = "en"
    rep.save(update_fields=["language"])
    client.force_login(rep)
    with translation.override("es"):
        response = client.get(reverse("account-list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Accounts" in html
    assert "Log out" in html
    assert "Cerrar sesión" not in html


@pytest.mark.django_db
def test_login_page_in_spanish_by_default(client):
    with translation.override("es"):
        response = client.get(reverse("login"))
    assert "Iniciar sesión" in response.content.decode()


# --- (d) the catalogue knows the literal strings of the templates ---------------------------

TEMPLATE_DIRS = [
    Path(settings.BASE_DIR) / "templates",
    *(Path(settings.BASE_DIR) / "crm").glob("*/templates"),
]

STRING = r"""(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')"""
TRANSLATE_TAG = re.compile(
    r"{%\s*trans(?:late)?\s+" + STRING + r"(?P<rest>[^%]*)%}",
)
CONTEXT = re.compile(r"""\bcontext\s+(?:"([^"]*)"|'([^']*)')""")
UNDERSCORE = re.compile(r"""\b_\(\s*""" + STRING + r"""\s*\)""")
BLOCK = re.compile(
    r"{%\s*blocktrans(?:late)?\b(?P<opts>[^%]*)%}(?P<body>.*?){%\s*endblocktrans(?:late)?\s*%}",
    re.S,
)
PLURAL = re.compile(r"{%\s*plural\s*%}")


def template_files() -> list[Path]:
    files = []
    for folder in TEMPLATE_DIRS:
        files += [p for p in folder.rglob("*") if p.suffix in {".html", ".txt"}]
    return sorted(files)


def block_msgid(opts: str, body: str) -> str:
    """The msgid that makemessages makes of a blocktranslate body."""
    if re.search(r"\btrimmed\b", opts):
        body = " ".join(line.strip() for line in body.strip().splitlines() if line.strip())
    body = body.replace("%", "%%")
    return re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", body)


def template_msgids() -> set[tuple[str | None, str, Path]]:
    found = set()
    for path in template_files():
        text = path.read_text(encoding="utf-8")
        for m in TRANSLATE_TAG.finditer(text):
            literal = m["dq"] if m["dq"] is not None else m["sq"]
            ctx = CONTEXT.search(m["rest"])
            context = next((g for g in ctx.groups() if g is not None), None) if ctx else None
            # The translate tag escapes "%" before looking the string up, as makemessages does.
            found.add((context, literal.replace("%", "%%"), path))
        for m in UNDERSCORE.finditer(text):
            literal = m["dq"] if m["dq"] is not None else m["sq"]
            found.add((None, literal, path))
        for m in BLOCK.finditer(text):
            if "{%" in PLURAL.split(m["body"])[0]:
                continue  # tags inside the body: too clever for this check
            ctx = CONTEXT.search(m["opts"])
            context = next((g for g in ctx.groups() if g is not None), None) if ctx else None
            found.add((context, block_msgid(m["opts"], PLURAL.split(m["body"])[0]), path))
    return found


def test_template_scan_finds_strings():
    msgids = {msgid for _, msgid, _ in template_msgids()}
    assert "Accounts" in msgids
    assert "Hello, %(name)s" in msgids


@pytest.mark.parametrize("lang", LANGUAGES)
def test_template_strings_are_in_the_catalogue(lang):
    po = polib.pofile(str(po_path(lang)))
    known = {(e.msgctxt, e.msgid) for e in live_entries(po)}
    missing = sorted(
        f"{path.relative_to(settings.BASE_DIR)}: {msgid!r}"
        for context, msgid, path in template_msgids()
        if (context, msgid) not in known
    )
    assert missing == [], "run: manage.py makemessages -l es -l en (see docs) and translate"
