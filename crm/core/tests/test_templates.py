"""Numbers that are not quantities must not be localized: with thousand separators on, an id
of 4493 would print as "4.493" and break an element id, a URL or a form value."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
RAW_ID = re.compile(
    r"\{\{ *[a-zA-Z_][a-zA-Z0-9_.]*(?:\.pk|\.id|(?<!auto)_id|\.version|year|page_number) *\}\}"
)


def test_ids_and_years_in_templates_are_printed_unlocalized():
    templates = [*ROOT.joinpath("crm").rglob("*.html"), *ROOT.joinpath("templates").rglob("*.html")]
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {match.group(0)}"
        for path in templates
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        for match in RAW_ID.finditer(line)
    ]

    assert offenders == []
