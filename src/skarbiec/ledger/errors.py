"""Refusals of the ledger, accounts and orders, each with a stable code and what to do next."""

from django.utils.translation import gettext_lazy as _

from skarbiec.channels.errors import MobileChannelBlocked
from skarbiec.core.errors import Conflict, DomainError, NotFound, RateLimited, ServerError
from skarbiec.otp.errors import OtpAttemptsExhausted


class InvalidAccountNumber(DomainError):
    code = "invalid_account_number"
    message = _("The account number is not valid.")


class AccountNumberCharacters(InvalidAccountNumber):
    message = _("An account number may contain only digits, spaces and an optional PL prefix.")


class AccountNumberLength(InvalidAccountNumber):
    message = _("A Polish account number has 26 digits.")


class AccountNumberChecksum(InvalidAccountNumber):
    message = _(
        "The account number has a wrong check sum: some digit is mistyped. Compare it with "
        "the number you were given."
    )


class ForeignAccountNumber(InvalidAccountNumber):
    message = _("Only Polish account numbers (PL) are supported for domestic transfers.")


class InvalidAmount(DomainError):
    code = "invalid_amount"
    message = _("Enter the amount in złoty, for example 1,234.56.")


class AmountNotPositive(InvalidAmount):
    message = _("The amount must be greater than zero.")


class AmountTooManyDecimals(InvalidAmount):
    message = _("The amount may have at most two digits after the decimal separator (grosze).")


class AmountTooLarge(InvalidAmount):
    message = _("The amount is too large.")


class InvalidOrderDetails(DomainError):
    code = "invalid_order"
    message = _("The transfer details are not valid.")


class AccountNotFound(NotFound):
    code = "account_not_found"
    message = _("The account does not exist or is not available to you.")


class PayeeAccountNotFound(NotFound):
    code = "payee_account_not_found"
    message = _("There is no member account with this number in your credit union.")


class SameAccount(DomainError):
    code = "same_account"
    message = _("The payee account must differ from the account you pay from.")


class InsufficientFunds(Conflict):
    code = "insufficient_funds"
    message = _("The available balance of the account is too low for this transfer.")


class LimitExceeded(Conflict):
    code = "limit_exceeded"
    message = _("The transfer exceeds your limit. You can raise the limit in Settings → Limits.")


class LimitAboveMaximum(DomainError):
    code = "limit_above_maximum"
    message = _("The limit you asked for is above the maximum allowed by your credit union.")


class TooManyOrders(RateLimited):
    """More orders booked at once (own account, trusted payee) in a minute than a person makes:
    a script on a member's session must not fill the ledger and the audit log. Orders that wait
    for an SMS code are bounded by the code limits."""

    message = _("Too many transfers in a short time. Wait a minute and try again.")


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    message = _("This request repeats an earlier one with different details. Start a new transfer.")


class OrderNotFound(NotFound):
    code = "order_not_found"
    message = _("The transfer does not exist or is not available to you.")


class OrderStateConflict(Conflict):
    code = "order_state_conflict"
    message = _("The transfer can no longer be changed in its current state.")


class RejectionOfUnsentOrder(Conflict):
    code = "rejection_of_unsent_order"
    message = _(
        "Clearing's answer rejects transfers that are not awaiting settlement; nothing was "
        "booked. Check the order numbers."
    )


class PayeeNotFound(NotFound):
    code = "payee_not_found"
    message = _("The trusted payee does not exist.")


class PayeeAlreadyTrusted(Conflict):
    code = "payee_already_trusted"
    message = _("This account is already on your list of trusted payees.")


class LimitChangeNotFound(NotFound):
    code = "limit_change_not_found"
    message = _("The limit change does not exist or was already completed.")


class UnbalancedTransaction(ServerError):
    """A programming error rather than a member's mistake: the entries must sum to zero."""

    code = "unbalanced_transaction"
    message = _("The booking was refused because its entries do not balance.")


class ImmutableRecord(ServerError):
    code = "immutable_record"
    message = _("Booked ledger records are never changed or deleted; book a correction instead.")


class TransferCancelledAfterWrongCodes(OtpAttemptsExhausted):
    """R-O4 in the web: the order is cancelled; the failure counts toward the web lockout."""

    message = _(
        "Three wrong SMS codes: the transfer was cancelled and nothing was booked. Start a new "
        "transfer if you still want to make it."
    )


class AppBlockedAfterWrongCodes(MobileChannelBlocked, OtpAttemptsExhausted):
    """R-O4 in the mobile app: the order is rejected and the app blocked. Still an exhausted
    code for callers that catch that; the API answers channel_blocked like any blocked app."""

    code = "channel_blocked"
    status = 403  # a blocked app first, whatever the exhausted code's status
    message = _(
        "Three wrong SMS codes: the transfer was rejected and the mobile app is blocked. To "
        "unblock it, log in to the internet service, open Settings → Activate mobile app, define "
        "a new mobile-app password confirmed with an SMS code, and then activate the app again."
    )
