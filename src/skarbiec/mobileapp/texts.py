"""Every text of the app, one dictionary built from the gettext catalogue (Polish and English).
Keys are used by app.js and ledger.js (data-t attributes and messages); {name} placeholders are
filled in by the scripts."""

from typing import Any

from django.utils.translation import gettext_lazy as _

from skarbiec.channels.errors import idle_logout_text
from skarbiec.mobileapp.texts_home import TEXTS as HOME_TEXTS
from skarbiec.mobileapp.texts_ledger import TEXTS as LEDGER_TEXTS

# Read with str() in the language of the moment (views.py).
TEXTS: dict[str, Any] = {
    "app_name": _("Mobile app"),
    "loading": _("Loading…"),
    "language": _("Language"),
    "help": _("Help"),
    "back": _("Back"),
    "cancel": _("Cancel"),
    "next": _("Next"),
    "activate_title": _("Activate the app"),
    "activate_intro": _(
        "Enter your Login and the mobile-app password you defined in the internet service "
        "(Settings → Access channels)."
    ),
    "login": _("Login"),
    "login_help": _("The 10-digit number printed on your agreement."),
    "mobile_password": _("Mobile-app password"),
    "activate": _("Activate"),
    "code_title": _("Enter the SMS code"),
    "code_intro": _(
        "We sent a one-time code to your phone. Check that the message speaks of activating the "
        "mobile app."
    ),
    "sms_code": _("SMS code"),
    "confirm": _("Confirm"),
    "creating_key": _("Creating the security key of this device…"),
    "set_pin_title": _("Choose a PIN"),
    "set_pin_intro": _(
        "You will log in to the app with this PIN. It has {n} digits. Avoid easy ones like 12345 "
        "or your birth date."
    ),
    "pin": _("PIN"),
    "repeat_pin": _("Repeat the PIN"),
    "pins_differ": _("The two PINs are different."),
    "save_pin": _("Save the PIN"),
    "fingerprint_title": _("Log in with your fingerprint?"),
    "fingerprint_intro": _(
        "You can log in with the fingerprint saved in this phone instead of the PIN. The PIN "
        "still works."
    ),
    "enable_fingerprint": _("Enable fingerprint login"),
    "not_now": _("Not now"),
    "fingerprint_enabled": _("Fingerprint login is on."),
    "fingerprint_unavailable": _("This phone cannot log in with a fingerprint."),
    "pin_title": _("Log in"),
    "pin_intro": _("Enter your PIN."),
    "delete_digit": _("Delete the last digit"),
    "log_in_fingerprint": _("Log in with fingerprint"),
    "forgot_pin": _("Forgot the PIN?"),
    "fingerprint_not_recognised": _(
        "The fingerprint was not recognised. Try again or log in with your PIN."
    ),
    "attempts_left": _("Attempts left: {n}."),
    "idle_warning_title": _("You will be logged out soon"),
    "idle_warning_text": _(
        "For your security the app locks after a period without activity. It will lock in {n} "
        "seconds."
    ),
    "stay_logged_in": _("Stay logged in"),
    "pin_digits": _("{n} of {total} digits entered."),
    "logged_out": _("You have logged out."),
    "greeting": _("Good day, {name}"),
    "accounts": _("Accounts"),
    "accounts_soon": _("Your accounts will be shown here."),
    "log_out": _("Log out"),
    "blocked_title": _("The mobile app is blocked"),
    "blocked_helpline": _("Questions? Call the helpline:"),
    "activate_again": _("Activate again"),
    "refused_title": _("This device cannot use the app"),
    "help_title": _("Help"),
    "helpline": _("Helpline"),
    "reset_title": _("Reset the application?"),
    "reset_intro": _(
        "All data of the app on this phone will be erased: the device key, the PIN and the "
        "fingerprint login. Then activate the app again with your Login and mobile-app "
        "password and choose a new PIN."
    ),
    "reset": _("Reset application"),
    "reset_done": _("The application was reset. Activate it again."),
    "offline": _("No connection. Check the internet connection and try again."),
    "unexpected": _("Something went wrong. Try again in a moment."),
    "no_crypto": _(
        "This browser cannot keep the keys of the app safely. Open the app in an up-to-date "
        "Chrome or Safari, at an https:// address."
    ),
}

# The account and transfer screens (ledger.js) bring their own texts.
TEXTS.update(LEDGER_TEXTS)
TEXTS.update(HOME_TEXTS)


class _IdleLogout:
    """The app's own lock after the idle limit names the credit union's minutes, as the web's
    notice and the API's `session_expired` do (R-M9): one text per limit a policy may set
    (1 to 5 minutes, §8), made in the language active when it is read."""

    def __init__(self, minutes: int) -> None:
        self.minutes = minutes

    def __str__(self) -> str:
        return idle_logout_text(self.minutes)


TEXTS.update({f"idle_logout_{minutes}": _IdleLogout(minutes) for minutes in range(1, 6)})
