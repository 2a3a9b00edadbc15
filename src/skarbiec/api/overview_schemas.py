"""Bodies of the start screen and statements part of the mobile API (R-L1, R-L3, R-L5)."""

from datetime import date, datetime

from ninja import Field, Schema

from skarbiec.api.ledger_schemas import AccountOut, HistoryItemOut, OrderOut


class RecentOperationOut(HistoryItemOut):
    account_name: str
    account_number: str


class MonthTotalsOut(Schema):
    month: date = Field(description="the first day of the month (Europe/Warsaw)")
    label: str = Field(description='the month in the request\'s language, e.g. "listopad 2026"')
    income_minor: int
    expenses_minor: int
    income: str
    expenses: str


class PreviousLoginOut(Schema):
    at: datetime
    at_text: str = Field(description="date and time in the request's language")
    channel: str = Field(description="web | mobile")
    channel_label: str
    device: str
    ip_address: str


class OverviewOut(Schema):
    accounts: list[AccountOut]
    recent: list[RecentOperationOut] = Field(description="the newest entries, all accounts")
    waiting: list[OrderOut] = Field(description="orders waiting for a code or for clearing")
    months: list[MonthTotalsOut] = Field(description="oldest first; own transfers left out")
    previous_login: PreviousLoginOut | None = Field(
        description="the login before this session, either channel; null: none ever"
    )


class StatementMonthOut(Schema):
    year: int
    month: int
    label: str
    issued: bool = Field(description="already issued (else issued on first download)")
    url: str = Field(description="GET it for the PDF (application/pdf)")
