"""Refusals of the channel state machines and of logins, with what the member should do next."""

from typing import Self

from django.utils.translation import gettext_lazy as _

from skarbiec.core.errors import DomainError
from skarbiec.members.models import CreditUnion
from skarbiec.members.queries import helpline_phones


class ChannelBlocked(DomainError):
    """A blocked channel: the answer names whom to call (R-W2, R-M5)."""

    code = "channel_blocked"
    status = 403

    @classmethod
    def of(cls, credit_union: CreditUnion | None) -> Self:
        return cls(helpline=helpline_phones(credit_union))


class WrongCredentials(DomainError):
    code = "wrong_credentials"
    message = _("The Login or password is incorrect.")
    status = 401


class ActivationRefused(WrongCredentials):
    """The one answer of app activation to an unknown Login, a wrong password, a channel not
    activated in the internet service and a credit union without the app: they are told apart
    only once a secret was proven (R-X6, R-T3), so the message names the ways out."""

    message = _(
        "The Login or the mobile-app password is incorrect, or the mobile app is not active for "
        "this Login. Enter the password you chose for the mobile app (not the internet service "
        "password). If you have not activated the mobile app yet, log in to the internet "
        "service and activate it in Settings → Access channels. If your credit union does not "
        "offer the mobile app, ask it for other ways to bank."
    )


class WebChannelBlocked(ChannelBlocked):
    message = _(
        "Access to the internet service is blocked. Call the helpline of your credit union to "
        "have it unblocked; you will receive a new temporary password by SMS."
    )
    status = 403


class MobileNotOffered(DomainError):
    code = "mobile_not_offered"
    message = _("Your credit union does not offer the mobile app.")
    status = 403


class MobileChannelDisabled(DomainError):
    code = "channel_disabled"
    message = _(
        "The mobile app channel is not active. Log in to the internet service, open Settings → "
        "Access channels and activate the mobile app channel, defining a mobile-app password."
    )
    status = 403


class MobileChannelBlocked(ChannelBlocked):
    message = _(
        "The mobile app is blocked. To unblock it, log in to the internet service, open "
        "Settings → Activate mobile app, define a new mobile-app password confirmed with an SMS "
        "code, and then activate the app again."
    )
    status = 403


class TransitionNotAllowed(DomainError):
    code = "transition_not_allowed"
    message = _("This operation is not possible in the current state of the channel.")
    status = 409


class SessionExpired(DomainError):
    code = "session_expired"
    message = _("You were logged out after 5 minutes without activity. Log in again.")
    status = 401


class PasswordChangeRequired(DomainError):
    code = "password_change_required"
    message = _("You must set a new password before you continue.")
    status = 403


class DeviceNotSupported(DomainError):
    code = "device_not_supported"
    message = _("This device does not meet the requirements of the mobile app.")
    status = 403


class DeviceRooted(DomainError):
    code = "device_rooted"
    message = _(
        "The mobile app cannot be used on a rooted or jailbroken device, because its security "
        "cannot be trusted. Use a device with the manufacturer's system."
    )
    status = 403


class PinRejected(DomainError):
    code = "pin_rejected"
    message = _("Choose another PIN.")
    status = 400


class PinAlreadySet(DomainError):
    code = "pin_already_set"
    message = _(
        "A PIN is already set on this device. If you forgot it, reset the application and "
        "activate it again."
    )
    status = 409


class PinRequired(DomainError):
    code = "pin_required"
    message = _("Set a PIN for this device first.")
    status = 409


class WrongPin(DomainError):
    code = "wrong_pin"
    message = _("The PIN is incorrect.")
    status = 401


class FingerprintFailed(DomainError):
    code = "fingerprint_failed"
    message = _("The fingerprint was not recognised. Try again or log in with your PIN.")
    status = 401


class FingerprintNotRegistered(DomainError):
    code = "fingerprint_not_registered"
    message = _("Fingerprint login is not enabled on this device. Log in with your PIN.")
    status = 409


class UnknownDevice(DomainError):
    code = "unknown_device"
    message = _(
        "This device is not activated for the mobile app (it may have been replaced or "
        "removed). Reset the application and activate it again."
    )
    status = 401


class ChallengeInvalid(DomainError):
    code = "challenge_invalid"
    message = _("The request has expired or was already used. Try again.")
    status = 401


class SignatureInvalid(DomainError):
    code = "signature_invalid"
    message = _(
        "The request was not signed by this device's key. Reset the application and activate "
        "it again."
    )
    status = 401


class ActivationInvalid(DomainError):
    code = "activation_invalid"
    message = _("The activation has expired or was cancelled. Start the activation again.")
    status = 400


class MobileNotAuthenticated(DomainError):
    code = "not_authenticated"
    message = _("Log in to the mobile app.")
    status = 401


class WrongCurrentPassword(DomainError):
    code = "wrong_current_password"
    message = _("The current password is incorrect.")
    status = 400


class PasswordChangeInvalid(DomainError):
    code = "password_change_invalid"
    message = _("The password change has expired or was cancelled. Start it again.")
    status = 400
