"""Text helpers shared by search and exports."""

import unicodedata


def fold(value: str) -> str:
    """Lower-case and strip accents so that 'Muñoz' is found by 'munoz' and 'MUÑOZ'."""
    decomposed = unicodedata.normalize("NFKD", value or "")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def search_blob(*parts: str | None) -> str:
    """One folded string of every searchable field of a record, for an indexed LIKE."""
    return " ".join(fold(part) for part in parts if part)
