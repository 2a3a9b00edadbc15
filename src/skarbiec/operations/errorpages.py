"""The pages nginx shows when the application cannot answer itself (R-D1, R-X8).

nginx answers some requests without the application: every instance down (502/504), a body over
client_max_body_size (413), the flood limit on login URLs (429), headers or an address over
its buffers (431, 414) or a request it cannot read (400). Those answers must still be in
the member's language and, for the API, JSON like every other API error. `skarbiec errorpages`
renders them once per language into a directory nginx serves; nginx picks the language from the
member's language cookie or the browser's preference.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class EdgeError:
    name: str  # file name in the directory, referred to by deploy/nginx/skarbiec.conf
    code: str  # the API's error code for the same situation
    title: Promise
    message: Promise


EDGE_ERRORS = (
    EdgeError(
        "unavailable",
        "service_unavailable",
        _("Service temporarily unavailable"),
        _("The service is temporarily unavailable. Try again in a moment."),
    ),
    EdgeError(
        "too-large",
        "request_too_large",
        _("Request too large"),
        _("The data you sent is too large. Shorten it and try again."),
    ),
    EdgeError(
        "bad-request",
        "invalid_input",
        _("The request was not accepted"),
        _("The request could not be read."),
    ),
    EdgeError(
        "rate-limited",
        "rate_limited",
        _("Too many requests"),
        _("Too many attempts. Wait a minute and try again."),
    ),
)


def default_errorpages_dir() -> Path:
    return Path(settings.DATA_DIR) / "errorpages"


def write_error_pages(directory: Path) -> list[Path]:
    written = []
    # Read by nginx's own user, whatever the umask of the command that wrote them.
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    for language, _name in settings.LANGUAGES:
        target = directory / language
        target.mkdir(exist_ok=True)
        target.chmod(0o755)
        with translation.override(language):
            for error in EDGE_ERRORS:
                html = render_to_string(
                    "operations/edge_error.html",
                    {"title": error.title, "message": error.message, "language": language},
                )
                body = {"code": error.code, "message": str(error.message)}
                for path, text in (
                    (target / f"{error.name}.html", html),
                    (target / f"{error.name}.json", json.dumps(body, ensure_ascii=False)),
                ):
                    path.write_text(text, encoding="utf-8")
                    path.chmod(0o644)
                    written.append(path)
    return written
