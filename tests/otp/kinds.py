"""An operation kind for tests of the registry itself (the product's kinds have their own
tests through their flows). Its SMS text comes from the details, its consequence is the web's."""

from typing import Any

from skarbiec.channels.lifecycle import web_codes_exhausted
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.members.models import Member
from skarbiec.otp.models import Confirmation
from skarbiec.otp.operations import OperationKind, declare_operation

SEEN_CODES: list[str] = []


def _text(member: Member, details: dict[str, Any], code: str) -> str:
    SEEN_CODES.append(code)
    return str(details.get("text", "Kod {code}")).format(code=code)


def _exhausted(confirmation: Confirmation, ctx: RequestContext) -> DomainError:
    return web_codes_exhausted(confirmation.member, None, ctx)


TEST_OPERATION = declare_operation(OperationKind("test_operation", _text, _exhausted))
OTHER_OPERATION = declare_operation(OperationKind("test_other_operation", _text, _exhausted))
# Operations that wait for their codes side by side, as transfers do.
SIDE_BY_SIDE_OPERATION = declare_operation(
    OperationKind("test_side_by_side_operation", _text, _exhausted, side_by_side=True)
)


def last_code() -> str:
    return SEEN_CODES[-1]
