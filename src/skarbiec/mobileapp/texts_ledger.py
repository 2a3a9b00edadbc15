"""Texts of the mobile app's account and transfer screens (static/mobileapp/ledger.js), merged
into the app's one dictionary by skarbiec.mobileapp.texts. Placeholders in {braces} are filled
in by the script; amounts come formatted from the API in the app's language."""

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
    # Trusted payees and limits (R-L4)
    "payees_button": _("Trusted payees"),
    "limits_button": _("Limits"),
    "payees_title": _("Trusted payees"),
    "payees_intro": _(
        "Transfers to a trusted payee need no SMS code. Add only people and companies you pay "
        "regularly."
    ),
    "payees_empty": _("You have no trusted payees yet."),
    "payee_add_title": _("Add a trusted payee"),
    # Worded apart from the transfer form's labels: both forms live in one page.
    "trusted_name_field": _("Name of the payee"),
    "trusted_account_field": _("Account number of the payee"),
    "payee_add": _("Add the payee"),
    "payee_remove": _("Remove"),
    "payee_remove_named": _("Remove {name}"),
    "payee_removed": _("{name} is no longer a trusted payee."),
    "payee_pending": _("waiting for the SMS code"),
    "payee_pending_web": _(
        "trusting it was started in the internet service: enter its SMS code there"
    ),
    "payee_code_title": _("Confirm the trusted payee"),
    "payee_code_intro": _(
        "We sent an SMS code. Enter it only if the message names the account ending {tail}."
    ),
    "payee_confirm": _("Confirm the payee"),
    "payee_added": _("{name} is now a trusted payee."),
    "limits_title": _("Limits of the mobile app"),
    "limits_intro": _(
        "You can lower a limit at once. Raising a limit needs an SMS code and cannot go above "
        "the maximum set by your credit union. Transfers between your own accounts do not count."
    ),
    "limit_per_transaction": _("Per transaction"),
    "limit_daily": _("Daily"),
    "limit_monthly": _("Monthly"),
    "limit_used_today": _("Used today: {amount}"),
    "limit_used_month": _("Used this month: {amount}"),
    "limit_maximum": _("Credit union's maximum: {amount}"),
    "limits_change_title": _("Change the limits"),
    "limit_per_transaction_field": _("Per transaction (PLN)"),
    "limit_daily_field": _("Daily (PLN)"),
    "limit_monthly_field": _("Monthly (PLN)"),
    "limits_save": _("Save the limits"),
    "limits_changed": _("The new limits apply from now on."),
    "limits_code_title": _("Confirm the higher limits"),
    "limits_code_intro": _(
        "We sent an SMS code. Enter it only if the message speaks of raising limits."
    ),
    "limits_confirm": _("Confirm the limits"),
    "back_to_start": _("Back to the start screen"),
}
