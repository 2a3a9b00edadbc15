"""Texts of the mobile app's account and transfer screens (static/mobileapp/ledger.js), merged
into the app's one dictionary by views_mobileapp. Placeholders in {braces} are filled in by the
script; amounts come formatted from the API in the app's language."""

from django.utils.translation import gettext_lazy as _

TEXTS = {
    "available": _("Available"),
    "booked": _("Booked"),
    "no_accounts": _("You have no accounts yet."),
    "history": _("History"),
    "new_transfer": _("New transfer"),
    "history_title": _("Account history"),
    "history_empty": _("No operations yet."),
    "more": _("Show more"),
    "search": _("Search in titles and names"),
    "search_button": _("Search"),
    "transfer_title": _("New transfer"),
    "from_account": _("From account"),
    "payee_account": _("Payee account number"),
    "payee_account_hint": _("26 digits; spaces and the PL prefix are allowed."),
    "payee_name": _("Payee name"),
    "transfer_title_field": _("Title"),
    "amount": _("Amount (PLN)"),
    "amount_hint": _("For example 1 234,56 or 1234.56."),
    "to_own": _("To my account"),
    "to_other": _("Another account"),
    "transfer_next": _("Next"),
    "transfer_code_title": _("Confirm the transfer"),
    "transfer_code_intro": _(
        "We sent an SMS code. Enter it only if the message names {amount} and the account "
        "ending {tail}."
    ),
    "confirm_transfer": _("Confirm the transfer"),
    "cancel_transfer": _("Cancel the transfer"),
    "result_title": _("Transfer"),
    "result_booked": _("The transfer was booked."),
    "result_pending": _("The transfer was accepted and will be sent to the payee's bank."),
    "result_cancelled": _("The transfer was cancelled. No money was moved."),
    "result_rejected": _("The transfer was rejected."),
    "to_start": _("Back to accounts"),
    "payee": _("Payee"),
    "amount_label": _("Amount"),
}
