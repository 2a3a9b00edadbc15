"""The `problems` of a 422, one per field, in the request's language (R-X8, R-X5): pydantic's
own texts are English only, so each kind of error it reports is named here."""

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# pydantic error types, by family (see pydantic_core's ErrorType); the rest are "not valid".
_KINDS = {
    "missing": gettext_lazy("required"),
    "string_type": gettext_lazy("must be text"),
    "string_unicode": gettext_lazy("must be valid Unicode text"),
    "string_too_long": gettext_lazy("too long"),
    "string_too_short": gettext_lazy("too short"),
    "string_pattern_mismatch": gettext_lazy("not in the expected form"),
    "int_": gettext_lazy("must be a whole number"),
    "float_": gettext_lazy("must be a number"),
    "decimal_": gettext_lazy("must be a number"),
    "bool_": gettext_lazy("must be true or false"),
    "date": gettext_lazy("must be a date (YYYY-MM-DD)"),
    "datetime": gettext_lazy("must be a date and time (ISO 8601)"),
    "greater_than": gettext_lazy("too small"),
    "less_than": gettext_lazy("too large"),
    "list_type": gettext_lazy("must be a list"),
    "dict_type": gettext_lazy("must be an object"),
    "model_": gettext_lazy("must be an object"),
    "literal_error": gettext_lazy("not one of the allowed values"),
    "enum": gettext_lazy("not one of the allowed values"),
    "json_invalid": gettext_lazy("not valid JSON"),
}


def problem_text(error: dict[str, Any]) -> str:
    """'field: what is wrong with it', in the active language."""
    where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "payload"))
    kind = str(error.get("type", ""))
    if kind == "value_error":
        # Our own validators raise translated messages (api/schemas.py, core/bounds.py).
        what = str((error.get("ctx") or {}).get("error") or _("not valid"))
    else:
        found = next((text for prefix, text in _KINDS.items() if kind.startswith(prefix)), None)
        what = str(found) if found is not None else _("not valid")
    return f"{where}: {what}" if where else what
