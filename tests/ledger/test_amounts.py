"""R-L2, R-X5: amounts parsed into integer grosze and formatted per language, no float."""

import pytest

from skarbiec.ledger.amounts import (
    MAX_AMOUNT_MINOR,
    format_amount,
    format_amount_plain,
    parse_amount,
    require_amount,
)
from skarbiec.ledger.errors import (
    AmountNotPositive,
    AmountTooLarge,
    AmountTooManyDecimals,
    InvalidAmount,
)


@pytest.mark.parametrize(
    ("typed", "minor"),
    [
        ("1 234,56", 123456),
        ("1234.56", 123456),
        ("1234", 123400),
        ("1234,5", 123450),
        ("0,01", 1),
        ("1\u00a0234,56 zł", 123456),
        ("PLN 1,234.56", 123456),
        ("1.234,56", 123456),
        ("1,234,567.89", 123456789),
        ("  12,00  ", 1200),
        ("100,", 10000),
        ("999 999 999,99", 99999999999),
        ("1'000", 100000),
        ("12\u202f345.67", 1234567),
    ],
)
def test_r_l2_parse_amount_accepts_common_forms(typed, minor):
    assert parse_amount(typed) == minor


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("1,234", AmountTooManyDecimals),
        ("0,001", AmountTooManyDecimals),
        ("12.345", AmountTooManyDecimals),
        ("-5", AmountNotPositive),
        ("−5,00", AmountNotPositive),
        ("0", AmountNotPositive),
        ("0,00", AmountNotPositive),
        ("", InvalidAmount),
        ("abc", InvalidAmount),
        ("1e5", InvalidAmount),
        ("12,34,56", InvalidAmount),
        ("1.23.4,00", InvalidAmount),
        (",50", InvalidAmount),
        ("NaN", InvalidAmount),
        ("Infinity", InvalidAmount),
        ("1 000 000 000,00", AmountTooLarge),
        ("9" * 40, AmountTooLarge),
        ("１２３", InvalidAmount),
        # Spaces group thousands only: "1 2 3" is no 123,00 zł.
        ("1 2 3", InvalidAmount),
        ("12 34,00", InvalidAmount),
        ("1 234,5 6", InvalidAmount),
        ("1'0", InvalidAmount),
    ],
)
def test_r_l2_parse_amount_refuses_with_a_clear_reason(typed, error):
    with pytest.raises(error) as e:
        parse_amount(typed)
    assert e.value.code == "invalid_amount" and str(e.value.message)


def test_r_l2_require_amount_refuses_floats_bools_and_out_of_range():
    for bad in (1.5, 100.0, True, "100", None, 0, -1, MAX_AMOUNT_MINOR + 1):
        with pytest.raises(InvalidAmount):
            require_amount(bad)
    assert require_amount(MAX_AMOUNT_MINOR) == MAX_AMOUNT_MINOR


def test_r_x5_format_amount_per_language():
    assert format_amount(123456, "pl") == "1\u00a0234,56\u00a0zł"
    assert format_amount(123456, "en") == "PLN\u00a01,234.56"
    assert format_amount(5, "pl") == "0,05\u00a0zł"
    assert format_amount(-100000000, "pl") == "-1\u00a0000\u00a0000,00\u00a0zł"
    assert format_amount(0, "en") == "PLN\u00a00.00"
    assert format_amount_plain(-123456) == "-1234.56"


def test_r_l2_parse_and_format_round_trip():
    for minor in (1, 99, 100, 123456, 99999999999):
        assert parse_amount(format_amount(minor, "pl")) == minor
        assert parse_amount(format_amount(minor, "en")) == minor
