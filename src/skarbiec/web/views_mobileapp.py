"""The mobile app as an installable web app (PWA) at /m/, and the public *Get the mobile app* page
(R-M1–R-M11).

The app is a static shell: one HTML page, one script, one stylesheet and icons. Every account
datum comes from the mobile JSON API (/api/mobile/v1/) at run time, so the service worker may cache
the shell and nothing else. The texts are one dictionary built from the gettext catalogue (Polish
and English); the page picks the language from the browser or the member's switch.
"""

import hashlib
import io
import json
from functools import cache
from pathlib import Path

import segno
from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from skarbiec.members.models import CreditUnion
from skarbiec.web.mobileapp_ledger import TEXTS as LEDGER_TEXTS

APP_VERSION = "1.0"
THEME_COLOUR = "#0b5d3b"
SHELL_STATIC = [
    "mobileapp/app.css",
    "mobileapp/app.js",
    "mobileapp/ledger.js",
    "mobileapp/ledger.css",
    "mobileapp/icon-192.png",
    "mobileapp/icon-512.png",
]

# Every text of the app. Keys are used by app.js (data-t attributes and messages); {name}
# placeholders are filled in by the script.
TEXTS = {
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
    "idle_logout": _("You were logged out after 5 minutes without activity."),
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


def _static_digest() -> str:
    """Version of the shell: changes whenever a cached file changes, so the worker refreshes."""
    digest = hashlib.sha256(APP_VERSION.encode())
    for name in SHELL_STATIC:
        path = finders.find(name)
        if path:
            digest.update(Path(str(path)).read_bytes())
    digest.update(json.dumps(texts_by_language(), sort_keys=True).encode())
    return digest.hexdigest()[:16]


shell_version = cache(_static_digest)


@cache
def texts_by_language() -> dict[str, dict[str, str]]:
    result = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            result[code] = {key: str(text) for key, text in TEXTS.items()}
    return result


@require_GET
def app_shell(request: HttpRequest) -> HttpResponse:
    """The one page of the app. Contains no member data, so the worker may cache it."""
    with translation.override(settings.LANGUAGE_CODE):  # the cached shell is always Polish
        return render(
            request,
            "mobileapp/app.html",
            {
                "t": {key: str(text) for key, text in TEXTS.items()},
                "theme_colour": THEME_COLOUR,
                "app_version": APP_VERSION,
                "api_base": "/api/mobile/v1",
            },
        )


@require_GET
def texts(request: HttpRequest) -> JsonResponse:
    return JsonResponse(texts_by_language())


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    with translation.override(settings.LANGUAGE_CODE):
        body = {
            "name": str(_("Skarbiec mobile app")),
            "short_name": "Skarbiec",
            "description": str(_("Your credit union accounts on your phone.")),
            "lang": settings.LANGUAGE_CODE,
            "id": "/m/",
            "start_url": "/m/",
            "scope": "/m/",
            "display": "standalone",
            "orientation": "portrait",
            "background_color": "#ffffff",
            "theme_color": THEME_COLOUR,
            "icons": [
                {
                    "src": static("mobileapp/icon-192.png"),
                    "sizes": "192x192",
                    "type": "image/png",
                    "purpose": "any maskable",
                },
                {
                    "src": static("mobileapp/icon-512.png"),
                    "sizes": "512x512",
                    "type": "image/png",
                    "purpose": "any maskable",
                },
            ],
        }
    return HttpResponse(
        json.dumps(body, ensure_ascii=False), content_type="application/manifest+json"
    )


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The worker caches the shell listed here and nothing else (never /api/)."""
    shell = ["/m/", "/m/i18n.json", "/m/manifest.webmanifest"] + [
        static(name) for name in SHELL_STATIC
    ]
    response = render(
        request,
        "mobileapp/sw.js",
        {"version": shell_version(), "shell_json": json.dumps(shell)},
        content_type="text/javascript; charset=utf-8",
    )
    response["Service-Worker-Allowed"] = "/m/"
    return response


def _qr_svg(url: str) -> str:
    out = io.BytesIO()
    segno.make(url, error="m").save(
        out, kind="svg", scale=6, border=2, xmldecl=False, svgns=True, title=str(url)
    )
    return out.getvalue().decode()


@require_GET
def get_the_app(request: HttpRequest) -> HttpResponse:
    """R-M11: public page with a QR code and the link to the app."""
    app_url = settings.PUBLIC_URL + "/m/"
    defaults = CreditUnion()  # unsaved: only the policy's default values
    return render(
        request,
        "mobileapp/get_the_app.html",
        {
            "app_url": app_url,
            "qr_svg": _qr_svg(app_url),
            # The page shows the installation's credit union's policy when there is one
            # (context processor), else the defaults of the policy.
            "default_min_android": defaults.min_android_version,
            "default_min_ios": defaults.min_ios_version,
        },
    )
