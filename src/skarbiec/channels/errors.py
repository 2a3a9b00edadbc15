"""Refusals of the channel state machines and of logins, with what the member should do next."""

from django.utils.translation import gettext_lazy as _

from skarbiec.core.errors import DomainError


class WrongCredentials(DomainError):
    code = "wrong_credentials"
    message = _("The Login or password is incorrect.")
    status = 401


class WebChannelBlocked(DomainError):
    code = "channel_blocked"
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


class MobileChannelBlocked(DomainError):
    code = "channel_blocked"
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
