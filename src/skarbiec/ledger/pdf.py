"""PDF confirmation of a transfer (R-L5), made with fpdf2.

Polish letters need a Unicode font: DejaVu Sans from the system (Debian: fonts-dejavu-core,
/usr/share/fonts/truetype/dejavu). Without it the text falls back to the built-in Helvetica
with Polish letters transliterated (ą → a, ł → l), so a confirmation is still produced.
"""

import unicodedata
from collections.abc import Callable
from pathlib import Path

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from fpdf import FPDF

from skarbiec.ledger.amounts import format_amount
from skarbiec.ledger.models import Order
from skarbiec.ledger.nrb import format_nrb
from skarbiec.ledger.orders import get_order
from skarbiec.members.models import Member

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu")]


def _font_path(name: str) -> Path | None:
    for d in FONT_DIRS:
        if (d / name).is_file():
            return d / name
    return None


def _ascii(text: str) -> str:
    text = text.replace("ł", "l").replace("Ł", "L").replace("\u00a0", " ")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def unicode_font(pdf: FPDF) -> tuple[str, Callable[[str], str]]:
    """Register DejaVu Sans when the system has it; the font family to use and the cleaning
    every text needs before it is written (transliteration on the built-in font)."""
    regular, bold = _font_path("DejaVuSans.ttf"), _font_path("DejaVuSans-Bold.ttf")
    if regular and bold:
        pdf.add_font("DejaVu", "", str(regular))
        pdf.add_font("DejaVu", "B", str(bold))
        return "DejaVu", lambda s: s.replace("\u202f", " ")
    return "Helvetica", _ascii


def _state_label(order: Order) -> str:
    return {
        Order.State.AWAITING_AUTHORIZATION: _("awaiting confirmation"),
        Order.State.PENDING: _("accepted, waiting for clearing"),
        Order.State.SENT: _("sent to the payee's bank"),
        Order.State.BOOKED: _("booked"),
        Order.State.REJECTED: _("rejected"),
        Order.State.CANCELLED: _("cancelled"),
    }[Order.State(order.state)]


def transfer_confirmation_pdf(member: Member, order_id: int, lang: str | None = None) -> bytes:
    """A one-page confirmation of one of the member's orders, in the member's language."""
    order = get_order(member, order_id)
    lang = lang or member.language
    with translation.override(lang):
        return _render(member, order, lang)


def _render(member: Member, order: Order, lang: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(_("Transfer confirmation"))
    pdf.set_author(member.credit_union.name)
    family, clean = unicode_font(pdf)
    pdf.add_page()
    pdf.set_font(family, "B", 16)
    pdf.cell(0, 10, clean(member.credit_union.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "B", 13)
    pdf.cell(0, 10, clean(_("Transfer confirmation")), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    when = order.completed_at or order.authorized_at or order.created_at
    rows = [
        (_("Reference"), f"SKARBIEC-{order.pk}"),
        (_("Status"), _state_label(order)),
        (_("Date"), timezone.localtime(when).strftime("%Y-%m-%d %H:%M")),
        (_("Amount"), format_amount(order.amount_minor, lang)),
        (_("From account"), format_nrb(order.from_account.number)),
        (_("Payer"), member.full_name),
        (_("Payee account"), format_nrb(order.payee_account)),
        (_("Payee"), order.payee_name),
        (_("Title"), order.title),
    ]
    if order.reject_reason:
        rows.append((_("Reason"), order.reject_reason))
    for label, value in rows:
        pdf.set_font(family, "B", 10)
        pdf.cell(50, 8, clean(label))
        pdf.set_font(family, "", 10)
        pdf.multi_cell(0, 8, clean(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font(family, "", 8)
    pdf.multi_cell(
        0,
        5,
        clean(_("This confirmation was generated electronically and needs no signature.")),
    )
    return bytes(pdf.output())


def cash_receipt_pdf(
    credit_union_name: str,
    *,
    reference: int,
    kind: str,
    booked_at: object,
    amount_minor: int,
    account_number: str,
    member_name: str,
    staff_name: str,
    lang: str,
) -> bytes:
    """A printable receipt of cash paid in or out at the branch (R-B2)."""
    with translation.override(lang):
        title = _("Cash deposit receipt") if kind == "deposit" else _("Cash withdrawal receipt")
        pdf = FPDF(format=(148, 210))  # A5, in mm
        pdf.set_title(title)
        pdf.set_author(credit_union_name)
        regular, bold = _font_path("DejaVuSans.ttf"), _font_path("DejaVuSans-Bold.ttf")
        if regular and bold:
            pdf.add_font("DejaVu", "", str(regular))
            pdf.add_font("DejaVu", "B", str(bold))
            family, clean = "DejaVu", (lambda s: s.replace("\u202f", " "))
        else:
            family, clean = "Helvetica", _ascii
        pdf.add_page()
        pdf.set_font(family, "B", 14)
        pdf.cell(0, 9, clean(credit_union_name), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "B", 12)
        pdf.cell(0, 9, clean(title), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        rows = [
            (_("Reference"), f"KASA-{reference}"),
            (_("Date"), timezone.localtime(booked_at).strftime("%Y-%m-%d %H:%M")),  # type: ignore[arg-type]
            (_("Amount"), format_amount(amount_minor, lang)),
            (_("Account"), format_nrb(account_number)),
            (_("Member"), member_name),
            (_("Cashier"), staff_name),
        ]
        for label, value in rows:
            pdf.set_font(family, "B", 9)
            pdf.cell(35, 7, clean(label))
            pdf.set_font(family, "", 9)
            pdf.multi_cell(0, 7, clean(value), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(12)
        pdf.set_font(family, "", 8)
        pdf.cell(60, 5, "..............................")
        pdf.cell(0, 5, "..............................", new_x="LMARGIN", new_y="NEXT")
        pdf.cell(60, 5, clean(_("Member's signature")))
        pdf.cell(0, 5, clean(_("Cashier's signature")), new_x="LMARGIN", new_y="NEXT")
        return bytes(pdf.output())
