"""iCalendar (RFC 5545) text for a user's activities, written by hand: the subset that Google
Calendar and Outlook read from a subscribed feed (VEVENT with UID, DTSTAMP, DTSTART/DTEND in
UTC or as all-day dates, SUMMARY, DESCRIPTION, URL, STATUS), with escaping and line folding."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

CRLF = "\r\n"


@dataclass
class Event:
    uid: str
    start: datetime | date
    end: datetime | date
    summary: str
    description: str = ""
    url: str = ""
    status: str = "CONFIRMED"  # CONFIRMED / CANCELLED / TENTATIVE
    stamp: datetime | None = None
    completed: bool = False


def escape_text(value: str) -> str:
    """TEXT value escaping (RFC 5545 3.3.11): backslash, semicolon, comma and newlines."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line at 75 octets (UTF-8), never inside a character (RFC 5545 3.1)."""
    out: list[str] = []
    current = b""
    limit = 75
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > limit:
            out.append(current.decode("utf-8"))
            current = b""
            limit = 74  # continuation lines start with one space
        current += encoded
    out.append(current.decode("utf-8"))
    return (CRLF + " ").join(out)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _date(value: date) -> str:
    return value.strftime("%Y%m%d")


def _time_lines(name: str, value: datetime | date) -> str:
    if isinstance(value, datetime):
        return f"{name}:{_utc(value)}"
    return f"{name};VALUE=DATE:{_date(value)}"


def calendar(events: Iterable[Event], *, name: str, now: datetime) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//CRM//Activities//ES",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        "X-PUBLISHED-TTL:PT1H",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
    ]
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{escape_text(event.uid)}",
            f"DTSTAMP:{_utc(event.stamp or now)}",
            _time_lines("DTSTART", event.start),
            _time_lines("DTEND", event.end),
            f"SUMMARY:{escape_text(event.summary)}",
        ]
        if event.description:
            lines.append(f"DESCRIPTION:{escape_text(event.description)}")
        if event.url:
            lines.append(f"URL:{event.url}")
        lines.append(f"STATUS:{event.status}")
        lines.append(
            "TRANSP:TRANSPARENT"
            if isinstance(event.start, date) and not isinstance(event.start, datetime)
            else "TRANSP:OPAQUE"
        )
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return CRLF.join(fold(line) for line in lines) + CRLF


def parse(text: str) -> list[dict[str, str]]:
    """Read back the VEVENTs of a calendar (unfolded, unescaped): for tests and checks."""
    unfolded = text.replace(CRLF + " ", "").replace(CRLF + "\t", "")
    events: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in unfolded.split(CRLF):
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT" and current is not None:
            events.append(current)
            current = None
        elif current is not None and ":" in line:
            key, _, value = line.partition(":")
            current[key] = _unescape(value)
    return events


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def default_end(start: datetime | date, minutes: int | None) -> datetime | date:
    if isinstance(start, datetime):
        return start + timedelta(minutes=minutes or 30)
    return start + timedelta(days=1)
