"""Accounts (R-L1): the credit union's internal accounts, members' accounts, and cash paid
in at the branch.
"""

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from skarbiec.audit.services import record_event
from skarbiec.core import clock
from skarbiec.core.bounds import is_record_id
from skarbiec.core.context import RequestContext
from skarbiec.core.prepared import prepared_select
from skarbiec.ledger.amounts import require_amount
from skarbiec.ledger.booking import Leg, post_transaction
from skarbiec.ledger.errors import (
    AccountNotFound,
    InvalidOrderDetails,
)
from skarbiec.ledger.models import (
    Account,
    LedgerTransaction,
)
from skarbiec.ledger.nrb import make_nrb, random_nrb
from skarbiec.members.models import CreditUnion, Member

# Internal accounts get fixed numbers in the credit union's range, starting with zeros so they
# never collide with members' random numbers (which start with 1..9).
_INTERNAL_SUFFIX = {
    Account.Kind.CLEARING: "0000000000000001",
    Account.Kind.SETTLEMENT: "0000000000000002",
    Account.Kind.FUNDING: "0000000000000003",
}


_INTERNAL_NAMES = {
    Account.Kind.CLEARING: "Outgoing transfers in clearing",
    Account.Kind.SETTLEMENT: "Settlement account at the clearing house",
    Account.Kind.FUNDING: "Branch cash",
}


def ensure_internal_accounts(credit_union: CreditUnion) -> dict[str, Account]:
    """Open the credit union's clearing, settlement and funding accounts once."""
    result: dict[str, Account] = {}
    for kind, suffix in _INTERNAL_SUFFIX.items():
        account = Account.objects.filter(
            credit_union=credit_union, kind=kind, member__isnull=True
        ).first()
        if account is None:
            try:
                with transaction.atomic():
                    account = Account.objects.create(
                        credit_union=credit_union,
                        kind=kind,
                        number=make_nrb(credit_union.sort_code, suffix),
                        name=_INTERNAL_NAMES[kind],
                        opened_at=clock.now(),
                    )
            except IntegrityError:  # opened by a parallel call
                account = Account.objects.get(
                    credit_union=credit_union, kind=kind, member__isnull=True
                )
        result[kind] = account
    return result


def members_have_accounts(credit_union: CreditUnion) -> bool:
    """A member's account number carries the credit union's sort code and check digits over
    it: once one is open, the sort code is part of what members were given."""
    return Account.objects.filter(credit_union=credit_union, member__isnull=False).exists()


def renumber_own_accounts(credit_union: CreditUnion) -> None:
    """The credit union's own accounts follow its new sort code, so the old numbers are free
    for whoever takes the old code (called only while no member has an account)."""
    for kind, suffix in _INTERNAL_SUFFIX.items():
        Account.objects.filter(credit_union=credit_union, kind=kind, member__isnull=True).update(
            number=make_nrb(credit_union.sort_code, suffix)
        )


def internal_account(credit_union: CreditUnion, kind: str) -> Account:
    return ensure_internal_accounts(credit_union)[kind]


def open_account(
    member: Member, kind: str, ctx: RequestContext, name: str | None = None
) -> Account:
    """Open a current or savings account for a member, with a fresh NRB in the union's range."""
    if kind not in Account.MEMBER_KINDS:
        raise InvalidOrderDetails(_("Unknown account type."))
    cu = member.credit_union
    ensure_internal_accounts(cu)
    default_name: dict[str, str] = {
        Account.Kind.CURRENT: "Current account",
        Account.Kind.SAVINGS: "Savings account",
    }
    for _attempt in range(10):
        try:
            with transaction.atomic():
                account = Account.objects.create(
                    credit_union=cu,
                    member=member,
                    kind=kind,
                    number=random_nrb(cu.sort_code),
                    name=(name or default_name[kind])[:100],
                    opened_at=clock.now(),
                )
                record_event(
                    "account_opened",
                    ctx,
                    credit_union_id=cu.pk,
                    member_id=member.pk,
                    data={"account": account.number, "kind": kind},
                )
            return account
        except IntegrityError:
            continue  # number collision: draw another
    raise RuntimeError("could not draw a free account number")


def member_accounts(member: Member) -> list[Account]:
    return list(Account.objects.filter(member=member).order_by("kind", "pk"))


@prepared_select
def _member_account(account_id: int, member_id: int) -> QuerySet[Account]:
    # Prepared (core/prepared.py): every order and history page looks its account up.
    return Account.objects.filter(pk=account_id, member_id=member_id)


def get_member_account(member: Member, account: "Account | int") -> Account:
    account_id = account.pk if isinstance(account, Account) else account
    if (
        isinstance(account_id, bool)
        or not isinstance(account_id, int)
        or not is_record_id(account_id)
    ):
        raise AccountNotFound()
    found = _member_account.first(account_id=account_id, member_id=member.pk)
    if found is None:
        raise AccountNotFound()
    return found


def deposit_cash(
    account: Account, amount_minor: int, ctx: RequestContext, title: str = "Cash deposit"
) -> LedgerTransaction:
    """Cash paid in at the branch (and demo deposits): funding account → member account."""
    require_amount(amount_minor)
    funding = internal_account(account.credit_union, Account.Kind.FUNDING)
    with transaction.atomic():
        txn = post_transaction(
            account.credit_union,
            LedgerTransaction.Kind.DEPOSIT,
            title,
            [
                Leg(funding.pk, -amount_minor),
                Leg(
                    account.pk,
                    amount_minor,
                    counterparty_name=_INTERNAL_NAMES[Account.Kind.FUNDING],
                ),
            ],
        )
        record_event(
            "cash_deposited",
            ctx,
            credit_union_id=account.credit_union_id,
            member_id=account.member_id,
            data={"account": account.number, "amount_minor": amount_minor, "txn": txn.pk},
        )
    return txn


def withdraw_cash(
    account: Account, amount_minor: int, ctx: RequestContext, title: str = "Cash withdrawal"
) -> LedgerTransaction:
    """Cash paid out at the branch (R-B2): member account → the branch's cash (funding)
    account, never below the available balance."""
    require_amount(amount_minor)
    funding = internal_account(account.credit_union, Account.Kind.FUNDING)
    with transaction.atomic():
        txn = post_transaction(
            account.credit_union,
            LedgerTransaction.Kind.WITHDRAWAL,
            title,
            [
                Leg(
                    account.pk,
                    -amount_minor,
                    counterparty_name=_INTERNAL_NAMES[Account.Kind.FUNDING],
                ),
                Leg(funding.pk, amount_minor),
            ],
        )
        record_event(
            "cash_withdrawn",
            ctx,
            credit_union_id=account.credit_union_id,
            member_id=account.member_id,
            data={"account": account.number, "amount_minor": amount_minor, "txn": txn.pk},
        )
    return txn


def record_balance_seen(account: Account, ctx: RequestContext) -> None:
    """Who saw a member's balance (R-B5; banking secrecy: the log answers who saw a member's
    money), wherever staff see it: the back-office's cash page, `skarbiec ledger balances`."""
    record_event(
        "account_balance_viewed",
        ctx,
        credit_union_id=account.credit_union_id,
        member_id=account.member_id,
        data={"account": account.number},
    )
