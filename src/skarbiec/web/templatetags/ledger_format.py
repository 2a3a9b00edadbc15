"""Money and account numbers in pages, per the page's language (R-L1, R-X5).

The formatting itself is the ledger's (skarbiec.ledger.amounts / nrb); these filters only make
it available to templates.
"""

from django import template
from django.utils import translation

from skarbiec.ledger.amounts import currency_symbol, format_amount
from skarbiec.ledger.names import shown_name
from skarbiec.ledger.nrb import format_nrb, masked_nrb

register = template.Library()


@register.filter
def amount(amount_minor: int | None) -> str:
    """123456 → "1 234,56 zł" (Polish) or "PLN 1,234.56" (English)."""
    if amount_minor is None:
        return ""
    return format_amount(int(amount_minor), translation.get_language())


@register.filter
def amount_input(amount_minor: int | None) -> str:
    """The form value of an amount, as the page shows amounts but without the currency (the
    field names it): "20 000,00" in Polish, "20,000.00" in English; parse_amount reads both."""
    if amount_minor is None:
        return ""
    return format_amount(int(amount_minor), translation.get_language(), currency=False)


@register.simple_tag
def currency_unit() -> str:
    """The currency as the page's language writes it after an amount field: "zł" or "PLN"."""
    return currency_symbol(translation.get_language())


@register.filter
def account_name(name: str) -> str:
    """A name the system gave (an account product, a cash deposit) in the page's language; a
    name a person gave as it is."""
    return shown_name(name or "")


@register.filter
def nrb(number: str) -> str:
    """26 digits in the printed form, groups of four: "12 3456 7890 …"."""
    return format_nrb(number) if number and len(number) == 26 else number or ""


@register.filter
def nrb_tail(number: str) -> str:
    return masked_nrb(number) if number else ""
