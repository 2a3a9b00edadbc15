"""Activation of the app (R-M1, R-M2, R-M6, R-M8, R-T3) through the API and the device client."""

import pytest

from skarbiec.audit.models import AuditEvent
from skarbiec.channels.lifecycle import deactivate_mobile_channel
from skarbiec.channels.models import MobileChannel, MobileDevice, MobileSession
from skarbiec.client import ApiError, DeviceClient
from skarbiec.otp.models import Confirmation
from tests.api.steps import (
    MOBILE_PASSWORD,
    PIN,
    WEB,
    WEB_PASSWORD,
    activate_device,
    last_code,
    member_with_channel,
    ready_device,
)
from tests.factories import make_credit_union, make_member

pytestmark = pytest.mark.django_db


def channel_of(member) -> MobileChannel:
    return MobileChannel.objects.get(member=member)


def test_r_m2_activation_with_password_and_sms_code_binds_device_and_sets_pin(device):
    member = member_with_channel()
    started = device.activate(member.login, MOBILE_PASSWORD)
    assert started["otp_required"] is True and started["pin_length"] == 5
    assert channel_of(member).state == MobileChannel.State.PENDING  # not bound before the code
    bound = device.confirm_activation(last_code(member))
    assert channel_of(member).state == MobileChannel.State.ACTIVE
    stored = MobileDevice.objects.get(device_id=bound["device_id"])
    assert stored.platform == "android" and stored.name == "Test phone"
    session = device.set_pin(PIN)
    assert session["idle_timeout_seconds"] == 300
    assert device.me()["first_name"] == "Jan"
    # The server keeps neither the PIN nor the proof, only a keyed hash of the proof (R-M3).
    stored.refresh_from_db()
    assert PIN not in stored.pin_proof_hash and device.proof(PIN) != stored.pin_proof_hash
    events = set(AuditEvent.objects.filter(member_id=member.pk).values_list("event", flat=True))
    assert {"mobile_channel_activated", "mobile_device_activated", "mobile_pin_set"} <= events


def test_r_m2_activation_without_sms_code_when_policy_says_so(device):
    cu = make_credit_union(activation_requires_otp=False)
    member = member_with_channel(credit_union=cu)
    started = device.activate(member.login, MOBILE_PASSWORD)
    assert started["otp_required"] is False and started["device_id"]
    assert channel_of(member).state == MobileChannel.State.ACTIVE


def test_r_m2_wrong_sms_code_at_activation_is_refused(device):
    member = member_with_channel()
    device.activate(member.login, MOBILE_PASSWORD)
    with pytest.raises(ApiError) as e:
        device.confirm_activation("000000" if last_code(member) != "000000" else "111111")
    assert e.value.code == "otp_invalid" and e.value.body["attempts_left"] == 2
    assert channel_of(member).state == MobileChannel.State.PENDING


def test_r_m2_three_wrong_mobile_passwords_block_the_channel(device):
    member = member_with_channel()
    for left in (2, 1):
        with pytest.raises(ApiError) as e:
            device.activate(member.login, "Wrong#pass12")
        assert (e.value.status, e.value.code) == (401, "wrong_credentials")
        assert e.value.body["attempts_left"] == left
    with pytest.raises(ApiError) as e:
        device.activate(member.login, "Wrong#pass12")
    assert (e.value.status, e.value.code) == (403, "channel_blocked")
    assert "801 803 800" in e.value.body["helpline"]
    assert "Activate mobile app" in e.value.body["message"]
    assert channel_of(member).state == MobileChannel.State.BLOCKED
    with pytest.raises(ApiError) as e:  # the right password no longer helps
        device.activate(member.login, MOBILE_PASSWORD)
    assert e.value.code == "channel_blocked"


def test_r_m2_r_x6_an_empty_password_is_no_guess_and_is_not_counted(device):
    member = member_with_channel()
    for _ in range(4):
        with pytest.raises(ApiError) as e:
            device.activate(member.login, "")
        assert (e.value.status, e.value.code) == (422, "invalid_input"), e.value.body
    assert channel_of(member).failed_password_attempts == 0
    assert activate_device(device, member)["device_id"]


def test_r_t3_unknown_login_answers_like_a_wrong_password(device):
    with pytest.raises(ApiError) as e:
        device.activate("9999999999", MOBILE_PASSWORD)
    assert (e.value.status, e.value.code, e.value.body["attempts_left"]) == (
        401,
        "wrong_credentials",
        2,
    )
    with pytest.raises(ApiError) as e:
        device.activate("9999999999", MOBILE_PASSWORD)
    assert e.value.body["attempts_left"] == 1
    with pytest.raises(ApiError) as e:
        device.activate("9999999999", MOBILE_PASSWORD)
    assert e.value.code == "channel_blocked"


def _member_of_credit_union_without_app():
    """A member whose app password exists, of a credit union that then stopped offering it."""
    member = member_with_channel(credit_union=make_credit_union())
    member.credit_union.offers_mobile_app = False
    member.credit_union.save()
    return member


def _refusal(device: DeviceClient, login: str, password: str) -> tuple[int, str, str, object]:
    with pytest.raises(ApiError) as e:
        device.activate(login, password)
    body = e.value.body
    return e.value.status, e.value.code, body["message"], body.get("attempts_left")


def test_r_x6_r_t3_disabled_channel_no_app_unknown_login_and_wrong_password_answer_alike():
    """Hole 1 of the attack report: with the channel DISABLED (every member's start) the right
    *web* password answered channel_disabled, a wrong one something else: a web-password
    oracle. Now nothing is compared there, and the four cases give one answer (R-M1, R-T3)."""
    disabled = make_member()
    no_app = _member_of_credit_union_without_app()
    pending = member_with_channel()
    cases = {
        "disabled, web password": (disabled.login, WEB_PASSWORD),
        "no app, right app password": (no_app.login, MOBILE_PASSWORD),
        "pending, wrong password": (pending.login, "Wrong#pass12"),
        "unknown Login": ("9999999999", MOBILE_PASSWORD),
    }
    answers = {
        name: _refusal(DeviceClient.in_process(language="en"), *args)
        for name, args in cases.items()
    }
    assert len(set(answers.values())) == 1, answers
    status, code, message, left = answers["unknown Login"]
    assert (status, code, left) == (401, "wrong_credentials", 2)
    # The member still learns the ways out.
    assert "Settings → Access channels" in message and "does not offer" in message
    # The web lockout never moves: the web password was not even looked at.
    assert disabled.web_channel.__class__.objects.get(member=disabled).failed_attempts == 0


def test_r_t3_a_blocked_app_answers_a_wrong_password_like_an_unknown_login():
    """Blocked by its owner's wrong PINs or by staff, the app's Login is not shown to exist:
    a wrong password walks the unknown Login's answers (counted, attempts left, then blocked),
    and only the right mobile-app password is told of the block (R-M5, R-W5), uncounted."""
    from skarbiec.channels.lifecycle import block_mobile_channel
    from skarbiec.core.context import RequestContext

    member = member_with_channel()
    block_mobile_channel(member, "staff", RequestContext(ip_address="10.0.0.9", channel="web"))
    walks = {
        login: [_refusal(DeviceClient.in_process(language="en"), login, "Wrong#pass12")]
        for login in (member.login, "9999999998")
    }
    assert walks[member.login] == walks["9999999998"], walks
    assert walks[member.login][0][1:4:2] == ("wrong_credentials", 2)
    status, code, _message, _left = _refusal(
        DeviceClient.in_process(language="en"), member.login, MOBILE_PASSWORD
    )
    assert (status, code) == (403, "channel_blocked")
    assert channel_of(member).failed_password_attempts == 1
    for login in walks:
        for _ in range(2):
            walks[login].append(
                _refusal(DeviceClient.in_process(language="en"), login, "Wrong#pass12")[:2]
            )
    assert (
        walks[member.login][1:]
        == walks["9999999998"][1:]
        == [
            (401, "wrong_credentials"),
            (403, "channel_blocked"),
        ]
    )
    assert channel_of(member).state == MobileChannel.State.BLOCKED
    assert channel_of(member).block_reason == "staff"


def _walk(login: str, credit_union: str = "") -> list[tuple[int, str, object, object]]:
    """Four wrong activation passwords for `login`: status, code, attempts left, helpline."""
    answers = []
    for _ in range(4):
        app = DeviceClient.in_process(language="en")
        app.credit_union = credit_union
        with pytest.raises(ApiError) as e:
            app.activate(login, "Wrong#pass12")
        body = e.value.body
        answers.append((e.value.status, e.value.code, body.get("attempts_left"),
                        body.get("helpline")))  # fmt: skip
    return answers


def test_r_t3_an_unknown_login_answers_as_a_login_of_one_of_the_credit_unions():
    """On an installation of several credit unions with their own limits and helplines, an
    unknown Login is answered with the limit and helpline of one of them, chosen for it, and
    the same each time: its walk is a member's of that credit union. An app set up for a
    credit union answers unknown Logins as that one's."""
    from skarbiec.members.queries import credit_union_answering_for

    first = make_credit_union(max_auth_failures=3)
    other = make_credit_union(max_auth_failures=5, helpline_phones=["22 111 22 33"])
    members = {cu.pk: member_with_channel(credit_union=cu) for cu in (first, other)}
    unknown: dict[int, str] = {}
    for n in range(9_000_000_000, 9_000_000_100):
        unknown.setdefault(credit_union_answering_for(str(n)).pk, str(n))
    assert unknown.keys() == members.keys(), "each credit union answers for some Logins"
    for cu_pk, member in members.items():
        assert _walk(member.login) == _walk(unknown[cu_pk]), cu_pk
    assert _walk(members[other.pk].login)[3] == (403, "channel_blocked", None, ["22 111 22 33"])
    # The app names its credit union: unknown Logins are answered as that one's.
    fresh = next(str(n) for n in range(9_000_000_100, 9_000_000_200)
                 if credit_union_answering_for(str(n)).pk == first.pk)  # fmt: skip
    assert [a[2] for a in _walk(fresh, other.sort_code)] == [4, 3, 2, 1]


def test_r_x6_activation_attempts_on_a_disabled_channel_count_and_block(device):
    """Every attempt is counted, the web password included, and the third blocks; the member
    unblocks in the internet service like after any block (R-W5), then activates."""
    member = make_member()
    for left in (2, 1):
        assert _refusal(device, member.login, WEB_PASSWORD)[3] == left
    status, code, _message, _left = _refusal(device, member.login, WEB_PASSWORD)
    assert (status, code) == (403, "channel_blocked")
    assert channel_of(member).state == MobileChannel.State.BLOCKED
    reasons = AuditEvent.objects.filter(member_id=member.pk, event="mobile_activation_failed")
    assert {e.data["reason"] for e in reasons} == {"channel_disabled"}
    from tests.api.steps import reactivate_mobile_app

    reactivate_mobile_app(member, MOBILE_PASSWORD)
    device.reset()
    activate_device(device, member)
    assert channel_of(member).state == MobileChannel.State.ACTIVE


def test_r_x6_r_t3_every_activation_path_spends_one_argon2_verification(monkeypatch):
    """Timing cannot tell the cases apart either: each costs exactly one Argon2id verification
    (a decoy hash where no password exists or the channel is blocked)."""
    from skarbiec.core.password_hashing import argon2_hasher

    hasher = argon2_hasher()
    calls: list[str] = []
    real = type(hasher).verify

    def counting(self, stored, password):
        calls.append(stored)
        return real(self, stored, password)

    monkeypatch.setattr(type(hasher), "verify", counting)
    blocked = member_with_channel()
    MobileChannel.objects.filter(member=blocked).update(state=MobileChannel.State.BLOCKED)
    for login, password in (
        (make_member().login, WEB_PASSWORD),
        ("9999999999", MOBILE_PASSWORD),
        (member_with_channel().login, "Wrong#pass12"),
        (blocked.login, MOBILE_PASSWORD),
    ):
        calls.clear()
        _refusal(DeviceClient.in_process(language="en"), login, password)
        assert len(calls) == 1, (login, calls)


def test_r_m1_app_set_up_for_a_credit_union_without_the_app_is_told_before_any_secret(device):
    member = _member_of_credit_union_without_app()
    device.credit_union = member.credit_union.sort_code
    with pytest.raises(ApiError) as e:
        device.activate(member.login, "anything")
    assert (e.value.status, e.value.code) == (403, "mobile_not_offered")
    assert channel_of(member).failed_password_attempts == 0
    # A Login of another credit union than the app's is an unknown Login there.
    other = member_with_channel()
    app = DeviceClient.in_process(language="en")
    app.credit_union = make_credit_union().sort_code
    assert _refusal(app, other.login, MOBILE_PASSWORD)[1] == "wrong_credentials"
    assert channel_of(other).failed_password_attempts == 0


@pytest.mark.parametrize("how", ["wrong_pins", "staff", "wrong_order_codes"])
def test_r_m5_r_o4_r_b3_blocked_app_cannot_reactivate_itself_with_reset_and_its_password(
    device, how
):
    """Unblocking is only in the internet service (R-W5): Reset application + Login + the
    right mobile-app password is refused, counts nothing and binds nothing."""
    member = ready_device(device)
    if how == "wrong_pins":
        for _ in range(3):
            with pytest.raises(ApiError):
                device.login_pin("11112")
    elif how == "staff":
        from django.core.management import call_command

        from skarbiec.members.staff import create_staff_user

        create_staff_user("tele", "helpline", member.credit_union, WEB)
        call_command("mobile", "block", member.login, "--staff", "tele")
    else:
        from skarbiec.ledger.accounts import deposit_cash, open_account
        from skarbiec.ledger.models import Account

        account = open_account(member, Account.Kind.CURRENT, WEB)
        deposit_cash(account, 500_00, WEB)
        payee = member_with_channel()
        target = open_account(payee, Account.Kind.CURRENT, WEB)
        device.login_pin(PIN)
        order = device.create_transfer(account.pk, target.number, "Rent", "10,00", "Ewa Nowak")
        bad = "000000" if last_code(member) != "000000" else "111111"
        for _ in range(3):
            with pytest.raises(ApiError):
                device.authorize_transfer(order["id"], bad)
    assert channel_of(member).state == MobileChannel.State.BLOCKED
    devices = MobileDevice.objects.filter(member=member).count()
    device.reset()
    with pytest.raises(ApiError) as e:
        device.activate(member.login, MOBILE_PASSWORD)
    assert (e.value.status, e.value.code) == (403, "channel_blocked")
    assert channel_of(member).state == MobileChannel.State.BLOCKED
    assert channel_of(member).failed_password_attempts == 0
    assert MobileDevice.objects.filter(member=member).count() == devices


def test_r_m8_android_5_0_is_refused_and_5_1_accepted():
    member = member_with_channel()
    old = DeviceClient.in_process(
        language="en", device={"platform": "android", "os_version": "5.0"}
    )
    with pytest.raises(ApiError) as e:
        old.activate(member.login, MOBILE_PASSWORD)
    assert (e.value.status, e.value.code) == (403, "device_not_supported")
    assert e.value.body["min_version"] == "5.1" and "5.1" in e.value.body["message"]
    ok = DeviceClient.in_process(device={"platform": "android", "os_version": "5.1"})
    assert ok.activate(member.login, MOBILE_PASSWORD)["otp_required"]


def test_r_m8_a_minimum_saved_below_the_floor_is_held_to_the_floor():
    """Review of 7 December: a credit union that saved Android 4.4 before the floors were
    enforced kept accepting Android 4.4 devices."""
    member = make_member(credit_union=make_credit_union(min_android_version="4.4"))
    from tests.api.steps import enable_mobile_channel

    enable_mobile_channel(member)
    old = DeviceClient.in_process(device={"platform": "android", "os_version": "4.4"})
    with pytest.raises(ApiError) as e:
        old.activate(member.login, MOBILE_PASSWORD)
    assert e.value.code == "device_not_supported" and e.value.body["min_version"] == "5.1"


def test_r_m8_ios_below_10_refused():
    member = member_with_channel()
    old = DeviceClient.in_process(device={"platform": "ios", "os_version": "9.3.5"})
    with pytest.raises(ApiError) as e:
        old.activate(member.login, MOBILE_PASSWORD)
    assert e.value.code == "device_not_supported"


def test_r_m8_rooted_device_refused():
    member = member_with_channel()
    rooted = DeviceClient.in_process(
        device={"platform": "android", "os_version": "14", "rooted": True}
    )
    with pytest.raises(ApiError) as e:
        rooted.activate(member.login, MOBILE_PASSWORD)
    assert (e.value.status, e.value.code) == (403, "device_rooted")
    assert channel_of(member).failed_password_attempts == 0  # right password: not a failure


def test_r_m8_pwa_version_from_user_agent():
    member = member_with_channel()
    pwa = DeviceClient.in_process(device={"platform": "", "name": "Browser"})
    pwa.http.headers["User-Agent"] = (
        "Mozilla/5.0 (Linux; Android 4.4.2; Nexus 5) AppleWebKit/537.36 Chrome/30 Mobile"
    )
    with pytest.raises(ApiError) as e:
        pwa.activate(member.login, MOBILE_PASSWORD)
    assert e.value.code == "device_not_supported"
    pwa.http.headers["User-Agent"] = "Mozilla/5.0 (Linux; Android 14; Pixel 7) Chrome/120 Mobile"
    assert pwa.activate(member.login, MOBILE_PASSWORD)["otp_required"]


def test_r_m6_forgotten_pin_activating_again_replaces_the_device(device):
    member = ready_device(device)
    old_device_id, old_token = device.device_id, device.token
    device.reset()  # Reset application: the key, secret and PIN are gone
    activate_device(device, member)
    assert device.device_id != old_device_id
    assert MobileDevice.objects.get(device_id=old_device_id).state == "removed"
    assert MobileSession.objects.get(member=member).revoke_reason == "device_replaced"
    device.set_pin("73914")
    device.logout()
    assert device.login_pin("73914")["token"]
    stale = DeviceClient.in_process()
    stale.token = old_token
    with pytest.raises(ApiError) as e:
        stale.me()
    assert e.value.code == "not_authenticated"


def test_r_m7_forgotten_password_deactivate_then_activate_again(device):
    member = ready_device(device)
    deactivate_mobile_channel(member, WEB)
    assert channel_of(member).state == MobileChannel.State.DISABLED
    with pytest.raises(ApiError) as e:
        device.me()
    assert e.value.code == "not_authenticated"
    with pytest.raises(ApiError) as e:
        device.login_pin(PIN)
    assert e.value.code == "unknown_device"
    from tests.api.steps import enable_mobile_channel

    enable_mobile_channel(member, "N3w!mobilepw")
    device.reset()
    activate_device(device, member, "N3w!mobilepw")
    device.set_pin(PIN)
    assert channel_of(member).state == MobileChannel.State.ACTIVE


def test_activation_with_a_bad_key_or_signature_is_a_clear_4xx(device):
    member = member_with_channel()
    challenge = device.challenge()
    r = device.request(
        "POST",
        "/activation",
        {
            "login": member.login,
            "password": MOBILE_PASSWORD,
            "public_key": "bm90IGEga2V5",
            "challenge": challenge,
            "signature": "AAAA",
        },
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid_input"
    r = device.request("POST", "/activation", {"login": member.login})
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    for language, message in (("pl", "Nie udało się odczytać"), ("en", "could not be read")):
        r = device.request(
            "POST",
            "/activation",
            content=b"{not json",
            headers={"Content-Type": "application/json", "Accept-Language": language},
        )
        assert 400 <= r.status_code < 500 and r.json()["code"] == "invalid_input"
        assert message in r.json()["message"]  # R-X5: not the framework's English text


@pytest.mark.parametrize("how", ["deactivated", "reactivated", "unblocked"])
def test_r_m7_r_x6_an_activation_begun_with_the_old_password_binds_nothing_after_a_new_one(
    how,
):
    """Someone with the member's mobile-app password began an activation on their phone and
    waits for its SMS code; the member deactivates the app in the web, and may define a new
    password at once (R-M7). The code of that activation must bind nothing: it passed a
    password that is gone."""
    from skarbiec.channels.lifecycle import block_mobile_channel
    from tests.api.steps import enable_mobile_channel, reactivate_mobile_app

    member = member_with_channel()
    stranger = DeviceClient.in_process(language="en")
    try:
        assert stranger.activate(member.login, MOBILE_PASSWORD)["otp_required"] is True
        code = last_code(member)
        if how == "unblocked":
            # Blocked meanwhile (say, three wrong PINs), then unblocked in the web (R-W5).
            block_mobile_channel(member, "lost_phone", WEB)
            reactivate_mobile_app(member, "Inne!Haslo2024")
        else:
            deactivate_mobile_channel(member, WEB)
        if how == "reactivated":
            enable_mobile_channel(member, "Inne!Haslo2024")
        begun = Confirmation.objects.filter(member=member, kind="mobile_device_activation")
        assert begun.latest("pk").state == Confirmation.State.VOIDED
        with pytest.raises(ApiError) as refused:
            stranger.confirm_activation(code)
        assert refused.value.status in (400, 403)
    finally:
        stranger.close()
    assert not MobileDevice.objects.filter(member=member, state="active").exists()
    assert channel_of(member).state == (
        MobileChannel.State.DISABLED if how == "deactivated" else MobileChannel.State.PENDING
    )
    assert channel_of(member).failed_auth_attempts == 0  # nothing counted


def test_r_m7_r_x6_a_code_checked_as_a_new_password_is_defined_binds_nothing(monkeypatch):
    """The activation's code was checked just before the member's new password committed:
    under the channel's lock the binding sees the channel changed since the activation began."""
    from skarbiec.channels.mobile import activation
    from tests.api.steps import enable_mobile_channel

    member = member_with_channel()
    stranger = DeviceClient.in_process(language="en")
    confirm_code = activation.confirm_code

    def new_password_right_after_the_check(*args, **kwargs):
        confirmed = confirm_code(*args, **kwargs)
        deactivate_mobile_channel(member, WEB)
        enable_mobile_channel(member, "Inne!Haslo2024")
        return confirmed

    try:
        stranger.activate(member.login, MOBILE_PASSWORD)
        monkeypatch.setattr(activation, "confirm_code", new_password_right_after_the_check)
        with pytest.raises(ApiError) as refused:
            stranger.confirm_activation(last_code(member))
        assert refused.value.code == "activation_invalid"
    finally:
        stranger.close()
    assert not MobileDevice.objects.filter(member=member, state="active").exists()
    assert channel_of(member).state == MobileChannel.State.PENDING


def test_r_t3_an_unknown_login_answers_in_the_app_as_in_the_web(device):
    """A member's Login answers as its own credit union in both channels; an unknown one tried
    in the web before a credit union was added must answer in the app as the same one."""
    from skarbiec.channels.errors import WrongCredentials
    from skarbiec.channels.web.login import begin_web_login
    from skarbiec.core.context import RequestContext
    from skarbiec.members.queries import credit_union_answering_for

    web = RequestContext(ip_address="198.51.100.20", channel="web")
    make_credit_union()  # the §8 limits: three
    logins = [f"99{n:08d}" for n in range(40)]
    for login in logins:  # tried once in the web while there is one credit union
        with pytest.raises(WrongCredentials):
            begin_web_login(login, "Wrong#pass12", web)
    lenient = make_credit_union(max_web_password_failures=5, max_auth_failures=5)
    moved = next(login for login in logins if credit_union_answering_for(login) == lenient)
    with pytest.raises(ApiError) as refused:
        device.activate(moved, "Wrong#pass12")
    # The first credit union's three attempts, less this one; a Login of the new one has four.
    assert (refused.value.code, refused.value.body["attempts_left"]) == ("wrong_credentials", 2)
