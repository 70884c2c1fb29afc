from datetime import UTC, date, datetime

from crm.activities import ical

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_escaping_round_trips():
    text = "Comas, punto; y coma\\ barra\nsegunda línea"
    assert ical.escape_text(text) == "Comas\\, punto\\; y coma\\\\ barra\\nsegunda línea"
    assert ical._unescape(ical.escape_text(text)) == text


def test_lines_are_folded_at_75_octets_without_splitting_characters():
    line = "SUMMARY:" + "ñ" * 100
    folded = ical.fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert "".join([parts[0]] + [p[1:] for p in parts[1:]]) == line


def test_calendar_parses_back():
    events = [
        ical.Event(
            uid="activity-1@crm",
            start=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
            end=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
            summary="Llamar a Ñandú, S.L.; urgente",
            description="Línea 1\nLínea 2 " + "x" * 120,
            url="https://crm.example.com/activities/1/",
        ),
        ical.Event(
            uid="activity-2@crm",
            start=date(2026, 12, 2),
            end=date(2026, 12, 3),
            summary="Visita",
            status="CANCELLED",
        ),
    ]
    text = ical.calendar(events, name="CRM", now=NOW)

    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    first, second = ical.parse(text)
    assert first["UID"] == "activity-1@crm"
    assert first["DTSTART"] == "20261201T093000Z"
    assert first["DTEND"] == "20261201T100000Z"
    assert first["DTSTAMP"] == "20261127T080000Z"
    assert first["SUMMARY"] == "Llamar a Ñandú, S.L.; urgente"
    assert first["DESCRIPTION"] == "Línea 1\nLínea 2 " + "x" * 120
    assert first["URL"] == "https://crm.example.com/activities/1/"
    assert first["STATUS"] == "CONFIRMED"
    assert second["DTSTART;VALUE=DATE"] == "20261202"
    assert second["DTEND;VALUE=DATE"] == "20261203"
    assert second["STATUS"] == "CANCELLED"
