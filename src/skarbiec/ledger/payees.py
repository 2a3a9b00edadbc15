"""Trusted payees (R-L4): transfers to them need no SMS code, so adding one needs one (a kind
of the confirmed-operation registry); removing one does not.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from skarbiec.audit.services import record_event
from skarbiec.channels.access import codes_exhausted, require_channel_open
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.core.locks import for_update
from skarbiec.ledger.errors import (
    PayeeAlreadyTrusted,
    PayeeNotFound,
)
from skarbiec.ledger.models import (
    TrustedPayee,
)
from skarbiec.ledger.names import sms_name
from skarbiec.ledger.nrb import masked_nrb, parse_nrb
from skarbiec.ledger.order_input import ORDER_CHANNELS, WEB, clean_text, require_channel
from skarbiec.members.models import Member
from skarbiec.otp.models import Confirmation
from skarbiec.otp.operation_channels import open_operation_channels
from skarbiec.otp.operations import (
    OperationKind,
    confirm_code,
    declare_operation,
    lock_members_codes,
    start_confirmation,
    void_confirmation,
)
from skarbiec.otp.reopening import reopened_if_the_database_fails


def _payee_sms(member: Member, details: dict[str, Any], code: str) -> str:
    # The account first, the name people gave last and quoted (R-O2).
    return _(
        "%(cu)s: code %(code)s adds account %(account)s, payee “%(name)s”, to your trusted "
        "payees (transfers without SMS codes). Do not give the code to anyone."
    ) % {
        "cu": member.credit_union.name,
        "code": code,
        "name": sms_name(details["name"]),
        "account": masked_nrb(details["account"]),
    }


def _payee_codes_exhausted(confirmation: Confirmation, ctx: RequestContext) -> DomainError:
    # The request is void: adding the payee needs a fresh start and a new code.
    TrustedPayee.objects.filter(
        pk=int(confirmation.subject), state=TrustedPayee.State.PENDING
    ).update(state=TrustedPayee.State.REMOVED)
    return codes_exhausted(confirmation.member, confirmation.channel, ctx)


TRUSTED_PAYEE = declare_operation(
    OperationKind("trusted_payee", _payee_sms, _payee_codes_exhausted, PayeeNotFound)
)


def _payee_details(payee: TrustedPayee) -> dict[str, Any]:
    return {"payee": payee.pk, "name": payee.name, "account": payee.account}


def add_trusted_payee(
    member: Member, channel: str, name: str, account: str, ctx: RequestContext, title: str = ""
) -> TrustedPayee:
    """Start trusting a payee: an SMS code names it (R-O2). A payee already saved in the book
    stays SAVED until the code is right; a new one is stored PENDING."""
    require_channel(channel)
    number = parse_nrb(account)
    name = clean_text(name, "payee_name", 70)
    title = clean_text(title, "title", 140, required=False)
    with transaction.atomic():
        lock_members_codes(member)  # first, as the lock order says (`lock_members_codes`)
        in_book = (
            for_update(TrustedPayee.objects)
            .filter(member=member, account=number, state__in=TrustedPayee.IN_BOOK)
            .first()
        )
        if in_book is not None and in_book.state == TrustedPayee.State.ACTIVE:
            raise PayeeAlreadyTrusted()
        payee = in_book or TrustedPayee.objects.create(
            member=member, name=name, account=number, title=title, created_at=clock.now()
        )
        confirmation = start_confirmation(
            TRUSTED_PAYEE,
            member,
            details=_payee_details(payee),
            channel=channel,
            ctx=ctx,
            subject=str(payee.pk),
        )
        payee.otp_id = confirmation.pk
        payee.save(update_fields=["otp_id"])
        record_event(
            "trusted_payee_requested",
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
            data={"payee": payee.pk, "account": number, "channel": channel},
        )
    return payee


def trust_saved_payee(
    member: Member, channel: str, payee_id: int, ctx: RequestContext
) -> TrustedPayee:
    """Mark a payee of the book as trusted: the same SMS code as adding a trusted payee."""
    payee = TrustedPayee.objects.filter(
        pk=payee_id, member=member, state__in=TrustedPayee.IN_BOOK
    ).first()
    if payee is None:
        raise PayeeNotFound()
    return add_trusted_payee(member, channel, payee.name, payee.account, ctx)


def confirm_trusted_payee(
    member: Member, payee_id: int, code: str, ctx: RequestContext, channel: str | None = None
) -> TrustedPayee:
    """Activate a pending trusted payee with its SMS code."""
    payee = TrustedPayee.objects.filter(pk=payee_id, member=member).first()
    if payee is None or not awaits_code(payee):
        raise PayeeNotFound()
    channel = channel or ctx.channel
    if channel not in ORDER_CHANNELS:
        channel = WEB
    require_channel_open(member, channel)
    confirmed = _payee_details(payee)
    confirm_code(TRUSTED_PAYEE, payee.otp_id or 0, member, confirmed, code, ctx)
    with (
        reopened_if_the_database_fails(TRUSTED_PAYEE, payee.otp_id or 0, member),
        transaction.atomic(),
    ):
        lock_members_codes(member)  # first, as the lock order says: a copy's code is voided
        payee = for_update(TrustedPayee.objects).get(pk=payee.pk)
        # Again under the lock: renamed since the code's check, it is not what the SMS named.
        if not awaits_code(payee) or _payee_details(payee) != confirmed:
            raise PayeeNotFound()
        if (
            TrustedPayee.objects.filter(
                member=member, account=payee.account, state=TrustedPayee.State.ACTIVE
            )
            .exclude(pk=payee.pk)
            .exists()
        ):
            raise PayeeAlreadyTrusted()
        _take_the_place_of_a_saved_copy(member, payee)
        payee.state = TrustedPayee.State.ACTIVE
        payee.activated_at = clock.now()
        payee.save(update_fields=["state", "activated_at", "title"])
        record_event(
            "trusted_payee_added",
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
            data={"payee": payee.pk, "account": payee.account},
        )
    return payee


def _take_the_place_of_a_saved_copy(member: Member, payee: TrustedPayee) -> None:
    """The same account saved in the book while this payee's trust waited for its code (the
    book's form, a transfer with "save this payee"): the book holds one payee per account, so
    the trusted one, whose name the SMS confirmed, replaces the copy and keeps its default
    title. A code sent to trust the copy is void with it."""
    copy = (
        for_update(TrustedPayee.objects)
        .filter(member=member, account=payee.account, state=TrustedPayee.State.SAVED)
        .exclude(pk=payee.pk)
        .first()
    )
    if copy is None:
        return
    if copy.otp_id is not None:
        void_confirmation(member, copy.otp_id)
    copy.state = TrustedPayee.State.REMOVED
    copy.save(update_fields=["state"])
    payee.title = payee.title or copy.title


def awaits_code(payee: TrustedPayee) -> bool:
    """An SMS code for trusting this payee was sent and not yet used."""
    return payee.state == TrustedPayee.State.PENDING or (
        payee.state == TrustedPayee.State.SAVED and payee.otp_id is not None
    )


@dataclass(frozen=True)
class PayeeAwaitingCode:
    """A payee whose trusting waits for its SMS code."""

    payee: TrustedPayee
    #: The channel its trusting was started in: its code is entered there only (R-O4,
    #: `skarbiec.otp.operation_channels.takes_codes_in`).
    code_channel: str


def trust_code_channels(member: Member, payees: Iterable[TrustedPayee]) -> dict[int, str]:
    """Payee id → the channel whose SMS code its open trusting waits for (R-O4); payees whose
    trusting waits for no code are left out."""
    waiting = [payee for payee in payees if awaits_code(payee)]
    channels = open_operation_channels(member, (payee.otp_id for payee in waiting))
    return {
        payee.pk: channels[payee.otp_id]
        for payee in waiting
        if payee.otp_id is not None and payee.otp_id in channels
    }


def payees_awaiting_code(member: Member, payee_id: int | None = None) -> list[PayeeAwaitingCode]:
    """The payees (or the one of `payee_id`) whose trusting waits for its SMS code, a new payee
    or one of the book, oldest first, each with the channel the code is entered in."""
    channels = open_operation_channels(member, kind=TRUSTED_PAYEE)
    payees = TrustedPayee.objects.filter(
        member=member,
        state__in=(TrustedPayee.State.PENDING, TrustedPayee.State.SAVED),
        otp_id__in=list(channels),
    )
    if payee_id is not None:
        payees = payees.filter(pk=payee_id)
    return [
        PayeeAwaitingCode(payee, channels[payee.otp_id])
        for payee in payees.order_by("pk")
        if payee.otp_id is not None
    ]


def remove_trusted_payee(member: Member, payee_id: int, ctx: RequestContext) -> None:
    with transaction.atomic():
        payee = for_update(TrustedPayee.objects).filter(pk=payee_id, member=member).first()
        if payee is None or payee.state == TrustedPayee.State.REMOVED:
            raise PayeeNotFound()
        payee.state = TrustedPayee.State.REMOVED
        payee.save(update_fields=["state"])
        record_event(
            "trusted_payee_removed",
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
            data={"payee": payee.pk, "account": payee.account},
        )


def trusted_payees(member: Member) -> list[TrustedPayee]:
    return list(
        TrustedPayee.objects.filter(member=member, state=TrustedPayee.State.ACTIVE).order_by("name")
    )
