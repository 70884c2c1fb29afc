import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from crm.core.text import fold, search_blob


def _reference(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@given(st.text())
def test_fold_equals_decompose_strip_marks_casefold(value):
    assert fold(value) == _reference(value)


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_fold_of_ascii_is_lower_case(value):
    assert fold(value) == _reference(value) == value.lower()


def test_fold_examples():
    assert fold("MUÑOZ Peña") == "munoz pena"
    assert fold("Straße") == "strasse"
    assert fold(None) == ""
    assert search_blob("Ana", None, "", "B12345674") == "ana b12345674"
