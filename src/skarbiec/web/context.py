from typing import Any

from django.http import HttpRequest


def member_context(request: HttpRequest) -> dict[str, Any]:
    return {"member": getattr(request, "member", None)}
