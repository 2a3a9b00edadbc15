"""PESEL, the Polish national identification number (R-T2)."""

from datetime import date

_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)


def pesel_birth_date(pesel: str) -> date | None:
    year, month, day = int(pesel[0:2]), int(pesel[2:4]), int(pesel[4:6])
    # The month carries the century: +80 for 1800s, +0 1900s, +20 2000s, +40 2100s, +60 2200s.
    for offset, century in ((80, 1800), (0, 1900), (20, 2000), (40, 2100), (60, 2200)):
        if offset < month <= offset + 12:
            try:
                return date(century + year, month - offset, day)
            except ValueError:
                return None
    return None


def is_valid_pesel(pesel: str) -> bool:
    if len(pesel) != 11 or not pesel.isascii() or not pesel.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(pesel[:10], _WEIGHTS, strict=True))
    if (10 - total % 10) % 10 != int(pesel[10]):
        return False
    return pesel_birth_date(pesel) is not None


def pesel_check_digit(first_ten: str) -> str:
    total = sum(int(d) * w for d, w in zip(first_ten, _WEIGHTS, strict=True))
    return str((10 - total % 10) % 10)
