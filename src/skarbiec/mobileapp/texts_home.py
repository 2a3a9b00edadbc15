"""Texts of the app's start screen overview, payee book and statements (static/mobileapp/
home.js, payees.js, statements.js), merged into the app's one dictionary by
skarbiec.mobileapp.texts. Placeholders in {braces} are filled in by the script."""

from django.utils.translation import gettext_lazy as _

TEXTS = {
    "previous_login": _("Your previous login: {when}, {channel}{device}."),
    "first_login": _("This is your first login."),
    "waiting_title": _("Orders on their way"),
    "waiting_code": _("waiting for the SMS code"),
    "waiting_code_web": _("ordered in the internet service: enter its SMS code there"),
    "waiting_clearing": _("waiting to be sent to the payee's bank"),
    "recent_title": _("Latest operations"),
    "recent_empty": _("No operations yet."),
    "months_title": _("Income and expenses per month"),
    "month": _("Month"),
    "income": _("Income"),
    "expenses": _("Expenses"),
    "payee_pick": _("Payee from your book"),
    "payee_pick_none": _("— type the payee below —"),
    "payee_save": _("Save this payee in my payee book"),
    "payee_trusted": _("trusted"),
    "payee_trust": _("Make trusted"),
    "payee_trust_named": _("Make {name} trusted"),
    "statements_button": _("Statements"),
    "statements_title": _("Statements"),
    "statements_intro": _(
        "A statement is issued on the first day of the next month; for an earlier month it is "
        "prepared when you download it."
    ),
    "statements_empty": _(
        "The first statement will be available after the end of the month in which the "
        "account was opened."
    ),
    "statement_download": _("{month}: statement (PDF)"),
    "statement_ready": _("The statement for {month} was downloaded."),
    "back_to_history": _("Back to the history"),
}
