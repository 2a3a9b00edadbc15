"""Refusals of the channel state machines and of logins, with what the member should do next."""

from typing import Self

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from skarbiec.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    NotMembersMistake,
    Refused,
    Unauthenticated,
)
from skarbiec.members.models import CreditUnion
from skarbiec.members.queries import helpline_phones


class ChannelBlocked(Refused):
    """A blocked channel: the answer names whom to call (R-W2, R-M5)."""

    code = "channel_blocked"

    @classmethod
    def of(cls, credit_union: CreditUnion | None) -> Self:
        return cls(helpline=helpline_phones(credit_union))


class WrongCredentials(Unauthenticated):
    code = "wrong_credentials"
    message = _("The Login or password is incorrect.")


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


class MobileNotOffered(Refused):
    code = "mobile_not_offered"
    message = _("Your credit union does not offer the mobile app.")


class MobileChannelDisabled(Refused):
    code = "channel_disabled"
    message = _(
        "The mobile app channel is not active. Log in to the internet service, open Settings → "
        "Access channels and activate the mobile app channel, defining a mobile-app password."
    )


class MobileChannelBlocked(ChannelBlocked):
    message = _(
        "The mobile app is blocked. To unblock it, log in to the internet service, open "
        "Settings → Activate mobile app, define a new mobile-app password confirmed with an SMS "
        "code, and then activate the app again."
    )


class TransitionNotAllowed(Conflict):
    code = "transition_not_allowed"
    message = _("This operation is not possible in the current state of the channel.")


def whole_minutes(seconds: int) -> int:
    """A policy's time limit as the minutes a member is told (at least one)."""
    return max(seconds // 60, 1)


def idle_logout_text(minutes: int) -> str:
    """The logout after the credit union's idle limit, in the active language; the web's
    notice (web/_notice.html) says the same."""
    return ngettext(
        "You were logged out after %(minutes)s minute without activity. Log in again to continue.",
        "You were logged out after %(minutes)s minutes without activity. Log in again to continue.",
        minutes,
    ) % {"minutes": minutes}


def session_limit_text(minutes: int) -> str:
    return ngettext(
        "Your session reached its maximum length of %(minutes)s minute and was ended. Log in "
        "again to continue.",
        "Your session reached its maximum length of %(minutes)s minutes and was ended. Log in "
        "again to continue.",
        minutes,
    ) % {"minutes": minutes}


class SessionExpired(Unauthenticated):
    """The session ended by the credit union's idle limit or its absolute limit (R-M9): the
    answer names which, and the minutes of the member's credit union."""

    code = "session_expired"
    message = _("Your session has ended. Log in again.")

    @classmethod
    def of(cls, credit_union: CreditUnion, at_absolute_limit: bool) -> Self:
        if at_absolute_limit:
            return cls(session_limit_text(whole_minutes(credit_union.session_absolute_seconds)))
        return cls(idle_logout_text(whole_minutes(credit_union.idle_timeout_seconds)))


class PasswordChangeRequired(Refused):
    code = "password_change_required"
    message = _("You must set a new password before you continue.")


class DeviceNotSupported(Refused):
    code = "device_not_supported"
    message = _("This device does not meet the requirements of the mobile app.")


class DeviceRooted(Refused):
    code = "device_rooted"
    message = _(
        "The mobile app cannot be used on a rooted or jailbroken device, because its security "
        "cannot be trusted. Use a device with the manufacturer's system."
    )


class PinRejected(DomainError):
    code = "pin_rejected"
    message = _("Choose another PIN.")
    status = 400


class PinAlreadySet(Conflict):
    code = "pin_already_set"
    message = _(
        "A PIN is already set on this device. If you forgot it, reset the application and "
        "activate it again."
    )


class PinRequired(Conflict):
    code = "pin_required"
    message = _("Set a PIN for this device first.")


class WrongPin(Unauthenticated):
    code = "wrong_pin"
    message = _("The PIN is incorrect.")


class FingerprintFailed(Unauthenticated):
    code = "fingerprint_failed"
    message = _("The fingerprint was not recognised. Try again or log in with your PIN.")


class FingerprintRegistrationRefused(DomainError):
    """The authenticator's new credential was refused (no user verification, another
    challenge or origin): nothing registered, the session goes on (R-M4)."""

    code = "fingerprint_registration_refused"
    message = _(
        "The fingerprint could not be registered: the phone did not confirm it with a "
        "fingerprint. Try again."
    )
    status = 400


class PinConfirmationNeeded(DomainError):
    """A fingerprint is enrolled only right after the PIN opened the session: a session left
    open on a phone, or opened by a fingerprint, must not add a finger that then logs in
    without the PIN for good (R-M4, R-M5)."""

    code = "pin_confirmation_needed"
    message = _(
        "For your security, turning on fingerprint login needs your PIN: log in with it "
        "again and turn it on right away."
    )
    status = 403


class FingerprintNotRegistered(Conflict):
    code = "fingerprint_not_registered"
    message = _("Fingerprint login is not enabled on this device. Log in with your PIN.")


class UnknownDevice(Unauthenticated):
    code = "unknown_device"
    message = _(
        "This device is not activated for the mobile app (it may have been replaced or "
        "removed). Reset the application and activate it again."
    )


class PinOfAnotherKey(NotMembersMistake, UnknownDevice):
    """The PIN was bound under a secret key the installation no longer uses (R-X6): never
    compared, never counted; the app is activated again."""

    message = _(
        "The credit union has renewed its security keys. Reset the application and activate "
        "it again with your Login and mobile-app password."
    )


class DeviceRemovedMeanwhile(NotMembersMistake, UnknownDevice):
    """The device was removed (or replaced) while its PIN or fingerprint was being checked:
    answered as any unknown device, but not a failure of the client's address (R-X10)."""


class ChallengeInvalid(Unauthenticated):
    code = "challenge_invalid"
    message = _("The request has expired or was already used. Try again.")


class SignatureInvalid(Unauthenticated):
    code = "signature_invalid"
    message = _(
        "The request was not signed by this device's key. Reset the application and activate "
        "it again."
    )


class ActivationInvalid(DomainError):
    code = "activation_invalid"
    message = _("The activation has expired or was cancelled. Start the activation again.")
    status = 400


class ActivationOvertaken(NotMembersMistake, ActivationInvalid):
    """The mobile-app password an activation passed was replaced meanwhile, or the channel
    changed state (R-M7): start again. Not a wrong guess, so nothing is counted."""


class MobileNotAuthenticated(Unauthenticated):
    code = "not_authenticated"
    message = _("Log in to the mobile app.")


class WrongCurrentPassword(DomainError):
    code = "wrong_current_password"
    message = _("The current password is incorrect.")
    status = 400


class PasswordChangeInvalid(DomainError):
    code = "password_change_invalid"
    message = _("The password change has expired or was cancelled. Start it again.")
    status = 400


class DeviceNotBound(NotFound):
    """The member asked to remove a device that is not (or no longer) bound to them (R-W6)."""

    code = "device_not_bound"
    message = _("This device is not bound to your account: it may have been removed already.")


class LoginOvertaken(NotMembersMistake, Conflict):
    """A login whose password was replaced (or whose channel was blocked and unblocked) since
    the password passed (R-W1, R-O1): it opens no session. Not a wrong guess: nothing counted."""

    code = "login_overtaken"
    message = _(
        "The login was interrupted: your password or access changed meanwhile. Log in again."
    )


class WebChannelNotBlocked(Conflict):
    """Staff unblock of a channel that is not blocked: refused, so a member's password is never
    reset by mistake (R-B3)."""

    code = "web_channel_not_blocked"
    message = _(
        "The internet service of this member is not blocked, so there is nothing to unblock and "
        "the password stays as it is. To give the member a new temporary password, block the "
        "internet service at their request first."
    )


class NotBlockedOnRequest(Conflict):
    code = "not_blocked_on_request"
    message = _(
        "This block was not set at the member's request (for example, it followed wrong "
        "passwords), so it cannot simply be lifted. Unblock it with a new temporary password."
    )


class NoTemporaryPassword(Conflict):
    """A new temporary password asked for a member who set their own: refused, so a member's
    password is never reset by mistake (R-B3)."""

    code = "no_temporary_password"
    message = _(
        "This member has set their own password, so there is no temporary password to renew. "
        "To give the member a new temporary password, block the internet service at their "
        "request first, then unblock it."
    )


class WebChannelBlockedForRenewal(Conflict):
    code = "web_channel_blocked"
    message = _(
        "The internet service of this member is blocked. Unblock it: that sends a new temporary "
        "password by SMS."
    )


class TemporaryPasswordExpired(ChannelBlocked):
    """The right temporary password, past its expiry (R-W1): told only once the password
    showed who is asking; nothing is counted against the member."""

    code = "temporary_password_expired"
    message = _(
        "Your temporary password has expired. Call the helpline of your credit union for a new "
        "one; it will come by SMS."
    )
