"""The app's help (R-M10): the credit union's helpline numbers and answers to common
questions, in the member's language.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from skarbiec.channels.models import (
    MobileDevice,
)
from skarbiec.members.models import CreditUnion


@dataclass(frozen=True)
class HelpContent:
    credit_union: str
    helpline: list[str]
    faq: list[tuple[str, str]]


def mobile_help(device_id: str = "") -> HelpContent:
    """Helpline numbers of the device's credit union (or the installation's first one) and
    answers to common questions, in the active language (R-M10)."""
    device = (
        MobileDevice.objects.select_related("member__credit_union")
        .filter(device_id=str(device_id)[:43])
        .first()
        if device_id
        else None
    )
    cu = device.member.credit_union if device else CreditUnion.objects.order_by("pk").first()
    faq = [
        (
            _("What do I need to start using the app?"),
            _(
                "The internet service of your credit union and a phone with Android 5.1 or iOS "
                "10.0 or newer. First turn the mobile app channel on in the internet service "
                "(Settings → Access channels), choosing a mobile-app password. Then open the "
                "app, enter your Login and that password, and confirm with the SMS code."
            ),
        ),
        (
            _("I forgot my PIN. What now?"),
            _(
                "Choose Reset application on the PIN screen. Then activate the app again with "
                "your Login and mobile-app password and choose a new PIN."
            ),
        ),
        (
            _("I forgot my mobile-app password."),
            _(
                "In the internet service, turn the mobile app channel off and on again "
                "(Settings → Access channels). You will define a new mobile-app password, "
                "confirmed with an SMS code, and then activate the app again."
            ),
        ),
        (
            _("The app says it is blocked."),
            _(
                "After three failed PIN or fingerprint attempts the app is blocked for your "
                "safety. Log in to the internet service, open Settings → Activate mobile app, "
                "set a new mobile-app password, and activate the app again. The helpline "
                "cannot unblock the app for you."
            ),
        ),
        (
            _("Why was I logged out?"),
            _(
                "After five minutes without activity the app logs you out and shows the PIN "
                "screen, so nobody else can use it if you leave the phone."
            ),
        ),
        (
            _("My phone was lost or stolen."),
            _(
                "Remove the device in the internet service (Settings → Devices) or call the "
                "helpline and ask them to block the mobile app."
            ),
        ),
    ]
    return HelpContent(
        credit_union=cu.name if cu else "",
        helpline=list(cu.helpline_phones) if cu else [],
        faq=[(str(q), str(a)) for q, a in faq],
    )
