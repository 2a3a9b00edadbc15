"""One-shot notes the settings pages leave for the next page they show."""

from django.http import HttpRequest

NOTICE = "settings_notice"


def set_settings_notice(request: HttpRequest, notice: str) -> None:
    request.session[NOTICE] = notice


def pop_settings_notice(request: HttpRequest) -> str | None:
    notice = request.session.pop(NOTICE, None)
    return notice if isinstance(notice, str) else None
