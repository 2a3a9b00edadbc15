"""The mobile-app password, defined in the internet service (R-W4, R-W5, R-M7): activating
the mobile channel, and activating the app again after a block (the only unblock path). Both
are confirmed with an SMS code of the confirmed-operation registry.
"""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from skarbiec.channels.errors import (
    ActivationInvalid,
    MobileNotOffered,
    TransitionNotAllowed,
)
from skarbiec.channels.lifecycle import set_mobile_password, web_codes_exhausted
from skarbiec.channels.mobile.state import (
    ACTIVATED_STATES,
    device_rate_limits,
    has_bound_device,
    lock_member_and_mobile_channel,
    record_member_event,
)
from skarbiec.channels.models import (
    MobileChannel,
)
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.core.password_hashing import hash_password
from skarbiec.members.errors import PasswordRejected
from skarbiec.members.models import Member
from skarbiec.members.passwords import password_problems
from skarbiec.otp.models import Confirmation
from skarbiec.otp.operations import (
    OperationKind,
    confirm_code,
    declare_operation,
    start_confirmation,
)
from skarbiec.otp.reopening import reopened_if_the_database_fails


def _new_password_problems(member: Member, password: str, repeated: str) -> list[str]:
    # Not compared with the web password: that would test the web password for anyone holding
    # a web session, uncounted (R-X6). The two passwords are separate secrets with separate
    # counters; nothing in the spec asks them to differ.
    problems: list[str] = []
    if password != repeated:
        problems.append(_("The two passwords are different."))
    return problems + password_problems(password, member.login)


def _new_password_codes_exhausted(confirmation: Confirmation, ctx: RequestContext) -> DomainError:
    # R-O4 in the web: three wrong codes cancel the new password and count toward the web
    # lockout, in the transaction of the last wrong code.
    MobileChannel.objects.filter(
        member=confirmation.member, pending_password_otp_id=confirmation.pk
    ).update(pending_password_hash="", pending_password_otp_id=None)
    return web_codes_exhausted(confirmation.member, None, ctx)


def _channel_activation_sms(member: Member, details: dict[str, Any], code: str) -> str:
    return _(
        "%(cu)s: code %(code)s to activate the mobile app channel and set its password. Never "
        "give it to anyone."
    ) % {"cu": member.credit_union.name, "code": code}


def _app_reactivation_sms(member: Member, details: dict[str, Any], code: str) -> str:
    return _(
        "%(cu)s: code %(code)s to activate the mobile app again with a new password. Never give "
        "it to anyone."
    ) % {"cu": member.credit_union.name, "code": code}


MOBILE_CHANNEL_ACTIVATION = declare_operation(
    OperationKind(
        "mobile_channel_activation", _channel_activation_sms, _new_password_codes_exhausted
    )
)


MOBILE_APP_REACTIVATION = declare_operation(
    OperationKind("mobile_app_reactivation", _app_reactivation_sms, _new_password_codes_exhausted)
)


def _request_new_password(
    member: Member, password: str, repeated: str, operation: OperationKind, ctx: RequestContext
) -> int:
    problems = _new_password_problems(member, password, repeated)
    if problems:
        raise PasswordRejected(problems)
    password_hash = hash_password(password)
    with transaction.atomic():
        channel = lock_member_and_mobile_channel(member)
        _require_transition(member, channel, operation)
        confirmation = start_confirmation(
            operation, member, details={"member": member.pk}, channel="web", ctx=ctx
        )
        channel.pending_password_hash = password_hash
        channel.pending_password_otp_id = confirmation.pk
        channel.save(update_fields=["pending_password_hash", "pending_password_otp_id"])
        record_member_event("mobile_password_requested", member, ctx, operation=operation.name)
    return confirmation.pk


def _require_transition(member: Member, channel: MobileChannel, operation: OperationKind) -> None:
    if not member.credit_union.offers_mobile_app:
        raise MobileNotOffered()
    if operation is MOBILE_CHANNEL_ACTIVATION:
        allowed = channel.state == MobileChannel.State.DISABLED
    else:
        allowed = channel.state == MobileChannel.State.BLOCKED or (
            channel.state in ACTIVATED_STATES and not has_bound_device(member)
        )
    if not allowed:
        raise TransitionNotAllowed()


def _confirm_new_password(
    member: Member, otp_id: int, code: str, operation: OperationKind, ctx: RequestContext
) -> None:
    with device_rate_limits("code", member.login, ctx):
        confirm_code(operation, otp_id, member, {"member": member.pk}, code, ctx)
    with reopened_if_the_database_fails(operation, otp_id, member), transaction.atomic():
        channel = lock_member_and_mobile_channel(member)
        if channel.pending_password_otp_id != otp_id or not channel.pending_password_hash:
            raise ActivationInvalid()
        _require_transition(member, channel, operation)
        event = (
            "mobile_channel_activated"
            if operation is MOBILE_CHANNEL_ACTIVATION
            else "mobile_app_reactivated"
        )
        set_mobile_password(member, channel, event, ctx)


def request_mobile_channel_activation(
    member: Member, password: str, repeated: str, ctx: RequestContext
) -> int:
    """R-W4 step 1: DISABLED → (code sent). Defines the mobile-app password (R-P1); returns the
    id of the SMS code to confirm with."""
    return _request_new_password(member, password, repeated, MOBILE_CHANNEL_ACTIVATION, ctx)


def confirm_mobile_channel_activation(
    member: Member, otp_id: int, code: str, ctx: RequestContext
) -> None:
    """R-W4 step 2: the SMS code; DISABLED → PENDING."""
    _confirm_new_password(member, otp_id, code, MOBILE_CHANNEL_ACTIVATION, ctx)


def request_mobile_app_reactivation(
    member: Member, password: str, repeated: str, ctx: RequestContext
) -> int:
    """R-W5 step 1: allowed while BLOCKED or without a bound device; the only unblock path."""
    return _request_new_password(member, password, repeated, MOBILE_APP_REACTIVATION, ctx)


def confirm_mobile_app_reactivation(
    member: Member, otp_id: int, code: str, ctx: RequestContext
) -> None:
    """R-W5 step 2: the SMS code; BLOCKED/PENDING/ACTIVE-without-device → PENDING."""
    _confirm_new_password(member, otp_id, code, MOBILE_APP_REACTIVATION, ctx)
