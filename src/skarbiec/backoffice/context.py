"""Template context of back-office pages: the staff member's permissions as `perms`, so the
menus show what their role allows (staff are not logged in through django.contrib.auth)."""

from typing import Any

from django.contrib.auth.context_processors import PermWrapper
from django.http import HttpRequest


def staff_permissions(request: HttpRequest) -> dict[str, Any]:
    staff = getattr(request, "staff", None)
    if staff is None:
        return {}
    return {"perms": PermWrapper(staff.user)}
