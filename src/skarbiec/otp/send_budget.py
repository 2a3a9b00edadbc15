"""The member's budget of SMS codes (R-X7): at most OTP_SEND_LIMIT codes in any window of its
length, and OTP_DAILY_SEND_LIMIT in any day, whatever the operation; a refusal names the wait
and is not the member's mistake."""

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet

from skarbiec.core import clock
from skarbiec.core.prepared import PreparedSelect, prepared_select
from skarbiec.members.models import Member
from skarbiec.otp.errors import OtpSendingLimited
from skarbiec.otp.giving_up import withdraw_replaced_codes
from skarbiec.otp.member_lock import lock_members_codes
from skarbiec.otp.models import SmsMessage

_newest_codes: dict[int, PreparedSelect[SmsMessage]] = {}

# A code the gateway refused for good, or could not send before it expired, never reached the
# member: it is not theirs to pay for (R-X6, R-X7), and a member whose provider was down may
# ask for a new one as soon as it is back. One tried without an answer (`maybe_sent`) may
# have reached them, and counts.
_DELIVERED_OR_ON_ITS_WAY = (SmsMessage.State.PENDING, SmsMessage.State.SENT)


def _limit_th_newest_code(limit: int) -> PreparedSelect[SmsMessage]:
    """The shape reading the limit-th newest code SMS of a window (one per limit: the offset
    is part of the SQL)."""
    shape = _newest_codes.get(limit)
    if shape is None:

        def limit_th_newest_code(member_id: int, since: datetime) -> QuerySet[SmsMessage]:
            return (
                SmsMessage.objects.filter(
                    Q(state__in=_DELIVERED_OR_ON_ITS_WAY) | Q(maybe_sent=True),
                    member_id=member_id,
                    give_up_at__isnull=False,
                    created_at__gt=since,
                )
                .order_by("-created_at")
                .only("created_at")[limit - 1 : limit]
            )

        shape = _newest_codes.setdefault(limit, prepared_select(limit_th_newest_code))
    return shape


def spend_send_budget(member: Member) -> None:
    """Refuse a code beyond OTP_SEND_LIMIT codes in any window of its length (sliding, so the
    wait it names is exact). In the caller's transaction, under the member's row lock, so
    parallel requests cannot both take the last one."""
    now = clock.now()
    lock_members_codes(member)
    try:
        _refuse_over_budget(member, now)
    except OtpSendingLimited:
        # Codes replaced while the provider was down never left: taken back, they free their
        # places now rather than when the worker next tries them (R-X7).
        if not withdraw_replaced_codes(member):
            raise
        _refuse_over_budget(member, now)


def _refuse_over_budget(member: Member, now: datetime) -> None:
    # Ten minutes for the member's story (R-X7); a day for what the credit union pays: a
    # script on a member's session must not send a code every fifty seconds all day long.
    for limit, window in (settings.OTP_SEND_LIMIT, settings.OTP_DAILY_SEND_LIMIT):
        _refuse_over(limit, window, member, now)


def _refuse_over(limit: int, window: int, member: Member, now: datetime) -> None:
    # Every code SMS carries the moment its code expires (give_up_at); temporary passwords do
    # not and do not count, nor do codes given up undelivered. Only the limit-th newest code
    # in the window is read: it exists exactly when the budget is spent, and it frees the next
    # slot when it leaves the window.
    oldest_in_budget = _limit_th_newest_code(limit).first(
        member_id=member.pk, since=now - timedelta(seconds=window)
    )
    if oldest_in_budget is not None:
        frees_at = oldest_in_budget.created_at + timedelta(seconds=window)
        raise OtpSendingLimited(retry_after=max(math.ceil((frees_at - now).total_seconds()), 1))
