"""Whether a page offers the SMS code step of an operation (R-O4).

An operation takes its codes only in the channel it was started in. Which channel that is the
ledger says (`order_code_channel`, `PayeeAwaitingCode.code_channel`,
`RaiseAwaitingCode.code_channel`); whether the internet service takes the code the rule says
(`skarbiec.otp.operation_channels.takes_codes_in`). These filters only make both available to
templates, which show a code form or link when `code_here` and say where the code goes when
`code_elsewhere`.
"""

from django import template

from skarbiec.ledger.models import Order
from skarbiec.ledger.order_authorization import order_code_channel as _order_code_channel
from skarbiec.ledger.order_input import WEB
from skarbiec.otp.operation_channels import takes_codes_in

register = template.Library()


@register.filter
def code_here(code_channel: str | None) -> bool:
    """The internet service takes the code of an operation waiting for one in `code_channel`."""
    return takes_codes_in(code_channel, WEB)


@register.filter
def code_elsewhere(code_channel: str | None) -> bool:
    """An operation waits for a code that only the mobile app takes."""
    return code_channel is not None and not takes_codes_in(code_channel, WEB)


@register.filter
def order_code_channel(order: Order) -> str | None:
    return _order_code_channel(order)
