"""The payee book (R-L4 extended): payees a member saved (name, account, default title) to pick
in the transfer form instead of typing 26 digits. Saving needs no code: a saved payee only fills
the form, every transfer to it is authorised as usual. Trusting one is skarbiec.ledger.payees
(an SMS code of the confirmed-operation registry).
"""

from django.db import IntegrityError, transaction

from skarbiec.audit.services import record_event
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.core.locks import for_update
from skarbiec.ledger.errors import PayeeNotFound
from skarbiec.ledger.models import Order, TrustedPayee
from skarbiec.ledger.nrb import parse_nrb
from skarbiec.ledger.order_input import clean_text
from skarbiec.ledger.orders import create_transfer_order
from skarbiec.ledger.payees import add_trusted_payee
from skarbiec.members.models import Member
from skarbiec.otp.operations import lock_members_codes, void_confirmation

MAX_BOOK = 200


def payee_book(member: Member) -> list[TrustedPayee]:
    """Saved and trusted payees, by name."""
    return list(
        TrustedPayee.objects.filter(member=member, state__in=TrustedPayee.IN_BOOK).order_by(
            "name", "pk"
        )[:MAX_BOOK]
    )


def book_payee(member: Member, payee_id: int) -> TrustedPayee:
    """One payee of the member's book (to fill the transfer form)."""
    payee = TrustedPayee.objects.filter(
        pk=payee_id, member=member, state__in=TrustedPayee.IN_BOOK
    ).first()
    if payee is None:
        raise PayeeNotFound()
    return payee


def save_payee(
    member: Member, name: str, account: str, title: str, ctx: RequestContext
) -> TrustedPayee:
    """Put a payee in the book. The same account saved again updates the name and title of a
    saved payee; a trusted one keeps the name its SMS code confirmed."""
    number = parse_nrb(account)
    name = clean_text(name, "payee_name", 70)
    title = clean_text(title or "", "title", 140, required=False)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                # The member first (`lock_members_codes`): a rename voids the payee's code.
                lock_members_codes(member)
                payee = (
                    for_update(TrustedPayee.objects)
                    .filter(member=member, account=number, state__in=TrustedPayee.IN_BOOK)
                    .first()
                )
                if payee is None:
                    payee = TrustedPayee.objects.create(
                        member=member,
                        name=name,
                        account=number,
                        title=title,
                        state=TrustedPayee.State.SAVED,
                        created_at=clock.now(),
                    )
                elif payee.state == TrustedPayee.State.SAVED:
                    if payee.otp_id is not None and payee.name != name:
                        # Its trusting waits for a code whose SMS named the old name: a
                        # detail changed voids the code (R-O2); the member trusts it anew.
                        void_confirmation(member, payee.otp_id)
                        payee.otp_id = None
                    payee.name, payee.title = name, title
                    payee.save(update_fields=["name", "title", "otp_id"])
                elif title and not payee.title:
                    payee.title = title
                    payee.save(update_fields=["title"])
                record_event(
                    "payee_saved",
                    ctx,
                    credit_union_id=member.credit_union_id,
                    member_id=member.pk,
                    data={"payee": payee.pk, "account": number},
                )
                return payee
        except IntegrityError:  # saved by a parallel request: update that one
            continue
    raise PayeeNotFound()


def add_payee(
    member: Member,
    channel: str,
    name: str,
    account: str,
    title: str,
    trusted: bool,
    ctx: RequestContext,
) -> TrustedPayee:
    """The book's "add" form: saved at once; when `trusted`, an SMS code is sent next and the
    payee joins the book when the code is right (as trusted payees were always added)."""
    if trusted:
        return add_trusted_payee(member, channel, name, account, ctx, title=title)
    return save_payee(member, name, account, title, ctx)


def create_transfer_saving_payee(
    member: Member,
    channel: str,
    from_account: int,
    payee_account: str,
    payee_name: str,
    amount_minor: int,
    title: str,
    idempotency_key: str,
    ctx: RequestContext,
    save: bool = False,
) -> Order:
    """A transfer from the form; with "save this payee" ticked, its payee goes to the book
    once the order is accepted (a refused order saves nothing). Own accounts are not saved."""
    order = create_transfer_order(
        member,
        channel,
        from_account,
        payee_account,
        payee_name,
        amount_minor,
        title,
        idempotency_key,
        ctx,
    )
    if save and order.kind != Order.Kind.OWN:
        save_payee(member, order.payee_name, order.payee_account, order.title, ctx)
    return order
