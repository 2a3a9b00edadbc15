"""`skarbiec ledger check` (R-L2): recompute everything the ledger stores from its entries."""

from dataclasses import dataclass

from django.db.models import Count, F, Sum, Window

from skarbiec.core.snapshots import one_moment
from skarbiec.ledger.models import Account, LedgerEntry, LedgerTransaction


@dataclass(frozen=True)
class LedgerProblem:
    what: str
    ref: str
    detail: str

    def __str__(self) -> str:
        return f"{self.what} {self.ref}: {self.detail}"


def ledger_problems() -> list[LedgerProblem]:
    """Every stored balance must equal the sum of its entries (available = booked, no holds),
    every transaction must have two or more entries summing to zero, every credit union's
    accounts must sum to zero, and every entry's balance after it (shown in history and on
    statements) must be the running sum of its account's entries in booking order. Balances
    and entries are read as of one moment: money booked while the check runs is not a
    problem."""
    with one_moment():
        return _problems_now()


def _problems_now() -> list[LedgerProblem]:
    problems: list[LedgerProblem] = []
    sums = dict(
        LedgerEntry.objects.values("account")
        .annotate(s=Sum("amount_minor"))
        .values_list("account", "s")
    )
    cu_totals: dict[int, int] = {}
    for acc in Account.objects.order_by("pk").iterator(chunk_size=2000):
        expected = int(sums.get(acc.pk) or 0)
        if acc.booked_minor != expected:
            problems.append(
                LedgerProblem(
                    "account",
                    acc.number,
                    f"booked balance {acc.booked_minor} but entries sum to {expected}",
                )
            )
        if acc.available_minor != expected:
            problems.append(
                LedgerProblem(
                    "account",
                    acc.number,
                    f"available balance {acc.available_minor} but entries sum to {expected}",
                )
            )
        if acc.member_id is not None and expected < 0:
            problems.append(LedgerProblem("account", acc.number, f"overdrawn: {expected}"))
        cu_totals[acc.credit_union_id] = cu_totals.get(acc.credit_union_id, 0) + expected
    for cu_id, total in sorted(cu_totals.items()):
        if total != 0:
            problems.append(
                LedgerProblem("credit union", str(cu_id), f"accounts sum to {total}, not zero")
            )
    bad = (
        LedgerTransaction.objects.annotate(s=Sum("entries__amount_minor"), n=Count("entries"))
        .exclude(s=0, n__gte=2)
        .values_list("pk", "s", "n")
    )
    for pk, s, n in bad:
        problems.append(LedgerProblem("transaction", str(pk), f"{n} entries summing to {s or 0}"))
    foreign = LedgerEntry.objects.exclude(
        account__credit_union_id=F("transaction__credit_union_id")
    ).values_list("pk", flat=True)[:100]
    for pk in foreign:
        problems.append(LedgerProblem("entry", str(pk), "account of another credit union"))
    problems.extend(_running_balance_problems())
    return problems


def _running_balance_problems() -> list[LedgerProblem]:
    # Booking order is pk order within an account: a booking holds the account's row lock
    # until it commits, so the next entry of that account is inserted (and numbered) after it.
    wrong = (
        LedgerEntry.objects.annotate(
            running=Window(Sum("amount_minor"), partition_by=F("account_id"), order_by="pk")
        )
        .exclude(running=F("balance_after_minor"))
        .order_by("pk")
        .values_list("pk", "account__number", "balance_after_minor", "running")[:100]
    )
    return [
        LedgerProblem(
            "entry",
            str(pk),
            f"balance after {shown} on account {number}, but its entries run to {running}",
        )
        for pk, number, shown, running in wrong
    ]
