"""The PDF of a monthly statement (R-L5), with fpdf2 like the transfer confirmation: the credit
union's name and logo (a drawn default mark when it has none or it cannot be read), the
account, opening and closing balance, every entry of the month, and page numbers.
"""

import io
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from fpdf import FPDF

from skarbiec.ledger.amounts import format_amount
from skarbiec.ledger.models import Account, LedgerEntry
from skarbiec.ledger.names import shown_name
from skarbiec.ledger.nrb import format_nrb
from skarbiec.ledger.pdf import unicode_font

log = logging.getLogger(__name__)

BRAND = (11, 79, 108)  # the navy of the web service
ACCENT = (200, 150, 46)


@dataclass(frozen=True)
class StatementDocument:
    account: Account
    period: date
    opening_minor: int
    closing_minor: int
    credits_minor: int
    debits_minor: int
    entries: list[LedgerEntry]
    issued_at: datetime


class _StatementPdf(FPDF):
    family = "Helvetica"
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family, "", 8)
        self.set_text_color(90, 100, 110)
        self.cell(0, 8, self.footer_text % {"page": self.page_no(), "pages": "{nb}"}, align="C")


def render_statement(doc: StatementDocument, language: str) -> bytes:
    with translation.override(language):
        return _render(doc, language)


def _draw_logo(pdf: FPDF, logo: bytes, name: str, family: str) -> None:
    if logo:
        try:
            pdf.image(io.BytesIO(logo), x=10, y=10, h=16)
            return
        except Exception:  # noqa: BLE001 — an unreadable logo must not stop the statement
            log.warning("statement: the credit union's logo cannot be read; default mark used")
    # The default mark: a navy disc with a gold ring and the credit union's initial.
    pdf.set_fill_color(*BRAND)
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(1)
    pdf.ellipse(10, 10, 16, 16, style="FD")
    pdf.set_text_color(255, 255, 255)
    pdf.set_font(family, "B", 14)
    pdf.set_xy(10, 10)
    pdf.cell(16, 16, (name.strip()[:1] or "S").upper(), align="C")
    pdf.set_text_color(0, 0, 0)


def _render(doc: StatementDocument, lang: str) -> bytes:
    account = doc.account
    cu = account.credit_union
    pdf = _StatementPdf(format="A4")
    family, clean = unicode_font(pdf)
    pdf.family = family
    pdf.footer_text = clean(_("Page %(page)s of %(pages)s"))
    pdf.set_title(clean(_("Account statement")))
    pdf.set_author(clean(cu.name))
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    _draw_logo(pdf, bytes(cu.logo or b""), cu.name, family)
    pdf.set_xy(30, 10)
    pdf.set_font(family, "B", 15)
    pdf.cell(0, 8, clean(cu.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(30)
    pdf.set_font(family, "", 11)
    month = formats.date_format(doc.period, "F Y")
    if lang == "pl":
        month = month.lower()  # "za listopad 2026": in a sentence Polish months are lower case
    pdf.cell(
        0,
        8,
        clean(_("Account statement for %(month)s") % {"month": month}),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(6)
    member = account.member
    rows: list[tuple[str, str]] = [
        (_("Account holder"), member.full_name if member else ""),
        (_("Account"), f"{shown_name(account.name)} {format_nrb(account.number)}"),
        (_("Opening balance"), format_amount(doc.opening_minor, lang)),
        (_("Money in"), format_amount(doc.credits_minor, lang)),
        (
            _("Money out"),
            format_amount(-doc.debits_minor, lang) if doc.debits_minor else format_amount(0, lang),
        ),  # fmt: skip
        (_("Closing balance"), format_amount(doc.closing_minor, lang)),
        (_("Issued"), formats.date_format(timezone.localtime(doc.issued_at), "DATE_FORMAT")),
    ]
    for label, value in rows:
        pdf.set_font(family, "B", 10)
        pdf.cell(45, 7, clean(label))
        pdf.set_font(family, "", 10)
        pdf.multi_cell(0, 7, clean(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(family, "B", 12)
    pdf.cell(0, 8, clean(_("Entries")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 9)
    if not doc.entries:
        pdf.cell(0, 8, clean(_("No entries in this month.")), new_x="LMARGIN", new_y="NEXT")
    else:
        _entries_table(pdf, doc.entries, lang, clean)
    pdf.ln(6)
    pdf.set_font(family, "", 8)
    pdf.multi_cell(
        0, 5, clean(_("This statement was generated electronically and needs no signature."))
    )
    return bytes(pdf.output())


def _entries_table(pdf: FPDF, entries: list[LedgerEntry], lang: str, clean: Any) -> None:
    headings = (_("Date"), _("Title and counterparty"), _("Amount"), _("Balance after"))
    with pdf.table(
        col_widths=(22, 88, 40, 40),
        text_align=("LEFT", "LEFT", "RIGHT", "RIGHT"),
        line_height=5,
        first_row_as_headings=True,
        repeat_headings=1,
    ) as table:
        table.row([clean(h) for h in headings])
        for e in entries:
            what = shown_name(e.transaction.title)
            if e.counterparty_name:
                what += f"\n{shown_name(e.counterparty_name)}"
            if e.counterparty_account:
                what += f"\n{format_nrb(e.counterparty_account)}"
            table.row(
                [
                    clean(
                        formats.date_format(timezone.localtime(e.booked_at), "SHORT_DATE_FORMAT")
                    ),
                    clean(what),
                    clean(format_amount(e.amount_minor, lang)),
                    clean(format_amount(e.balance_after_minor, lang)),
                ]
            )
