"""Bounds of every number a request can carry (R-X8), in one place for the API and the pages.

A number the database cannot hold (an id beyond a signed 64-bit integer, a page whose offset
overflows) must be refused at the edge as bad input, never reach a query and end in a 500. The
API uses the annotated types (pydantic: 422 and `minimum`/`maximum` in the OpenAPI document);
the pages use the URL converter and the form field (400 page).
"""

import re
from datetime import date
from typing import Annotated

from django import forms
from django.core.exceptions import BadRequest, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

# Primary keys are bigint (DEFAULT_AUTO_FIELD): the largest value a signed 64-bit column holds.
MAX_RECORD_ID = 2**63 - 1
MIN_INT64 = -(2**63)
MAX_INT64 = 2**63 - 1
# No member pages through more than this; with at most 100 entries a page the offset stays far
# inside what any database accepts.
MAX_PAGE = 100_000

# Days a filter may name: a day after the last one or a time zone shift before the first
# overflows Python's dates (a history up to 9999-12-31 asks for the day after it).
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(9998, 12, 31)

_INTEGER_TEXT = re.compile(r"-?[0-9]+")


def _integer_as_written(value: object) -> object:
    """An integer is written as one: ASCII digits as text (a path, a query; a month may be
    "07"), and in JSON a number without a fraction. pydantic would also take "1.0", " 1",
    "+1", "1_000", true or 1.0."""
    if isinstance(value, str):
        written_as_an_integer = bool(_INTEGER_TEXT.fullmatch(value))
    else:
        written_as_an_integer = isinstance(value, int) and not isinstance(value, bool)
    if not written_as_an_integer:
        raise PydanticCustomError("int_parsing", "must be a whole number")
    return value


WholeNumber = BeforeValidator(_integer_as_written)
RecordId = Annotated[int, Field(ge=1, le=MAX_RECORD_ID), WholeNumber]
Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
PageNumber = Annotated[int, Field(ge=1, le=MAX_PAGE), WholeNumber]
# Integers whose business range is checked by a service (amounts): the schema only keeps them
# inside what a bigint column holds, so the service's own message explains the rest.
Int64 = Annotated[int, Field(ge=MIN_INT64, le=MAX_INT64), WholeNumber]


def is_record_id(value: int) -> bool:
    return 1 <= value <= MAX_RECORD_ID


#: Digits of the largest number any bound here takes (2**63 - 1 has 19). A longer run of
#: digits is out of every range and is not converted (Python refuses over 4,300 digits).
MAX_DIGITS = 19


def ascii_number(text: str) -> int | None:
    """A whole number written in ASCII digits; more digits than MAX_DIGITS read as one past
    MAX_RECORD_ID (out of every range, so refused as such); anything else None."""
    if not (text.isascii() and text.isdigit()):
        return None
    return int(text) if len(text) <= MAX_DIGITS else MAX_RECORD_ID + 1


class RecordIdOutOfRange(BadRequest):
    """Django answers BadRequest with handler400: a 400 page, or JSON under the API."""


class RecordIdConverter:
    """`<id:order_id>` in the pages' URLs: digits within 1..2**63-1. Out of range is bad input
    (400), not an unknown page (404)."""

    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = ascii_number(value)
        if number is None or not is_record_id(number):
            raise RecordIdOutOfRange(value)
        return number

    def to_url(self, value: int) -> str:
        return str(value)


class AsciiIntegerField(forms.IntegerField):
    """A whole number in ASCII digits, as every other number of the product is read: Django's
    field takes any script's digits ("٢٤٠" is 240 to `int`), which a page would then show
    back as another number than the one typed (R-X8)."""

    def to_python(self, value: object) -> int | None:
        if value not in self.empty_values:
            text = str(value).strip()
            if ascii_number(text.removeprefix("-")) is None:
                raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class RecordIdField(AsciiIntegerField):
    """A form field holding the id of a record (an account chosen in a list)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(min_value=1, max_value=MAX_RECORD_ID, **kwargs)  # type: ignore[arg-type]


def record_id_or_none(text: str) -> int | None:
    """A record id typed into a query (a preselection); anything else is no choice."""
    number = ascii_number(text.strip())
    return number if number is not None and is_record_id(number) else None


def is_day(value: date) -> bool:
    return FIRST_DAY <= value <= LAST_DAY


class DayField(forms.DateField):
    """A form field holding a day of a filter, within FIRST_DAY..LAST_DAY."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.validators += [MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)]
