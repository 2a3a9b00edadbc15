"""Accounts, the double-entry ledger, orders (dyspozycje), trusted payees and limits (§6).

Money is always integer grosze (`*_minor`). Ledger records are append-only: the models refuse
updates and deletes themselves, so no code path can rewrite history by accident.
"""

from typing import Any

from django.db import models

from skarbiec.ledger.errors import ImmutableRecord, UnbalancedTransaction

CHANNELS = [("web", "web"), ("mobile", "mobile")]


class Account(models.Model):
    """R-L1. A member's account, or an internal account of the credit union (no member)."""

    class Kind(models.TextChoices):
        CURRENT = "current"  # rachunek rozliczeniowy (settlement account of a member)
        SAVINGS = "savings"
        # Internal accounts: outgoing transfers waiting for clearing, the credit union's
        # account at the clearing house (money that left or came from other banks), and cash
        # paid in at the branch (and demo deposits).
        CLEARING = "clearing"
        SETTLEMENT = "settlement"
        FUNDING = "funding"

    MEMBER_KINDS = (Kind.CURRENT, Kind.SAVINGS)

    credit_union = models.ForeignKey(
        "members.CreditUnion", on_delete=models.PROTECT, related_name="accounts"
    )
    member = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    number = models.CharField(max_length=26, unique=True)
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, default="PLN")
    # Booked balance: always the sum of the account's entries (`skarbiec ledger check`).
    booked_minor = models.BigIntegerField(default=0)
    # Available balance: booked minus holds. There are no holds yet (card authorisations
    # would add them), so today it moves together with the booked balance.
    available_minor = models.BigIntegerField(default=0)
    opened_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(member__isnull=True)
                | models.Q(available_minor__gte=0, booked_minor__gte=0),
                name="member_account_never_negative",
            ),
            models.UniqueConstraint(
                fields=["credit_union", "kind"],
                condition=models.Q(member__isnull=True),
                name="one_internal_account_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["member", "kind"])]

    def __str__(self) -> str:
        return f"{self.name} {self.number}"

    @property
    def is_internal(self) -> bool:
        return self.member_id is None


class _AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise ImmutableRecord()

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableRecord()


class LedgerTransaction(models.Model):
    """R-L2. One booking: entries on two or more accounts that sum to zero."""

    class Kind(models.TextChoices):
        TRANSFER = "transfer"  # own or internal transfer
        OUTGOING = "outgoing"  # external transfer: member → clearing
        CLEARED = "cleared"  # clearing → settlement, the batch was booked by the other bank
        REFUND = "refund"  # clearing → member, the other bank rejected the transfer
        INCOMING = "incoming"  # settlement → member, from another bank
        CARD = "card"  # card payment settled through the clearing house (member → settlement)
        DEPOSIT = "deposit"  # cash at the branch (funding → member)
        WITHDRAWAL = "withdrawal"

    credit_union = models.ForeignKey(
        "members.CreditUnion", on_delete=models.PROTECT, related_name="ledger_transactions"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=140)
    booked_at = models.DateTimeField(db_index=True)

    objects = _AppendOnlyQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.kind} {self.pk}: {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableRecord()
        if not getattr(self, "_entries_balanced", False):
            # Only skarbiec.ledger.booking.post_transaction writes bookings: it checks the
            # entries first and marks the instance.
            raise UnbalancedTransaction()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableRecord()


class LedgerEntry(models.Model):
    """One leg of a booking. Positive = credit (money in), negative = debit (money out)."""

    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount_minor = models.BigIntegerField()
    # Booked balance of the account right after this entry (statements, history).
    balance_after_minor = models.BigIntegerField()
    # The other side as the member sees it in history and confirmations.
    counterparty_name = models.CharField(max_length=70, blank=True)
    counterparty_account = models.CharField(max_length=26, blank=True)
    # Title and counterparty, case-folded: SQLite's LIKE folds only ASCII, and members search
    # for "żółkiewska" as often as for "Żółkiewska" (R-L5).
    search_text = models.CharField(max_length=220, blank=True)
    booked_at = models.DateTimeField()

    objects = _AppendOnlyQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["account", "booked_at"])]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount_minor=0), name="entry_not_zero")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount_minor:+d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Entries are written only together with their transaction (bulk, after the sum was
        # checked): a lone entry would unbalance the ledger.
        raise ImmutableRecord() if self.pk is not None else UnbalancedTransaction()

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableRecord()


def _balanced_entries_check(entries: list[LedgerEntry]) -> None:
    if len(entries) < 2 or sum(e.amount_minor for e in entries) != 0:
        raise UnbalancedTransaction()
    if any(e.amount_minor == 0 for e in entries):
        raise UnbalancedTransaction()


def write_balanced(txn: LedgerTransaction, entries: list[LedgerEntry]) -> None:
    """Store a transaction and its entries; refuses unless they sum to zero. In a transaction."""
    _balanced_entries_check(entries)
    txn._entries_balanced = True  # type: ignore[attr-defined]
    txn.save()
    for e in entries:
        e.transaction = txn
    LedgerEntry.objects.bulk_create(entries)


class CashRequest(models.Model):
    """One cash form at the branch, booked once (R-B2): the key the form was shown with. The
    same form sent twice (a double click, the browser sending it again) finds its booking
    here instead of paying the cash in or out a second time."""

    key = models.CharField(max_length=64, unique=True)
    booking = models.OneToOneField(
        LedgerTransaction, on_delete=models.PROTECT, related_name="cash_request"
    )
    account = models.ForeignKey("Account", on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=16)
    amount_minor = models.BigIntegerField()
    created_at = models.DateTimeField()


class Order(models.Model):
    """R-L3. A transfer order (dyspozycja) from a member's account.

    AWAITING_AUTHORIZATION → BOOKED (own, internal) | PENDING (external) | CANCELLED | REJECTED;
    PENDING → SENT (in an outgoing batch) → BOOKED | REJECTED (money refunded).
    """

    class Kind(models.TextChoices):
        OWN = "own"
        INTERNAL = "internal"
        EXTERNAL = "external"

    class State(models.TextChoices):
        AWAITING_AUTHORIZATION = "awaiting_authorization"
        PENDING = "pending"
        SENT = "sent"
        BOOKED = "booked"
        REJECTED = "rejected"
        CANCELLED = "cancelled"

    # Orders in these states use up limits: the money left or is on its way.
    COUNTED_STATES = (State.PENDING, State.SENT, State.BOOKED)

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="orders")
    channel = models.CharField(max_length=8, choices=CHANNELS)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = models.CharField(max_length=24, choices=State.choices)
    idempotency_key = models.CharField(max_length=64)
    # Hash of the request's details: a retry with the same key must carry the same details.
    request_digest = models.CharField(max_length=64)
    from_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="orders")
    to_account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.PROTECT, related_name="incoming_orders"
    )
    payee_account = models.CharField(max_length=26)
    payee_name = models.CharField(max_length=70)
    title = models.CharField(max_length=140)
    amount_minor = models.BigIntegerField()
    exempt_reason = models.CharField(max_length=16, blank=True)  # own / trusted_payee
    otp_id = models.BigIntegerField(null=True, blank=True)
    booking = models.ForeignKey(
        LedgerTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    settlement = models.ForeignKey(
        LedgerTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    batch = models.ForeignKey(
        "OutgoingBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    reject_reason = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    authorized_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "idempotency_key"], name="order_idempotency_key_per_member"
            ),
            models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="order_positive"),
        ]
        indexes = [
            models.Index(fields=["member", "channel", "created_at"]),
            models.Index(fields=["state", "kind"]),
        ]

    def __str__(self) -> str:
        return f"order {self.pk} {self.kind} {self.state}"


class OutgoingBatch(models.Model):
    """A file of external transfers handed to clearing by `skarbiec settle`."""

    credit_union = models.ForeignKey(
        "members.CreditUnion", on_delete=models.PROTECT, related_name="outgoing_batches"
    )
    file_name = models.CharField(max_length=200)
    order_count = models.PositiveIntegerField()
    total_minor = models.BigIntegerField()
    created_at = models.DateTimeField()
    # Set once the file is on disk under its final name: until then clearing cannot have it,
    # so its orders await no answer and the next `settle` writes it (R-L3).
    written_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.file_name


class TrustedPayee(models.Model):
    """A payee in the member's payee book (R-L4 extended): SAVED ones only fill the transfer
    form; ACTIVE ones are trusted, and transfers to them need no SMS code. Trusting a payee needs
    a code: a new payee waits PENDING for it; a SAVED one stays SAVED until the code is right.
    """

    class State(models.TextChoices):
        SAVED = "saved"
        PENDING = "pending"
        ACTIVE = "active"
        REMOVED = "removed"

    IN_BOOK = (State.SAVED, State.ACTIVE)

    member = models.ForeignKey(
        "members.Member", on_delete=models.CASCADE, related_name="trusted_payees"
    )
    name = models.CharField(max_length=70)
    account = models.CharField(max_length=26)
    # The title the transfer form starts with when the payee is picked.
    title = models.CharField(max_length=140, blank=True, default="")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    otp_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "account"],
                condition=models.Q(state="active"),
                name="one_active_trusted_payee_per_account",
            ),
            models.UniqueConstraint(
                fields=["member", "account"],
                condition=models.Q(state__in=["saved", "active"]),
                name="one_payee_per_account_in_book",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.account}"


class CreditUnionLimits(models.Model):
    """The credit union's maximum and default limits for one channel (R-L4)."""

    credit_union = models.ForeignKey(
        "members.CreditUnion", on_delete=models.CASCADE, related_name="transfer_limits"
    )
    channel = models.CharField(max_length=8, choices=CHANNELS)
    max_per_transaction_minor = models.BigIntegerField()
    max_daily_minor = models.BigIntegerField()
    max_monthly_minor = models.BigIntegerField()
    default_per_transaction_minor = models.BigIntegerField()
    default_daily_minor = models.BigIntegerField()
    default_monthly_minor = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["credit_union", "channel"], name="cu_limits_per_channel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.credit_union_id} {self.channel}"


class MemberLimits(models.Model):
    """A member's own limits for one channel. The row is also the lock that serialises the
    member's orders in that channel, so parallel orders cannot pass a limit together."""

    member = models.ForeignKey(
        "members.Member", on_delete=models.CASCADE, related_name="transfer_limits"
    )
    channel = models.CharField(max_length=8, choices=CHANNELS)
    per_transaction_minor = models.BigIntegerField()
    daily_minor = models.BigIntegerField()
    monthly_minor = models.BigIntegerField()
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "channel"], name="member_limits_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.channel}"


class LimitChange(models.Model):
    """A raise of limits waiting for its SMS code."""

    class State(models.TextChoices):
        PENDING = "pending"
        APPLIED = "applied"
        VOIDED = "voided"

    member = models.ForeignKey(
        "members.Member", on_delete=models.CASCADE, related_name="limit_changes"
    )
    channel = models.CharField(max_length=8, choices=CHANNELS)
    per_transaction_minor = models.BigIntegerField()
    daily_minor = models.BigIntegerField()
    monthly_minor = models.BigIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    otp_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.member_id} {self.channel} {self.state}"


class Statement(models.Model):
    """A monthly statement of one account (R-L5): issued once per account and month, by the
    worker after the month ends or on a member's request for any past month, and kept as the
    PDF the member downloads (the same document every time)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="statements")
    period = models.DateField()  # the first day of the month
    opening_minor = models.BigIntegerField()
    closing_minor = models.BigIntegerField()
    credits_minor = models.BigIntegerField()
    debits_minor = models.BigIntegerField()  # ≥ 0: money out
    entry_count = models.PositiveIntegerField()
    language = models.CharField(max_length=8)
    pdf = models.BinaryField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "period"], name="one_statement_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.period:%Y-%m}"
