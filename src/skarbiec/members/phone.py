"""Members' mobile phone numbers (R-T2), where SMS codes go: validated and kept in one form."""

import re

from skarbiec.members.errors import InvalidPhone

PHONE_RE = re.compile(r"^\+?[0-9]{9,15}$")


def normalize_phone(phone: str) -> str:
    digits = re.sub(r"[\s\-()]", "", phone or "")
    if not PHONE_RE.match(digits):
        raise InvalidPhone()
    if len(digits) == 9:
        digits = "+48" + digits  # a Polish mobile number without the country code
    elif not digits.startswith("+"):
        digits = "+" + digits
    return digits
