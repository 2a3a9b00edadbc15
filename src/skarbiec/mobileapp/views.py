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
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from skarbiec.members.models import CreditUnion
from skarbiec.mobileapp.texts import TEXTS

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
                "logo_url": _logo_url(),
            },
        )


def _logo_url() -> str:
    """The credit union's logo (R-B4) when the installation serves one credit union that set
    one; the shell is the same for every member, so with several it keeps the default mark."""
    unions = list(CreditUnion.objects.order_by("pk").values_list("pk", "logo_content_type")[:2])
    if len(unions) == 1 and unions[0][1]:
        return reverse("web:credit_union_logo", args=[unions[0][0]])
    return ""


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
