"""Transfer orders (R-L3, R-L4, R-O2, R-L6): creating one, and reading the member's.

Own transfers and transfers to trusted payees are booked at once (`order_booking`); others
wait for an SMS code bound to the order's details (`order_authorization`).
"""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from skarbiec.audit.services import record_event
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import RateLimited
from skarbiec.core.prepared import insert_new, prepared_select
from skarbiec.core.throttling import consume_rate_limit
from skarbiec.ledger.accounts import get_member_account
from skarbiec.ledger.amounts import require_amount
from skarbiec.ledger.errors import (
    IdempotencyConflict,
    InvalidOrderDetails,
    OrderNotFound,
    PayeeAccountNotFound,
    SameAccount,
    TooManyOrders,
)
from skarbiec.ledger.limits import check_limits
from skarbiec.ledger.models import Account, Order, TrustedPayee
from skarbiec.ledger.nrb import parse_nrb, sort_code_of
from skarbiec.ledger.order_authorization import TRANSFER, transfer_details
from skarbiec.ledger.order_booking import execute_order
from skarbiec.ledger.order_input import KEY_RE, clean_text, request_digest, require_channel
from skarbiec.members.models import Member
from skarbiec.otp.operations import start_confirmation


def create_transfer_order(
    member: Member,
    channel: str,
    from_account: "Account | int",
    payee_account: str,
    payee_name: str,
    amount_minor: int,
    title: str,
    idempotency_key: str,
    ctx: RequestContext,
) -> Order:
    """Validate an order and book it at once when exempt (own account, trusted payee), or
    return it AWAITING_AUTHORIZATION with an SMS code sent (`order.otp_id`).

    The kind follows the payee's number: one of the member's accounts → own; the credit
    union's sort code → internal (booked at once); another sort code → external (PENDING,
    money held on the clearing account until `skarbiec settle`).

    Idempotent per (member, idempotency_key): a retry with the same details returns the first
    order (whatever its state now), a retry with other details raises IdempotencyConflict.
    Refusals (bad input, limits, insufficient funds of an exempt order) store nothing.
    """
    require_channel(channel)
    key = (idempotency_key or "").strip()
    if not KEY_RE.match(key):
        raise InvalidOrderDetails(_("A request identifier (idempotency key) is required."))
    amount_minor = require_amount(amount_minor)
    payee = parse_nrb(payee_account)
    title = clean_text(title, "title", 140)
    payee_name = clean_text(payee_name, "payee_name", 70, required=False)
    from_id = from_account.pk if isinstance(from_account, Account) else from_account
    digest = request_digest(
        {
            "channel": channel,
            "from": from_id,
            "payee": payee,
            "name": payee_name,
            "amount": amount_minor,
            "title": title,
        }
    )
    existing = _replayed_order(member, key, digest)
    if existing is not None:
        return existing

    source = get_member_account(member, from_id)
    if payee == source.number:
        raise SameAccount()
    exempt = ""
    in_house = sort_code_of(payee) == member.credit_union.sort_code
    # A payee in this credit union is looked up once: the account tells own from internal.
    to_account = (
        _member_account_in_house.first(credit_union_id=member.credit_union_id, number=payee)
        if in_house
        else _account_of_member.first(member_id=member.pk, number=payee)
    )
    if to_account is not None and to_account.member_id == member.pk:
        kind, exempt = Order.Kind.OWN, "own"
        # The member's own name as the payee, cut to what a transfer carries (70 characters,
        # as in Elixir); names are onboarded up to 100 characters each.
        payee_name = (
            payee_name or member.full_name[: Order._meta.get_field("payee_name").max_length]
        )
    else:
        if not payee_name:
            raise InvalidOrderDetails(_("Fill in the payee name."), field="payee_name")
        if in_house:
            kind = Order.Kind.INTERNAL
            if to_account is None:
                raise PayeeAccountNotFound()
        else:
            kind = Order.Kind.EXTERNAL
        if _trusted_payee.first(member_id=member.pk, account=payee) is not None:
            exempt = "trusted_payee"
        else:
            # Early answer for an order that waits for its code; the binding check runs under
            # lock at booking (for an exempt order, moments from now in this request).
            check_limits(member, channel, amount_minor, lock=False)

    if exempt:
        _count_order_booked_at_once(member)
    now = clock.now()
    try:
        with transaction.atomic():
            order = insert_new(
                Order(
                    member=member,
                    channel=channel,
                    kind=kind,
                    state=Order.State.AWAITING_AUTHORIZATION,
                    idempotency_key=key,
                    request_digest=digest,
                    from_account=source,
                    to_account=to_account,
                    payee_account=payee,
                    payee_name=payee_name,
                    title=title,
                    amount_minor=amount_minor,
                    exempt_reason=exempt,
                    created_at=now,
                )
            )
            created = {
                "order": order.pk,
                "kind": kind,
                "amount_minor": amount_minor,
                "payee_account": payee,
                "exempt": exempt,
            }
            if exempt:
                execute_order(order, ctx, ("order_created", created))
            else:
                record_event(
                    "order_created",
                    ctx,
                    credit_union_id=member.credit_union_id,
                    member_id=member.pk,
                    data=created,
                )
                confirmation = start_confirmation(
                    TRANSFER,
                    member,
                    details=transfer_details(order),
                    channel=channel,
                    ctx=ctx,
                    subject=str(order.pk),
                )
                order.otp_id = confirmation.pk
                order.save(update_fields=["otp_id"])
    except IntegrityError:
        # A parallel request with the same key won the insert.
        existing = _replayed_order(member, key, digest)
        if existing is None:
            raise
        return existing
    return order


def _count_order_booked_at_once(member: Member) -> None:
    """An order booked without a code counts toward the member's orders of the minute; over
    the limit it is refused and nothing is stored. A retry of an order already stored was
    answered above and counts for nothing."""
    limit, window = settings.ORDER_RATE_LIMIT
    try:
        consume_rate_limit("orders-at-once", str(member.pk), limit, window)
    except RateLimited as limited:
        raise TooManyOrders(retry_after=limited.details.get("retry_after")) from None


# Prepared shapes (core/prepared.py): every order runs them.
@prepared_select
def _order_by_key(member_id: int, key: str) -> QuerySet[Order]:
    return Order.objects.filter(member_id=member_id, idempotency_key=key)


@prepared_select
def _member_account_in_house(credit_union_id: int, number: str) -> QuerySet[Account]:
    return Account.objects.filter(
        credit_union_id=credit_union_id, number=number, member__isnull=False
    )


@prepared_select
def _account_of_member(member_id: int, number: str) -> QuerySet[Account]:
    return Account.objects.filter(member_id=member_id, number=number)


@prepared_select
def _trusted_payee(member_id: int, account: str) -> QuerySet[TrustedPayee]:
    return TrustedPayee.objects.filter(
        member_id=member_id, account=account, state=TrustedPayee.State.ACTIVE
    ).only("pk")


def _replayed_order(member: Member, key: str, digest: str) -> Order | None:
    existing = _order_by_key.first(member_id=member.pk, key=key)
    if existing is None:
        return None
    if existing.request_digest != digest:
        raise IdempotencyConflict()
    return existing


def get_order(member: Member, order_id: int) -> Order:
    order = (
        Order.objects.select_related("from_account", "to_account")
        .filter(pk=order_id, member=member)
        .first()
    )
    if order is None:
        raise OrderNotFound()
    return order


def member_orders(member: Member, states: list[str] | None = None, limit: int = 50) -> list[Order]:
    qs = Order.objects.filter(member=member).select_related("from_account")
    if states:
        qs = qs.filter(state__in=states)
    return list(qs.order_by("-created_at", "-pk")[:limit])
