"""Activation of the app on a device (R-M1, R-M2, R-M6): Login and mobile-app password,
then (policy) an SMS code; the device key is bound.

Every attempt is counted before any comparison, in every channel state, so an unknown Login,
a wrong password, a channel not activated in the internet service and a credit union without
the app give one answer (R-X6, R-T3).
"""

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from skarbiec.channels import protocol
from skarbiec.channels.devicepolicy import DeviceInfo, check_device_policy
from skarbiec.channels.errors import (
    ActivationInvalid,
    ActivationOvertaken,
    ActivationRefused,
    MobileChannelBlocked,
    MobileNotOffered,
)
from skarbiec.channels.lifecycle import BoundDevice, bind_device, block_mobile_channel
from skarbiec.channels.mobile.challenges import CHALLENGE_DEVICE, consume_challenge, signed_by
from skarbiec.channels.mobile.state import (
    device_rate_limits,
    lock_mobile_channel,
    record_member_event,
    require_usable_channel,
)
from skarbiec.channels.models import (
    MobileActivation,
    MobileChannel,
)
from skarbiec.core import clock
from skarbiec.core.attempt_counts import reset_count
from skarbiec.core.attempts import Counter, PasswordGuess, check_secret
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError, InvalidInput
from skarbiec.members.models import CreditUnion, Member
from skarbiec.members.queries import member_by_login, unknown_login_counter
from skarbiec.otp.models import Confirmation
from skarbiec.otp.operations import (
    OperationKind,
    confirm_code,
    declare_operation,
    start_confirmation,
)
from skarbiec.otp.reopening import reopened_if_the_database_fails


@dataclass(frozen=True)
class ActivationStarted:
    """Identification data accepted. With `otp_required` the SMS code confirms the binding
    (`confirm_mobile_device_activation`); otherwise the device is already bound."""

    otp_required: bool
    activation_id: str | None
    device_id: str | None
    pin_length: int


class MobilePasswordCounter(Counter[MobileChannel]):
    """Wrong mobile-app passwords at activation (R-M2). Every activation attempt for a real
    Login is counted here whatever the channel's state, and compared against the password only
    a channel that is not DISABLED, of a credit union offering the app, has: a DISABLED
    channel, a credit union without the app and a wrong password give the same answers, and a
    BLOCKED channel says so only to the right password (R-X6, R-T3)."""

    field = "failed_password_attempts"

    def __init__(self, member: Member, ctx: RequestContext) -> None:
        self.member = member
        self.ctx = ctx
        self.limit = member.credit_union.max_auth_failures

    def lock(self) -> MobileChannel:
        return lock_mobile_channel(self.member)

    def refusal_once_proven(self, row: MobileChannel) -> DomainError | None:
        # A channel blocked by wrong PINs, wrong codes or the member is counted and answered
        # like an unknown Login until the right mobile-app password shows who is asking (R-T3).
        if row.state == MobileChannel.State.BLOCKED:
            return MobileChannelBlocked.of(self.member.credit_union)
        return None

    def exhausted(self, row: MobileChannel) -> DomainError:
        return MobileChannelBlocked.of(self.member.credit_union)

    def accept(self, row: MobileChannel) -> None:
        if _activation_password(row) is None:  # deactivated meanwhile
            raise ActivationRefused()
        reset_count(self, row)
        record_member_event("mobile_password_accepted", self.member, self.ctx)

    def reject(self, row: MobileChannel) -> DomainError:
        if not self.member.credit_union.offers_mobile_app:
            reason = "mobile_not_offered"
        elif row.state == MobileChannel.State.DISABLED:
            reason = "channel_disabled"
        elif row.state == MobileChannel.State.BLOCKED:
            reason = "channel_blocked"
        else:
            reason = "wrong_password"
        record_member_event(
            "mobile_activation_failed", self.member, self.ctx, reason=reason,
            failed_attempts=self.failures(row),
        )  # fmt: skip
        if self.failures(row) >= self.limit:
            block_mobile_channel(self.member, "wrong_passwords", self.ctx)
            return MobileChannelBlocked.of(self.member.credit_union)
        return ActivationRefused(attempts_left=self.attempts_left(row))


def _activation_password(channel: MobileChannel) -> str | None:
    """The mobile-app password an activation is compared with, or None where none may be."""
    offered = channel.member.credit_union.offers_mobile_app
    # BLOCKED too: the right password is told the channel is blocked (R-T3, R-W5).
    usable = channel.state != MobileChannel.State.DISABLED
    return channel.password_hash if offered and usable and channel.password_hash else None


def _chosen_credit_union(sort_code: str) -> CreditUnion | None:
    """The credit union the app was set up for, when it says so (R-M1): an app of a credit
    union without the app is told before any secret is asked for."""
    if not sort_code:
        return None
    credit_union = CreditUnion.objects.filter(sort_code=str(sort_code).strip()).first()
    if credit_union is None:
        raise InvalidInput(_("Unknown credit union."))
    if not credit_union.offers_mobile_app:
        raise MobileNotOffered()
    return credit_union


def _device_activation_sms(member: Member, details: dict[str, Any], code: str) -> str:
    return _(
        "%(cu)s: code %(code)s to activate the mobile app on a new device. If you are not doing "
        "this, do not give the code to anyone and call us."
    ) % {"cu": member.credit_union.name, "code": code}


def _device_activation_codes_exhausted(
    confirmation: Confirmation, ctx: RequestContext
) -> DomainError:
    """Three wrong codes binding a new device block the app (R-O4): otherwise whoever knows the
    mobile-app password could start activations again and again, three codes each."""
    MobileActivation.objects.filter(otp_id=confirmation.pk, used_at__isnull=True).update(
        used_at=clock.now()
    )
    block_mobile_channel(confirmation.member, "wrong_codes", ctx)
    return MobileChannelBlocked.of(confirmation.member.credit_union)


MOBILE_DEVICE_ACTIVATION = declare_operation(
    OperationKind(
        "mobile_device_activation", _device_activation_sms, _device_activation_codes_exhausted
    )
)


def activate_mobile_device(
    login: str,
    password: str,
    public_key: str | dict[str, Any],
    device: DeviceInfo,
    challenge: str,
    signature: str,
    ctx: RequestContext,
    credit_union: str = "",
) -> ActivationStarted:
    """R-M2: Login + mobile-app password from the app, with the device's public key signing a
    fresh challenge. Every attempt is counted before any comparison (R-X6); three wrong ones
    block the channel. `credit_union`: the sort code the app was set up for, if it knows it."""
    login = (login or "").strip()
    with device_rate_limits("login", login, ctx):
        try:
            key = protocol.load_public_key(public_key)
        except protocol.ProtocolError:
            raise InvalidInput(_("The device key must be an ECDSA P-256 public key."))
        key_der = protocol.public_key_der(key)
        consume_challenge(challenge, CHALLENGE_DEVICE)
        payload = {"login": login, "public_key": protocol.b64url_encode(key_der)}
        signed_by(key_der, protocol.ACTIVATE, challenge, "", payload, signature)
        chosen = _chosen_credit_union(credit_union)
        member = member_by_login(login)
        if member is None or (chosen is not None and member.credit_union_id != chosen.pk):
            unknown = unknown_login_counter(
                "unknown-mobile-login",
                login,
                "max_auth_failures",
                wrong=lambda left: ActivationRefused(attempts_left=left),
                blocked=MobileChannelBlocked.of,
                chosen=chosen,
            )
            check_secret(unknown, PasswordGuess(None, password))
            raise AssertionError("a password never matches an unknown Login")
        guess = PasswordGuess(_activation_password, password)

        def accepted(channel: MobileChannel) -> datetime:
            # Under the channel's lock (R-M7); later changes show in `changed_at`.
            if _activation_password(channel) != guess.compared_hash:
                raise ActivationOvertaken()
            return channel.changed_at

        proven_at_change = check_secret(MobilePasswordCounter(member, ctx), guess, accepted)
    policy = member.credit_union
    try:
        verdict = check_device_policy(policy, device)
    except DomainError as refusal:
        with transaction.atomic():
            record_member_event(
                "mobile_device_refused", member, ctx, reason=refusal.code, **device.as_dict()
            )
        raise
    if not policy.activation_requires_otp:
        with transaction.atomic():
            bound = bind_device(
                member, key_der, device.as_dict(), ctx, verdict.verified, proven_at_change
            )
        return ActivationStarted(False, None, bound.device_id, policy.pin_length)

    activation_id = secrets.token_urlsafe(24)
    with transaction.atomic():
        confirmation = start_confirmation(
            MOBILE_DEVICE_ACTIVATION,
            member,
            details={"activation": activation_id},
            channel="mobile",
            ctx=ctx,
        )
        MobileActivation.objects.create(
            member=member,
            activation_id=activation_id,
            otp_id=confirmation.pk,
            public_key=key_der,
            device_info={**device.as_dict(), "attested": verdict.verified},
            created_at=clock.now(),
            expires_at=confirmation.code_expires_at,
            channel_changed_at=proven_at_change,
        )
    return ActivationStarted(True, activation_id, None, policy.pin_length)


def confirm_mobile_device_activation(
    activation_id: str, code: str, ctx: RequestContext
) -> BoundDevice:
    """R-M2 (policy: activation needs an SMS code): the code binds the device."""
    activation = (
        MobileActivation.objects.select_related("member__credit_union")
        .filter(activation_id=str(activation_id or "")[:43], used_at__isnull=True)
        .first()
    )
    if activation is None or activation.expires_at <= clock.now():
        raise ActivationInvalid()
    member = activation.member
    with device_rate_limits("code", member.login, ctx):
        require_usable_channel(member)
        confirm_code(
            MOBILE_DEVICE_ACTIVATION,
            activation.otp_id,
            member,
            {"activation": activation.activation_id},
            code,
            ctx,
        )
    with (
        reopened_if_the_database_fails(MOBILE_DEVICE_ACTIVATION, activation.otp_id, member),
        transaction.atomic(),
    ):
        used = MobileActivation.objects.filter(pk=activation.pk, used_at__isnull=True).update(
            used_at=clock.now()
        )
        if not used:
            raise ActivationInvalid()
        info = dict(activation.device_info)
        attested = bool(info.pop("attested", False))
        return bind_device(
            member, bytes(activation.public_key), info, ctx, attested, activation.channel_changed_at
        )
