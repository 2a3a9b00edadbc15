"""A year of realistic history for the demo members (`skarbiec demo`), booked through the real
ledger services so `skarbiec ledger check` passes afterwards. Safe to call again: members that
already have accounts are left alone."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.ledger.accounts import ensure_internal_accounts, open_account
from skarbiec.ledger.booking import Leg, post_transaction
from skarbiec.ledger.errors import InsufficientFunds
from skarbiec.ledger.models import Account, LedgerTransaction
from skarbiec.ledger.nrb import make_nrb
from skarbiec.members.models import CreditUnion, Member

DEMO = RequestContext(actor="system:demo", channel="cli")

# Counterparties in other banks (valid numbers, fictitious owners).
EMPLOYERS = [
    ("Stocznia Północ Sp. z o.o.", make_nrb("10203017", "0000160200000001")),
    ("Szpital Miejski w Gdyni", make_nrb("11402004", "0000330200000002")),
]
LANDLORD = ("Spółdzielnia Mieszkaniowa Morena", make_nrb("10901014", "0000071219000003"))
UTILITIES = [
    ("Energa Obrót SA", make_nrb("12401037", "0000000000000004"), (9000, 21000), "Prąd"),
    ("PGNiG Obrót Detaliczny", make_nrb("10501038", "0000000000000005"), (6000, 15000), "Gaz"),
    ("Orange Polska SA", make_nrb("11402004", "0000000000000006"), (5999, 7999), "Telefon"),
]
SHOPS = [
    "BIEDRONKA 3421 GDANSK",
    "LIDL SP. Z O.O. GDYNIA",
    "ZABKA Z4521 SOPOT",
    "ROSSMANN 112 GDANSK",
    "ORLEN STACJA 4410",
    "APTEKA GEMINI GDANSK",
    "ALLEGRO.PL",
    "PYSZNE.PL",
    "KAUFLAND GDANSK",
    "CINEMA CITY RIVIERA",
]
MONTHS_PL = [
    "styczeń",
    "luty",
    "marzec",
    "kwiecień",
    "maj",
    "czerwiec",
    "lipiec",
    "sierpień",
    "wrzesień",
    "październik",
    "listopad",
    "grudzień",
]


@dataclass(frozen=True)
class _Event:
    at: datetime
    kind: str
    title: str
    legs: list[Leg]


def _events_for(
    member: Member,
    index: int,
    current: Account,
    savings: Account,
    other: tuple[Member, Account] | None,
    internal: dict[str, Account],
    start: datetime,
    rng: random.Random,
) -> list[_Event]:
    employer = EMPLOYERS[index % len(EMPLOYERS)]
    settlement = internal["settlement"].pk
    events: list[_Event] = [
        _Event(
            start,
            LedgerTransaction.Kind.DEPOSIT,
            "Wpłata gotówkowa w placówce",
            [Leg(internal["funding"].pk, -3000_00), Leg(current.pk, 3000_00)],
        )
    ]
    salary = (5200_00, 7400_00)[index % 2]
    for month in range(12):
        first = (start + timedelta(days=31 * month + 5)).replace(day=1, hour=8)
        pay = first.replace(day=10)
        period = MONTHS_PL[(first.month - 2) % 12]
        events.append(
            _Event(
                pay,
                LedgerTransaction.Kind.INCOMING,
                f"Wynagrodzenie za {period}",
                [
                    Leg(settlement, -salary),
                    Leg(current.pk, salary, employer[0], employer[1]),
                ],
            )
        )
        rent = 1450_00 + 50_00 * index
        events.append(
            _Event(
                first.replace(day=12, hour=18),
                LedgerTransaction.Kind.OUTGOING,
                f"Czynsz {first.month:02d}/{first.year}",
                [Leg(current.pk, -rent, *LANDLORD), Leg(settlement, rent)],
            )
        )
        for name, number, (lo, hi), label in UTILITIES:
            amount = rng.randint(lo, hi)
            events.append(
                _Event(
                    first.replace(day=rng.randint(14, 24), hour=19),
                    LedgerTransaction.Kind.OUTGOING,
                    f"{label} — faktura {first.month:02d}/{first.year}",
                    [Leg(current.pk, -amount, name, number), Leg(settlement, amount)],
                )
            )
        events.append(
            _Event(
                pay + timedelta(hours=2),
                LedgerTransaction.Kind.TRANSFER,
                "Oszczędności",
                [
                    Leg(current.pk, -500_00, member.full_name, savings.number),
                    Leg(savings.pk, 500_00, member.full_name, current.number),
                ],
            )
        )
        if other is not None and month % 2 == index:
            other_member, other_account = other
            amount = rng.choice([80_00, 120_00, 150_50, 200_00])
            events.append(
                _Event(
                    first.replace(day=rng.randint(2, 27), hour=20),
                    LedgerTransaction.Kind.TRANSFER,
                    rng.choice(["Zwrot za bilety", "Za zakupy", "Prezent dla mamy", "Obiad"]),
                    [
                        Leg(current.pk, -amount, other_member.full_name, other_account.number),
                        Leg(other_account.pk, amount, member.full_name, current.number),
                    ],
                )
            )
        for _ in range(rng.randint(8, 14)):
            amount = rng.randint(8_49, 420_00)
            events.append(
                _Event(
                    first.replace(day=rng.randint(1, 28), hour=rng.randint(8, 21)),
                    LedgerTransaction.Kind.CARD,
                    f"Płatność kartą {rng.choice(SHOPS)}",
                    [Leg(current.pk, -amount), Leg(settlement, amount)],
                )
            )
    return events


def load_demo_ledger(credit_union: CreditUnion, members: list[Member]) -> list[str]:
    """Open a current and a savings account for each demo member without accounts and book a
    year of salary, rent, bills, card payments and transfers between them. Returns what was
    created, for the demo command's report."""
    created: list[str] = []
    now = clock.now()
    start = timezone.localtime(now - timedelta(days=365)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    rng = random.Random(f"skarbiec-demo-{credit_union.sort_code}")  # noqa: S311 - demo data
    with transaction.atomic():
        internal = ensure_internal_accounts(credit_union)
        fresh = [m for m in members if not Account.objects.filter(member=m).exists()]
        opened: dict[int, tuple[Account, Account]] = {}
        for m in fresh:
            opened[m.pk] = (
                open_account(m, Account.Kind.CURRENT, DEMO, "Konto osobiste"),
                open_account(m, Account.Kind.SAVINGS, DEMO, "Konto oszczędnościowe"),
            )
            created.append(f"accounts of {m.full_name}")
        events: list[_Event] = []
        for i, m in enumerate(fresh):
            other = next((o for o in fresh if o.pk != m.pk), None)
            events += _events_for(
                m,
                i,
                *opened[m.pk],
                (other, opened[other.pk][0]) if other else None,
                internal,
                start,
                rng,
            )
        booked = 0
        # Chronological, so every entry's balance-after is what the member saw that day.
        for event in sorted(events, key=lambda e: e.at):
            if event.at >= now:
                continue
            try:
                with transaction.atomic():
                    post_transaction(
                        credit_union, event.kind, event.title, event.legs, booked_at=event.at
                    )
                booked += 1
            except InsufficientFunds:
                continue  # a shopping day the demo member could not afford: skipped
        if booked:
            created.append(f"{booked} ledger transactions of demo history")
    return created
