"""CSV injection: a cell a spreadsheet would run as a formula is made inert (R-L5, R-B5)."""

import pytest

from skarbiec.core.spreadsheets import inert_cell


@pytest.mark.parametrize(
    "text",
    ["=1+1", "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", " =1+1", "\u00a0=1+1", "  \u2003+1"],
)
def test_a_formula_start_even_after_spaces_is_quoted(text):
    assert inert_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["", "Rent 1/2026", " Rent", "a=b", "\u00a0", "100,00 zł"])
def test_other_text_is_left_as_it_is(text):
    assert inert_cell(text) == text
