"""Text helpers shared by search and exports."""

import unicodedata


def fold(value: str) -> str:
    """Lower-case and strip accents so that 'Muñoz' is found by 'munoz' and 'MUÑOZ'."""
    value = value or ""
    if value.isascii():
        # Nothing to decompose (e-mails, phones, NIFs, most words): a large import folds
        # hundreds of thousands of these.
        return value.lower()
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def search_blob(*parts: str | None) -> str:
    """One folded string of every searchable field of a record, for an indexed LIKE."""
    return " ".join(fold(part) for part in parts if part)
