"""R-T2: PESEL checksum and embedded birth date."""

from datetime import date

import pytest

from skarbiec.members.pesel import is_valid_pesel, pesel_birth_date


@pytest.mark.parametrize("pesel", ["44051401359", "02270803624", "90010112349"])
def test_r_t2_valid_pesels(pesel):
    assert is_valid_pesel(pesel)


@pytest.mark.parametrize(
    "pesel",
    ["44051401358", "4405140135", "440514013590", "4405140135a", "", "４4051401359", "44133101357"],
)
def test_r_t2_invalid_pesels(pesel):
    assert not is_valid_pesel(pesel)


def test_r_t2_century_in_month():
    assert pesel_birth_date("02270803624") == date(2002, 7, 8)
    assert pesel_birth_date("44051401359") == date(1944, 5, 14)
