"""The mobile app as an installable web app (PWA) at /m/ (R-M1–R-M11).

The app is a static shell: one HTML page, one script, one stylesheet and icons. Every account
datum comes from the mobile JSON API (/api/mobile/v1/) at run time, so the service worker may cache
the shell and nothing else. The texts are one dictionary built from the gettext catalogue (Polish
and English); the page picks the language from the browser or the member's switch.
"""

import hashlib
import json
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from skarbiec.members.branding import (
    PNG,
    SVG,
    installation_credit_union,
    logo_of,
    logo_url,
    png_size,
)
from skarbiec.mobileapp.texts import TEXTS

APP_VERSION = "1.0"
THEME_COLOUR = "#0b4f6c"  # --brand of members/brand.css
SHELL_STATIC = [
    "members/brand.css",
    "mobileapp/app.css",
    "mobileapp/app.js",
    "mobileapp/ledger.js",
    "mobileapp/ledger.css",
    "mobileapp/home.js",
    "mobileapp/payees.js",
    "mobileapp/statements.js",
    "mobileapp/home.css",
    "mobileapp/icon-192.png",
    "mobileapp/icon-512.png",
]


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


@require_safe
def app_shell(request: HttpRequest) -> HttpResponse:
    """The one page of the app. Contains no member data, so the worker may cache it."""
    # The installation's credit union (if it has one) names the header until the app knows the
    # member's; that is public, like the web's login page, not member data.
    credit_union = installation_credit_union()
    with translation.override(settings.LANGUAGE_CODE):  # the cached shell is always Polish
        return render(
            request,
            "mobileapp/app.html",
            {
                "t": {key: str(text) for key, text in TEXTS.items()},
                "theme_colour": THEME_COLOUR,
                "brand_name": credit_union.name if credit_union else "",
                "logo_url": logo_url(credit_union),
                "app_version": APP_VERSION,
                "api_base": "/api/mobile/v1",
            },
        )


@require_safe
def texts(request: HttpRequest) -> JsonResponse:
    return JsonResponse(texts_by_language())


DEFAULT_ICONS = [
    {"src": "mobileapp/icon-192.png", "sizes": "192x192"},
    {"src": "mobileapp/icon-512.png", "sizes": "512x512"},
]


def _icons() -> list[dict[str, str]]:
    """The installation's credit union's logo when it has one a manifest can use (SVG at any
    size, PNG at its own); else the default mark's PNGs, drawn from the same SVG (make icons)."""
    credit_union = installation_credit_union()
    logo = logo_of(credit_union)
    if not logo.is_default:
        size = png_size(logo.content) if logo.content_type == PNG else None
        if logo.content_type == SVG or size:
            return [
                {
                    "src": logo_url(credit_union),
                    "sizes": f"{size[0]}x{size[1]}" if size else "any",
                    "type": logo.content_type,
                    "purpose": "any",
                }
            ]
    return [
        {"src": static(icon["src"]), "sizes": icon["sizes"], "type": PNG, "purpose": "any maskable"}
        for icon in DEFAULT_ICONS
    ]


@require_safe
def manifest(request: HttpRequest) -> HttpResponse:
    credit_union = installation_credit_union()
    with translation.override(settings.LANGUAGE_CODE):
        body = {
            "name": (
                str(_("%(credit_union)s — mobile app") % {"credit_union": credit_union.name})
                if credit_union
                else str(_("Skarbiec mobile app"))
            ),
            "short_name": credit_union.name if credit_union else "Skarbiec",
            "description": str(_("Your credit union accounts on your phone.")),
            "lang": settings.LANGUAGE_CODE,
            "id": "/m/",
            "start_url": "/m/",
            "scope": "/m/",
            "display": "standalone",
            "orientation": "portrait",
            "background_color": "#ffffff",
            "theme_color": THEME_COLOUR,
            "icons": _icons(),
        }
    return HttpResponse(
        json.dumps(body, ensure_ascii=False), content_type="application/manifest+json"
    )


@require_safe
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
