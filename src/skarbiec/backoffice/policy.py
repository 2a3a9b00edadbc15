"""The security policy of a credit union (SPEC §8) and its bounds (R-B4): what an administrator
may set, from the back-office or the CLI alike. A value outside its bounds is refused with a
message naming the field; nothing is saved."""

import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from skarbiec.backoffice.errors import InvalidField
from skarbiec.channels.devicepolicy import ANDROID, IOS, SYSTEM_FLOORS, below_floor


@dataclass(frozen=True)
class Bound:
    low: int
    high: int
    label: Any


# §8: idle logout at most 5 minutes, failed attempts at most 5, SMS code lifetime at most 5 min.
BOUNDS: dict[str, Bound] = {
    "idle_timeout_seconds": Bound(60, 300, _("Idle logout (seconds)")),
    "session_absolute_seconds": Bound(300, 12 * 3600, _("Session limit (seconds)")),
    "max_auth_failures": Bound(1, 5, _("Failed PIN/fingerprint attempts before block")),
    "max_otp_failures": Bound(1, 5, _("Failed SMS code attempts")),
    "max_web_password_failures": Bound(1, 5, _("Failed web passwords before block")),
    "otp_ttl_seconds": Bound(60, 300, _("SMS code lifetime (seconds)")),
    "otp_digits": Bound(6, 8, _("SMS code digits")),
    "pin_length": Bound(4, 8, _("PIN length")),
}
FLAGS: dict[str, Any] = {
    "refuse_rooted_devices": _("Refuse rooted or jailbroken devices"),
    "activation_requires_otp": _("App activation needs an SMS code"),
}
VERSIONS: dict[str, Any] = {
    "min_android_version": _("Minimum Android version"),
    "min_ios_version": _("Minimum iOS version"),
}
# R-M8: the seed's minimum systems are floors (channels/devicepolicy.py).
VERSION_PLATFORMS = {"min_android_version": ANDROID, "min_ios_version": IOS}
POLICY_FIELDS = (*BOUNDS, *FLAGS, *VERSIONS)
VERSION_RE = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3}){0,2}$")


def checked_policy(values: dict[str, Any]) -> dict[str, Any]:
    """The given policy values, checked against their bounds; unknown names are refused."""
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if name in BOUNDS:
            bound = BOUNDS[name]
            try:
                number = int(str(value).strip())
            except (TypeError, ValueError):
                raise InvalidField(name, _("Enter a whole number."))
            if not bound.low <= number <= bound.high:
                raise InvalidField(
                    name,
                    _("Allowed values: %(low)s to %(high)s.")
                    % {"low": bound.low, "high": bound.high},
                )
            checked[name] = number
        elif name in FLAGS:
            if not isinstance(value, bool):
                raise InvalidField(name, _("Enter yes or no."))
            checked[name] = value
        elif name in VERSIONS:
            text = str(value or "").strip()
            if not VERSION_RE.match(text):
                raise InvalidField(name, _("Enter a version like 5.1 or 10.0."))
            platform = VERSION_PLATFORMS[name]
            if below_floor(platform, text):
                floor = SYSTEM_FLOORS[platform]
                raise InvalidField(
                    name, _("Older systems than %(floor)s are never allowed.") % {"floor": floor}
                )
            checked[name] = text
        else:
            raise InvalidField(name, _("Unknown setting."))
    return checked
