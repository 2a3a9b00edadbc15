"""R-L1: Polish account numbers (NRB), IBAN form, refusals with clear messages."""

import pytest

from skarbiec.ledger.errors import (
    AccountNumberCharacters,
    AccountNumberChecksum,
    AccountNumberLength,
    ForeignAccountNumber,
)
from skarbiec.ledger.nrb import (
    check_digits,
    format_nrb,
    iban,
    is_valid_nrb,
    make_nrb,
    parse_nrb,
    random_nrb,
    sort_code_of,
)

# A published, valid Polish account number.
KNOWN = "61109010140000071219812874"


def test_r_l1_known_number_is_valid_and_check_digits_match():
    assert is_valid_nrb(KNOWN)
    assert check_digits("10901014", "0000071219812874") == "61"
    assert make_nrb("10901014", "0000071219812874") == KNOWN


@pytest.mark.parametrize(
    "typed",
    [
        KNOWN,
        "61 1090 1014 0000 0712 1981 2874",
        "PL61 1090 1014 0000 0712 1981 2874",
        "pl61109010140000071219812874",
        " 61-1090-1014-0000-0712-1981-2874 ",
        "61\u00a01090\u00a01014 0000 0712 1981 2874",
    ],
)
def test_r_l1_input_accepted_with_spaces_or_pl_prefix(typed):
    assert parse_nrb(typed) == KNOWN


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("62109010140000071219812874", AccountNumberChecksum),
        ("61109010140000071219812875", AccountNumberChecksum),
        ("61109010140000071219812", AccountNumberLength),
        ("611090101400000712198128741", AccountNumberLength),
        ("61 1090 1014 0000 0712 1981 287O", AccountNumberCharacters),
        ("", AccountNumberCharacters),
        ("DE89370400440532013000", ForeignAccountNumber),
        ("٦١١٠٩٠١٠١٤٠٠٠٠٠٧١٢١٩٨١٢٨٧٤", AccountNumberCharacters),
    ],
)
def test_r_l1_bad_numbers_refused_with_the_reason(typed, error):
    with pytest.raises(error) as e:
        parse_nrb(typed)
    assert e.value.code == "invalid_account_number"
    assert str(e.value.message)


def test_r_l1_every_single_digit_typo_is_caught():
    for i in range(26):
        for d in "0123456789":
            if d != KNOWN[i]:
                assert not is_valid_nrb(KNOWN[:i] + d + KNOWN[i + 1 :])


def test_r_l1_generated_numbers_carry_the_sort_code_and_validate():
    for _ in range(200):
        n = random_nrb("95000001")
        assert len(n) == 26 and is_valid_nrb(n) and sort_code_of(n) == "95000001"


def test_r_l1_printed_and_iban_forms():
    assert format_nrb(KNOWN) == "61 1090 1014 0000 0712 1981 2874"
    assert iban(KNOWN) == "PL" + KNOWN
