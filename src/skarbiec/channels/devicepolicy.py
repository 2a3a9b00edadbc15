"""Device policy of a credit union (R-M8): minimum system versions and rooted devices.

The app reports what it knows about the device; a native app may add an integrity token
(Android key attestation, Apple App Attest) that an `IntegrityVerifier` checks. Whatever a device
says about itself without verified attestation is advisory: it can make us refuse (a device that
admits being rooted or too old), never make us trust more. The PWA can only report what its
browser tells (user agent, client hints), so for the PWA every signal is advisory.
"""

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from skarbiec.channels.errors import DeviceNotSupported, DeviceRooted
from skarbiec.members.models import CreditUnion

ANDROID = "android"
IOS = "ios"
WEB = "web"  # a browser that is neither Android nor iOS (e.g. the PWA on a desktop)

_ANDROID_UA = re.compile(r"Android\s+([0-9]+(?:\.[0-9]+){0,2})")
_IOS_UA = re.compile(r"(?:iPhone|iPad|iPod).*?OS\s+([0-9]+(?:_[0-9]+){0,2})")
USER_AGENT_KEPT = 300
_VERSION = re.compile(r"^[0-9]{1,3}(?:\.[0-9]{1,4}){0,3}$")


@dataclass(frozen=True)
class DeviceInfo:
    """What the app reports about the device at activation and login."""

    platform: str = ""
    os_version: str = ""
    app_version: str = ""
    name: str = ""
    rooted: bool = False
    integrity_token: str = ""
    user_agent: str = ""
    client_hints_platform: str = ""
    client_hints_platform_version: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "os_version": self.os_version,
            "app_version": self.app_version,
            "name": self.name,
            "rooted": self.rooted,
        }


@dataclass(frozen=True)
class IntegrityVerdict:
    """`verified` only when a signature chain was checked; `rooted` None when unknown."""

    verified: bool
    rooted: bool | None = None
    reason: str = ""


class IntegrityVerifier(Protocol):
    def verify(self, device: DeviceInfo) -> IntegrityVerdict: ...


class UnverifiedIntegrity:
    """The default: checks no attestation, so it vouches for nothing (verified=False)."""

    def verify(self, device: DeviceInfo) -> IntegrityVerdict:
        reason = "no attestation verifier configured" if device.integrity_token else "no token"
        return IntegrityVerdict(verified=False, rooted=None, reason=reason)


@cache
def integrity_verifier() -> IntegrityVerifier:
    path = getattr(settings, "MOBILE_INTEGRITY_VERIFIER", "")
    return import_string(path)() if path else UnverifiedIntegrity()


def parse_version(text: str) -> tuple[int, ...] | None:
    text = (text or "").strip().replace("_", ".")
    if not _VERSION.match(text):
        return None
    parts = [int(p) for p in text.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()  # "10.0" == "10"
    return tuple(parts)


def _canonical_platform(value: str) -> str:
    v = (value or "").strip().strip('"').lower()
    if v in ("android",):
        return ANDROID
    if v in ("ios", "iphone", "ipados", "iphone os"):
        return IOS
    return v


def describe_device(
    reported: dict[str, Any], user_agent: str = "", hints: dict[str, str] | None = None
) -> DeviceInfo:
    """Fill platform and version from the app's report, else from the browser's user agent or
    client hints (Sec-CH-UA-Platform, Sec-CH-UA-Platform-Version)."""
    hints = hints or {}
    # Only what is kept is read: a real user agent is far shorter, and the patterns' cost
    # grows with the square of a crafted one's length (8 KB: ~90 ms per anonymous request).
    user_agent = user_agent[:USER_AGENT_KEPT]
    platform = _canonical_platform(str(reported.get("platform") or ""))
    version = str(reported.get("os_version") or "").strip()
    hint_platform = _canonical_platform(hints.get("platform", ""))
    hint_version = hints.get("platform_version", "").strip().strip('"')
    if not platform or platform == WEB:
        if hint_platform in (ANDROID, IOS):
            # Browsers send the platform hint by default but its version only on request
            # (Accept-CH): the user agent's version then stands in.
            ua = (_ANDROID_UA if hint_platform == ANDROID else _IOS_UA).search(user_agent)
            ua_version = ua.group(1).replace("_", ".") if ua else ""
            platform, version = hint_platform, version or hint_version or ua_version
        elif m := _ANDROID_UA.search(user_agent):
            platform, version = ANDROID, version or m.group(1)
        elif m := _IOS_UA.search(user_agent):
            platform, version = IOS, version or m.group(1).replace("_", ".")
        else:
            platform = platform or WEB
    return DeviceInfo(
        platform=platform,
        os_version=version[:32],
        app_version=str(reported.get("app_version") or "")[:32],
        name=str(reported.get("name") or "")[:100],
        rooted=bool(reported.get("rooted") or False),
        integrity_token=str(reported.get("integrity_token") or ""),
        user_agent=user_agent,
        client_hints_platform=hint_platform,
        client_hints_platform_version=hint_version,
    )


#: R-M8: the seed's minimum systems are floors; a credit union may require newer ones only.
SYSTEM_FLOORS = {ANDROID: "5.1", IOS: "10.0"}


def below_floor(platform: str, version: str) -> bool:
    """Whether `version` of `platform` is older than the seed's floor (R-M8)."""
    floor = parse_version(SYSTEM_FLOORS[platform]) or (0,)
    return (parse_version(version) or (0,)) < floor


def minimum_system(policy: CreditUnion, platform: str) -> str | None:
    """The oldest system version of `platform` the credit union accepts (None: not a platform
    with versions): its policy, never below the floor (a value saved before the floor was
    enforced included)."""
    chosen = {ANDROID: policy.min_android_version, IOS: policy.min_ios_version}.get(platform)
    if chosen is None:
        return None
    return SYSTEM_FLOORS[platform] if below_floor(platform, chosen) else chosen


def check_device_policy(policy: CreditUnion, device: DeviceInfo) -> IntegrityVerdict:
    """Refuse a device the credit union does not accept, saying why; else return the verdict
    of the integrity check (for the audit log)."""
    verdict = integrity_verifier().verify(device)
    rooted = device.rooted or verdict.rooted is True
    if policy.refuse_rooted_devices and rooted:
        raise DeviceRooted()
    minimum = minimum_system(policy, device.platform)
    if minimum is not None:
        have = parse_version(device.os_version)
        need = parse_version(minimum) or (0,)
        system = "Android" if device.platform == ANDROID else "iOS"
        if have is None or have < need:
            raise DeviceNotSupported(
                _(
                    "The mobile app needs %(system)s %(minimum)s or newer; this device reports "
                    "%(system)s %(version)s. Update the system or use another device."
                )
                % {"system": system, "minimum": minimum, "version": device.os_version or "?"},
                min_version=minimum,
            )
    elif device.platform != WEB:
        raise DeviceNotSupported(
            _("The mobile app works on Android and iOS devices and in a web browser.")
        )
    return verdict
